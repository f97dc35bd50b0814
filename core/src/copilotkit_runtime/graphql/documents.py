"""Parsing and validating GraphQL documents, with limits, cached by query text.

The CopilotKit client sends the same few documents over and over, so each distinct text is
parsed and validated once and kept in a small LRU cache together with its projection plans.
Limits (``settings.limits``): ``max_query_bytes`` (the text, checked before parsing),
``max_query_tokens`` (parser), ``max_query_depth`` and ``max_aliases`` (validation rules below).

The cache is bounded by entries *and* by bytes (``document_cache_bytes``, counting each
document as a multiple of its text: the AST keeps the text's string literals and locations),
so a client sending many big distinct documents cannot grow the process. Documents longer
than :data:`PARSE_ON_LOOP_BYTES` are parsed and validated on a worker thread, so the event
loop (and every other request) is not held up meanwhile.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    parse,
    specified_rules,
    validate,
)

from ..config import LimitSettings

CACHE_SIZE = 256
#: a cached document costs about this many times its text (measured: AST, tokens, locations).
COST_PER_BYTE = 12
#: documents up to this size are parsed on the event loop (the CopilotKit ones are ~3 KB:
#: a hop to a thread would cost more than the parse).
PARSE_ON_LOOP_BYTES = 16_384
#: Most fields one selection set may hold once fragments are expanded, and most in a whole
#: document. Validation compares fields of a selection set pairwise (overlapping fields), so a
#: short document of many repeated fields would cost seconds of CPU; the CopilotKit documents
#: stay far below these (the widest selection set of generateCopilotResponse has ~30 fields).
MAX_SELECTION_WIDTH = 100
MAX_EXPANDED_FIELDS = 2_000
_DIRECTIVES_WITH_IF = frozenset({"skip", "include", "defer", "stream"})


@dataclass
class PreparedDocument:
    """A parsed and validated document (or the errors that make it unusable)."""

    document: DocumentNode | None
    errors: list[GraphQLError] | None = None
    operations: dict[str | None, OperationDefinitionNode] = field(default_factory=dict)
    fragments: dict[str, FragmentDefinitionNode] = field(default_factory=dict)
    #: variables that ``@skip``/``@include``/``@defer``/``@stream`` arguments read: plans depend
    #: on their values.
    directive_variables: tuple[str, ...] = ()
    #: plans built for this document, keyed by (operation name, directive variable values).
    plans: dict[Hashable, Any] = field(default_factory=dict)

    def operation(self, name: str | None) -> OperationDefinitionNode | str:
        """The operation to run, or a message saying why there is none."""
        if name:
            found = self.operations.get(name)
            return found if found is not None else f"Unknown operation named '{name}'."
        if len(self.operations) == 1:
            return next(iter(self.operations.values()))
        return "Must provide operation name if query contains multiple operations."


def _max_depth_rule(limit: int) -> type[ValidationRule]:
    class MaxDepthRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            fragments = {d.name.value: d for d in self.context.document.definitions
                         if isinstance(d, FragmentDefinitionNode)}
            depth = _depth(node.selection_set, fragments, 0, limit, ())
            if depth > limit:
                name = f"'{node.name.value}' " if node.name else ""
                self.report_error(GraphQLError(
                    f"The operation {name}is nested more than {limit} levels deep "
                    f"(limits.max_query_depth).", node, extensions={"code": "QUERY_TOO_DEEP"}))

    return MaxDepthRule


def _depth(selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode],
           level: int, limit: int, seen: tuple[str, ...]) -> int:
    if selection_set is None:
        return level
    deepest = level
    for selection in selection_set.selections:
        if deepest > limit:
            break
        if isinstance(selection, FieldNode):
            if selection.selection_set is not None:
                deepest = max(deepest, _depth(selection.selection_set, fragments, level + 1,
                                              limit, seen))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, level, limit, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                deepest = max(deepest, _depth(fragment.selection_set, fragments, level, limit,
                                              (*seen, name)))
    return deepest


def _max_aliases_rule(limit: int) -> type[ValidationRule]:
    class MaxAliasesRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.count = 0

        def enter_field(self, node: FieldNode, *_: Any) -> None:
            if node.alias is not None:
                self.count += 1
                if self.count == limit + 1:
                    self.report_error(GraphQLError(
                        f"The document uses more than {limit} aliases (limits.max_aliases).",
                        node, extensions={"code": "TOO_MANY_ALIASES"}))

    return MaxAliasesRule


def _too_wide(document: DocumentNode) -> str | None:
    """Why the document's fields (fragments expanded) are too many to validate, or None."""
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    widths: dict[str, int] = {}
    total = 0

    def width(selection_set: SelectionSetNode | None, visiting: frozenset[str]) -> int:
        """Fields this selection set expands to at its own level; counts nested ones in total."""
        nonlocal total
        if selection_set is None:
            return 0
        count = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                count += 1
                total += 1
                if selection.selection_set is not None:
                    check(width(selection.selection_set, visiting))
            elif isinstance(selection, InlineFragmentNode):
                count += width(selection.selection_set, visiting)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visiting or name not in fragments:
                    continue
                if name not in widths:
                    widths[name] = width(fragments[name].selection_set, visiting | {name})
                count += widths[name]
            if count > MAX_SELECTION_WIDTH or total > MAX_EXPANDED_FIELDS:
                raise _TooWide
        return count

    def check(count: int) -> None:
        if count > MAX_SELECTION_WIDTH:
            raise _TooWide

    try:
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                check(width(definition.selection_set, frozenset()))
    except _TooWide:
        return (f"The document selects too many fields (more than {MAX_SELECTION_WIDTH} in one "
                f"selection set or {MAX_EXPANDED_FIELDS} in all, fragments expanded).")
    except RecursionError:
        return "The document is nested too deeply."
    return None


class _TooWide(Exception):
    pass


def _directive_variables(document: DocumentNode) -> tuple[str, ...]:
    names: set[str] = set()

    def walk(node: Any) -> None:
        for directive in getattr(node, "directives", None) or ():
            if directive.name.value in _DIRECTIVES_WITH_IF:
                for argument in directive.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        names.add(argument.value.name.value)
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            for selection in selection_set.selections:
                walk(selection)

    for definition in document.definitions:
        walk(definition)
    return tuple(sorted(names))


def _cost(query: str) -> int:
    return len(query) * COST_PER_BYTE


class DocumentCache:
    """Parse + validate once per distinct query text (LRU)."""

    def __init__(self, schema: GraphQLSchema, limits: LimitSettings, size: int = CACHE_SIZE, *,
                 introspection: bool = True) -> None:
        self.schema = schema
        self.limits = limits
        self.size = size
        self.max_bytes = limits.document_cache_bytes
        self.rules = [*specified_rules, _max_depth_rule(limits.max_query_depth),
                      _max_aliases_rule(limits.max_aliases)]
        if not introspection:  # [server] introspection
            self.rules.append(NoSchemaIntrospectionCustomRule)
        self._entries: OrderedDict[str, PreparedDocument] = OrderedDict()
        self.bytes = 0  # cost of the cached entries

    def get(self, query: str) -> PreparedDocument:
        """The prepared document (on the calling thread, whatever its size)."""
        entry = self._cached(query)
        if entry is None:
            entry = self._remember(query, self._prepare(query))
        return entry

    async def aget(self, query: str) -> PreparedDocument:
        """:meth:`get` for the event loop: big documents are prepared on a worker thread."""
        entry = self._cached(query)
        if entry is not None:
            return entry
        if len(query) <= PARSE_ON_LOOP_BYTES:
            prepared = self._prepare(query)
        else:
            prepared = await asyncio.to_thread(self._prepare, query)
        return self._remember(query, prepared)

    def _cached(self, query: str) -> PreparedDocument | None:
        entry = self._entries.get(query)
        if entry is not None:
            self._entries.move_to_end(query)
        return entry

    def _remember(self, query: str, entry: PreparedDocument) -> PreparedDocument:
        cost = _cost(query)
        if query in self._entries or cost > self.max_bytes:
            return entry
        self._entries[query] = entry
        self.bytes += cost
        while len(self._entries) > self.size or self.bytes > self.max_bytes:
            old, _ = self._entries.popitem(last=False)
            self.bytes -= _cost(old)
        return entry

    def _prepare(self, query: str) -> PreparedDocument:
        size = len(query.encode("utf-8", "surrogatepass")) if not query.isascii() else len(query)
        if size > self.limits.max_query_bytes:
            return PreparedDocument(None, [GraphQLError(
                f"The document is larger than {self.limits.max_query_bytes} bytes "
                f"(limits.max_query_bytes).", extensions={"code": "QUERY_TOO_LARGE"})])
        try:
            document = parse(query, max_tokens=self.limits.max_query_tokens)
        except GraphQLError as exc:
            message = exc.message
            if "tokens" in message and "Parsing aborted" in message:
                message = (f"The document has more than {self.limits.max_query_tokens} tokens "
                           f"(limits.max_query_tokens).")
            return PreparedDocument(None, [GraphQLError(
                message, source=exc.source, positions=exc.positions,
                extensions={"code": "GRAPHQL_PARSE_FAILED"})])
        except RecursionError:
            return PreparedDocument(None, [GraphQLError(
                "The document is nested too deeply to parse.",
                extensions={"code": "GRAPHQL_PARSE_FAILED"})])
        too_wide = _too_wide(document)
        if too_wide is not None:
            return PreparedDocument(document, [GraphQLError(
                too_wide, extensions={"code": "QUERY_TOO_COMPLEX"})])
        errors = validate(self.schema, document, self.rules, max_errors=20)
        if any(e.message == "Validation aborted." for e in errors):
            errors = [GraphQLError("The document is too complex to validate.",
                                   extensions={"code": "QUERY_TOO_COMPLEX"})]
        if errors:
            for error in errors:
                if not error.extensions:
                    error.extensions = {"code": "GRAPHQL_VALIDATION_FAILED"}
            return PreparedDocument(document, errors)
        operations: dict[str | None, OperationDefinitionNode] = {}
        fragments: dict[str, FragmentDefinitionNode] = {}
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                operations[definition.name.value if definition.name else None] = definition
            elif isinstance(definition, FragmentDefinitionNode):
                fragments[definition.name.value] = definition
        return PreparedDocument(document, None, operations, fragments,
                                _directive_variables(document))

