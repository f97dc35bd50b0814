"""Projection plans: the client's selection set, resolved once per document.

A :class:`SelectionPlan` says, for one concrete object type, which response keys to produce in
which order (aliases, ``__typename``, fragments and ``@skip``/``@include`` already applied, fields
merged the way GraphQL's CollectFields merges them), which lists are ``@stream``-ed (and their
``initialCount``) and which fragments are ``@defer``-red (each with its own plan). Deferred
fragments are collected like graphql-js 17.0.0-alpha.2 does, the incremental format urql merges:
a deferred payload carries exactly the fields of its fragment.

:func:`project` then builds a response object from an already computed value (a dict keyed by
GraphQL field name with ``__typename``). No resolvers run: this is what makes streaming cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
)
from graphql.execution.values import VariableValues, get_directive_values

K_TYPENAME = 0
K_LEAF = 1
K_OBJECT = 2
K_LIST = 3  # a list of leaves (sub is None) or of objects


@dataclass(slots=True)
class FieldPlan:
    key: str
    name: str
    kind: int
    #: for object fields and lists of objects: the plan per concrete type name.
    sub: dict[str, SelectionPlan] | None = None
    #: ``(initial_count, label)`` when the field is ``@stream``-ed.
    stream: tuple[int, str | None] | None = None
    #: the (first) field node, for reading arguments.
    node: FieldNode | None = None


@dataclass(slots=True)
class DeferPlan:
    label: str | None
    plan: SelectionPlan


@dataclass(slots=True)
class SelectionPlan:
    type_name: str
    fields: list[FieldPlan] = field(default_factory=list)
    deferred: list[DeferPlan] = field(default_factory=list)
    #: filled in by users of the plan (e.g. the encoder's readiness analysis).
    cache: dict[str, Any] = field(default_factory=dict)

    def field_named(self, name: str) -> list[FieldPlan]:
        return [f for f in self.fields if f.name == name]


class Planner:
    """Builds plans for one operation and one set of variable values."""

    def __init__(self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode],
                 variables: VariableValues | None = None) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self._skip = schema.get_directive("skip")
        self._include = schema.get_directive("include")
        self._defer = schema.get_directive("defer")
        self._stream = schema.get_directive("stream")

    def plan(self, type_: GraphQLObjectType, selection_sets: Sequence[SelectionSetNode]) -> SelectionPlan:
        fields: dict[str, list[FieldNode]] = {}
        deferred: list[tuple[str | None, SelectionSetNode]] = []
        visited: set[str] = set()
        for selection_set in selection_sets:
            self._collect(type_, selection_set, fields, deferred, visited)
        plan = SelectionPlan(type_.name)
        for key, nodes in fields.items():
            plan.fields.append(self._field(type_, key, nodes))
        for label, selection_set in deferred:
            plan.deferred.append(DeferPlan(label, self.plan(type_, [selection_set])))
        return plan

    # -- collecting ----------------------------------------------------------------------------

    def _included(self, node: Any) -> bool:
        if not node.directives:
            return True
        skip = get_directive_values(self._skip, node, self.variables) if self._skip else None
        if skip is not None and skip.get("if") is True:
            return False
        include = get_directive_values(self._include, node, self.variables) if self._include else None
        return not (include is not None and include.get("if") is False)

    def _deferred(self, node: Any) -> tuple[bool, str | None]:
        if not node.directives or self._defer is None:
            return False, None
        values = get_directive_values(self._defer, node, self.variables)
        if values is None or values.get("if") is False:
            return False, None
        return True, values.get("label")

    def _applies(self, type_condition: Any, type_: GraphQLObjectType) -> bool:
        if type_condition is None:
            return True
        condition = self.schema.get_type(type_condition.name.value)
        if condition is type_:
            return True
        return condition is not None and is_abstract_type(condition) and \
            self.schema.is_sub_type(condition, type_)

    def _collect(self, type_: GraphQLObjectType, selection_set: SelectionSetNode,
                 fields: dict[str, list[FieldNode]],
                 deferred: list[tuple[str | None, SelectionSetNode]], visited: set[str]) -> None:
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                fields.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if not self._applies(selection.type_condition, type_):
                    continue
                is_deferred, label = self._deferred(selection)
                if is_deferred:
                    deferred.append((label, selection.selection_set))
                else:
                    self._collect(type_, selection.selection_set, fields, deferred, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or not self._applies(fragment.type_condition, type_):
                    continue
                is_deferred, label = self._deferred(selection)
                if is_deferred:
                    deferred.append((label, fragment.selection_set))
                    continue
                if name in visited:
                    continue
                visited.add(name)
                self._collect(type_, fragment.selection_set, fields, deferred, visited)

    # -- fields --------------------------------------------------------------------------------

    def _field(self, type_: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> FieldPlan:
        name = nodes[0].name.value
        if name == "__typename":
            return FieldPlan(key, name, K_TYPENAME, node=nodes[0])
        definition = type_.fields[name]
        field_type = definition.type
        if isinstance(field_type, GraphQLNonNull):
            field_type = field_type.of_type
        is_list = isinstance(field_type, GraphQLList)
        named = get_named_type(field_type)
        stream = self._stream_of(nodes) if is_list else None
        if is_leaf_type(named):
            return FieldPlan(key, name, K_LIST if is_list else K_LEAF, stream=stream, node=nodes[0])
        sub = self._sub_plans(named, [n.selection_set for n in nodes if n.selection_set])
        return FieldPlan(key, name, K_LIST if is_list else K_OBJECT, sub=sub, stream=stream,
                         node=nodes[0])

    def _stream_of(self, nodes: list[FieldNode]) -> tuple[int, str | None] | None:
        if self._stream is None:
            return None
        for node in nodes:
            if not node.directives:
                continue
            values = get_directive_values(self._stream, node, self.variables)
            if values is not None and values.get("if") is not False:
                return max(0, int(values.get("initialCount") or 0)), values.get("label")
        return None

    def _sub_plans(self, named: GraphQLNamedType,
                   selection_sets: list[SelectionSetNode]) -> dict[str, SelectionPlan]:
        if isinstance(named, GraphQLObjectType):
            concrete: Sequence[GraphQLObjectType] = [named]
        else:
            concrete = self.schema.get_possible_types(named)  # type: ignore[arg-type]
        return {t.name: self.plan(t, selection_sets) for t in concrete}


# -- projecting ----------------------------------------------------------------------------------

#: a deferred payload to send: (path, label, plan, value)
Deferred = tuple[list[Any], "str | None", SelectionPlan, Mapping[str, Any]]


def project(plan: SelectionPlan, value: Mapping[str, Any], *, full: bool = True,
            path: list[Any] | None = None, deferred: list[Deferred] | None = None) -> dict[str, Any]:
    """The response object for ``value`` under ``plan`` (``plan.deferred`` is the caller's).

    ``full=False`` cuts this object's own ``@stream`` lists to their ``initialCount`` (the caller
    streams the rest); nested objects are always complete. Deferred fragments of nested objects
    are appended to ``deferred`` with their path, or merged in place when ``deferred`` is None.
    """
    out: dict[str, Any] = {}
    for f in plan.fields:
        kind = f.kind
        if kind == K_TYPENAME:
            out[f.key] = value["__typename"]
        elif kind == K_LEAF:
            out[f.key] = value.get(f.name)
        elif kind == K_LIST:
            items = value.get(f.name)
            if items is None:
                out[f.key] = None
                continue
            if not full and f.stream is not None:
                items = items[:f.stream[0]]
            if f.sub is None:
                out[f.key] = list(items)
            else:
                out[f.key] = [_nested(f.sub, item, path, (f.key, i), deferred)
                              for i, item in enumerate(items)]
        else:  # K_OBJECT
            item = value.get(f.name)
            out[f.key] = None if item is None else _nested(f.sub, item, path, (f.key,), deferred)  # type: ignore[arg-type]
    return out


def _nested(sub: dict[str, SelectionPlan], value: Mapping[str, Any], path: list[Any] | None,
            steps: tuple[Any, ...], deferred: list[Deferred] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    plan = sub[value["__typename"]]
    here = None if path is None else [*path, *steps]
    out = project(plan, value, path=here, deferred=deferred)
    for d in plan.deferred:
        if deferred is None:
            merge(out, project_complete(d.plan, value))
        else:
            deferred.append((here or [], d.label, d.plan, value))
    return out


def project_complete(plan: SelectionPlan, value: Mapping[str, Any]) -> dict[str, Any]:
    """``value`` with every stream inlined and every deferred fragment merged in."""
    out = project(plan, value)
    for d in plan.deferred:
        merge(out, project_complete(d.plan, value))
    return out


def merge(target: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Deep-merge ``extra`` into ``target`` (what a client does with a deferred payload)."""
    for key, value in extra.items():
        current = target.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            merge(current, value)
        elif isinstance(current, list) and isinstance(value, list) and len(current) == len(value):
            for i, (a, b) in enumerate(zip(current, value, strict=True)):
                if isinstance(a, dict) and isinstance(b, Mapping):
                    merge(a, b)
                else:
                    current[i] = b
        else:
            target[key] = value
