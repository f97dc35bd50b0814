"""The schema we serve is equivalent to the reference @copilotkit/runtime 1.10.6 schema.

Both schemas are reduced to a structural description (types, kinds, fields, arguments, types
with nullability, default values, interfaces, union members, enum values, deprecations, scalar
``specifiedBy`` URLs, directive definitions and the root types) and compared in both
directions. Descriptions are documentation and are not compared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    build_client_schema,
    build_schema,
    get_introspection_query,
    print_ast,
)
from graphql.utilities.get_default_value_ast import get_default_value_ast

from copilotkit_runtime.graphql import get_schema, schema_sdl
from copilotkit_runtime.testing import make_runtime, serve_runtime

FIXTURES = Path(__file__).parent / "fixtures"


def _default(value: Any) -> str | None:
    # The printed default: the same for an SDL-built schema (``default``) and a code-first one
    # (``default_value``).
    literal = get_default_value_ast(value)
    return None if literal is None else print_ast(literal)


def _args(args: dict[str, Any]) -> dict[str, Any]:
    return {name: {"type": str(a.type), "default": _default(a),
                   "deprecated": a.deprecation_reason} for name, a in args.items()}


def describe(schema: GraphQLSchema) -> dict[str, Any]:
    types: dict[str, Any] = {}
    for name, t in schema.type_map.items():
        if name.startswith("__"):
            continue
        if isinstance(t, GraphQLScalarType):
            types[name] = {"kind": "SCALAR", "specifiedBy": t.specified_by_url}
        elif isinstance(t, GraphQLObjectType | GraphQLInterfaceType):
            types[name] = {
                "kind": "OBJECT" if isinstance(t, GraphQLObjectType) else "INTERFACE",
                "interfaces": sorted(i.name for i in t.interfaces),
                "fields": {f: {"type": str(d.type), "args": _args(d.args),
                               "deprecated": d.deprecation_reason} for f, d in t.fields.items()},
            }
        elif isinstance(t, GraphQLUnionType):
            types[name] = {"kind": "UNION", "types": sorted(m.name for m in t.types)}
        elif isinstance(t, GraphQLEnumType):
            types[name] = {"kind": "ENUM", "values": {v: d.deprecation_reason for v, d in t.values.items()}}
        elif isinstance(t, GraphQLInputObjectType):
            types[name] = {"kind": "INPUT_OBJECT", "oneOf": t.is_one_of,
                           "fields": _args(t.fields)}
    return {
        "types": types,
        "directives": {d.name: {"locations": sorted(loc.name for loc in d.locations),
                                "repeatable": d.is_repeatable, "args": _args(d.args)}
                       for d in schema.directives},
        "roots": [getattr(schema, f"{op}_type").name if getattr(schema, f"{op}_type") else None
                  for op in ("query", "mutation", "subscription")],
    }


def differences(ours: dict[str, Any], reference: dict[str, Any], path: str = "") -> list[str]:
    """Every difference, in both directions, as readable lines."""
    out = []
    for key in sorted(set(ours) | set(reference), key=str):
        where = f"{path}.{key}" if path else str(key)
        if key not in reference:
            out.append(f"only in ours: {where}")
        elif key not in ours:
            out.append(f"missing from ours: {where}")
        elif isinstance(ours[key], dict) and isinstance(reference[key], dict):
            out.extend(differences(ours[key], reference[key], where))
        elif ours[key] != reference[key]:
            out.append(f"{where}: ours {ours[key]!r}, reference {reference[key]!r}")
    return out


def reference_schema() -> GraphQLSchema:
    return build_schema((FIXTURES / "reference-schema.graphql").read_text())


def test_the_served_schema_is_equivalent_to_the_reference() -> None:
    assert differences(describe(get_schema()), describe(reference_schema())) == []


def test_the_comparison_sees_a_difference() -> None:
    changed = build_schema(schema_sdl().replace("parentMessageId: String\n}", "parentMessageId: String!\n}", 1)
                           .replace("  UNKNOWN_ERROR\n", "  UNKNOWN_ERROR\n  EXTRA\n"))
    found = differences(describe(changed), describe(reference_schema()))
    assert "only in ours: types.FailedResponseStatusReason.values.EXTRA" in found
    assert any("parentMessageId" in line and "String!" in line for line in found)


@pytest.fixture(scope="module")
def served() -> Any:
    with serve_runtime(make_runtime(load_entry_points=True)) as server:
        yield server


def test_introspection_over_http_matches_the_reference(served: Any) -> None:
    response = httpx.post(served.url, json={"query": get_introspection_query(
        descriptions=True, specified_by_url=True, directive_is_repeatable=True,
        input_value_deprecation=True)})
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body.get("errors")
    introspected = build_client_schema(body["data"])
    assert differences(describe(introspected), describe(reference_schema())) == []
