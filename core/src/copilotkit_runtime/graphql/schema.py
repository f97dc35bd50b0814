"""The GraphQL schema (``schema.graphql``) built with graphql-core, plus the query resolvers.

Ordinary queries (``hello``, ``availableAgents``, ``loadAgentState``) run through graphql-core's
executor with the resolvers below. ``generateCopilotResponse`` is never executed field by field:
:mod:`.stream` projects the run's output onto the client's selection set instead (see
:mod:`.plan`), which is what keeps the per-chunk cost low.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from graphql import GraphQLError, GraphQLScalarType, GraphQLSchema, ValueNode, build_schema
from graphql.language import (
    BooleanValueNode,
    FloatValueNode,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    StringValueNode,
    VariableNode,
)

from ..errors import AgentNotFoundError
from ..threads import owner_of
from .convert import snapshot_messages_to_json
from .errors import agent_not_found_error


def schema_sdl() -> str:
    """The SDL this server serves."""
    return resources.files(__package__).joinpath("schema.graphql").read_text(encoding="utf-8")


@cache
def get_schema() -> GraphQLSchema:
    """The schema, built once per process (it holds no per-runtime state)."""
    schema = build_schema(schema_sdl())
    _bind_scalars(schema)
    _bind_resolvers(schema)
    return schema


# -- scalars ---------------------------------------------------------------------------------


def _parse_datetime(value: Any) -> str:
    if not isinstance(value, str):
        raise GraphQLError("DateTimeISO must be an ISO 8601 date-time string.")
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise GraphQLError(f"DateTimeISO cannot represent '{value[:60]}': not an ISO 8601 date-time.") from None
    return value


def _serialize_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def _literal_to_python(node: ValueNode, variables: dict[str, Any] | None = None) -> Any:
    if isinstance(node, StringValueNode):
        return node.value
    if isinstance(node, BooleanValueNode):
        return node.value
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, FloatValueNode):
        return float(node.value)
    if isinstance(node, NullValueNode):
        return None
    if isinstance(node, ListValueNode):
        return [_literal_to_python(v, variables) for v in node.values]
    if isinstance(node, ObjectValueNode):
        return {f.name.value: _literal_to_python(f.value, variables) for f in node.fields}
    if isinstance(node, VariableNode):
        return (variables or {}).get(node.name.value)
    raise GraphQLError("Unsupported JSON literal.")


def _parse_json_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise GraphQLError(f"JSONObject must be a JSON object, got {type(value).__name__}.")
    return value


def _bind_scalar(schema: GraphQLSchema, name: str, output: Any, input_value: Any,
                 input_literal: Any) -> None:
    scalar = schema.type_map[name]
    assert isinstance(scalar, GraphQLScalarType)
    # graphql-core 3.3 reads the coerce_* functions; the legacy names are kept in step.
    scalar.serialize = scalar.coerce_output_value = output  # type: ignore[method-assign]
    scalar.parse_value = scalar.coerce_input_value = input_value  # type: ignore[method-assign]
    scalar.coerce_input_literal = input_literal
    scalar.parse_literal = lambda node, variables=None: input_literal(node)  # type: ignore[method-assign]


def _bind_scalars(schema: GraphQLSchema) -> None:
    _bind_scalar(schema, "DateTimeISO", _serialize_datetime, _parse_datetime,
                 lambda node: _parse_datetime(_literal_to_python(node)))
    _bind_scalar(schema, "JSON", lambda value: value, lambda value: value, _literal_to_python)
    _bind_scalar(schema, "JSONObject", _parse_json_object, _parse_json_object,
                 lambda node: _parse_json_object(_literal_to_python(node)))


# -- query resolvers -------------------------------------------------------------------------


def _hello(_root: Any, _info: Any) -> str:
    return "Hello World"


def _available_agents(_root: Any, info: Any) -> dict[str, Any]:
    runtime = info.context["runtime"]
    return {"agents": [{"id": a.name, "name": a.name, "description": a.description or ""}
                       for a in runtime.engine.agent_infos()]}


async def _load_agent_state(_root: Any, info: Any, data: dict[str, Any]) -> dict[str, Any]:
    runtime = info.context["runtime"]
    try:
        # Another user's thread reads as one that does not exist (its id is not confirmed).
        request_context = info.context.get("request")
        owner = owner_of(getattr(request_context, "principal", None))
        snapshot = await runtime.engine.load_thread(data["agentName"], data["threadId"], owner)
    except AgentNotFoundError as exc:
        raise agent_not_found_error(exc) from None
    if not snapshot.exists:
        return {"threadId": data["threadId"], "threadExists": False, "state": "{}", "messages": "[]"}
    state = {k: v for k, v in (snapshot.state or {}).items() if k != "messages"}
    return {
        "threadId": data["threadId"],
        "threadExists": True,
        "state": json.dumps(state, separators=(",", ":")),
        "messages": json.dumps(snapshot_messages_to_json(snapshot.messages), separators=(",", ":")),
    }


def _bind_resolvers(schema: GraphQLSchema) -> None:
    query = schema.query_type
    assert query is not None
    query.fields["hello"].resolve = _hello
    query.fields["availableAgents"].resolve = _available_agents
    query.fields["loadAgentState"].resolve = _load_agent_state
