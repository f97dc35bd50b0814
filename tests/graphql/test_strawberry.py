"""The strawberry schema: its printed SDL is the reference's, its query resolvers answer, the
input values it coerces are the plain values the run request is built from, and
``generateCopilotResponse`` is answered by the planned encoder, not by a resolver. GraphiQL is
served to browsers while introspection is on."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    OperationDefinitionNode,
    build_schema,
    coerce_input_value,
    experimental_execute_incrementally,
    parse,
    print_schema,
    validate,
)
from graphql.execution.values import get_variable_values
from test_schema import describe, differences, reference_schema

from copilotkit_runtime.graphql import get_schema, schema_sdl
from copilotkit_runtime.graphql.ide import GRAPHIQL_OFF
from copilotkit_runtime.graphql.schema import get_strawberry_schema
from copilotkit_runtime.testing import ServedRuntime, make_runtime, serve_runtime

FIXTURES = Path(__file__).parent / "fixtures"
GENERATE = (FIXTURES / "generate-copilot-response.graphql").read_text()
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


# -- the SDL ---------------------------------------------------------------------------------


def test_the_printed_sdl_equals_the_reference_both_ways() -> None:
    printed = build_schema(schema_sdl())
    assert differences(describe(printed), describe(reference_schema())) == []
    # and the reference, printed and read back, is what we print
    reread = build_schema(print_schema(reference_schema()))
    assert differences(describe(reread), describe(printed)) == []


def test_the_served_schema_is_the_strawberry_schemas_graphql_core_schema() -> None:
    assert get_schema() is get_strawberry_schema()._schema
    assert schema_sdl() == str(get_strawberry_schema())


def test_strawberry_itself_runs_the_query_resolvers() -> None:
    result = get_strawberry_schema().execute_sync("{ hello }")
    assert result.errors is None and result.data == {"hello": "Hello World"}


def test_descriptions_and_deprecations_are_printed() -> None:
    sdl = schema_sdl()
    assert '"""The role of the message"""\nenum MessageRole' in sdl
    assert (
        'scope: String @deprecated(reason: "This field will be removed in a future version")' in sdl
    )
    assert "toDeprecate_fullContext: String" in sdl
    assert "openaiAssistantAPI: OpenAIApiAssistantAPIResponse" in sdl
    assert 'scalar JSONObject @specifiedBy(url: "http://www.ecma-international.org/' in sdl


# -- inputs ----------------------------------------------------------------------------------


def test_inputs_coerce_to_dicts_of_plain_values_with_the_defaults() -> None:
    input_type = get_schema().type_map["GenerateCopilotResponseInput"]
    value = coerce_input_value(
        {
            "metadata": {"requestType": "Chat"},
            "messages": [
                {
                    "id": "m1",
                    "createdAt": "2026-11-22T02:09:29.494Z",
                    "textMessage": {"content": "hi", "role": "user"},
                }
            ],
            "frontend": {
                "actions": [
                    {"name": "a", "description": "", "jsonSchema": "{}", "available": "disabled"}
                ]
            },
            "cloud": {"guardrails": {"inputValidationRules": {}}},
        },
        input_type,
    )
    text = value["messages"][0]["textMessage"]
    assert text["role"] == "user" and json.dumps(text["role"]) == '"user"'
    assert f"{value['metadata']['requestType']}" == "Chat"
    assert value["frontend"]["actions"][0]["available"] == "disabled"
    assert value["cloud"]["guardrails"]["inputValidationRules"] == {"allowList": [], "denyList": []}


def test_a_bad_scalar_input_is_a_clear_error() -> None:
    result = experimental_execute_incrementally(
        get_schema(), parse('{ loadAgentState(data: {threadId: 1, agentName: "x"}) { threadId } }')
    )
    assert result.errors and "String cannot represent" in result.errors[0].message


def _literal_errors(data: str, properties: str = "{}") -> list[str]:
    document = parse(
        f"mutation {{ generateCopilotResponse(properties: {properties}, data: {data})"
        " { threadId } }"
    )
    return [e.message for e in validate(get_schema(), document)]


MESSAGE = '{{id: "m1", createdAt: {created}, textMessage: {{content: "hi", role: user}}}}'
DATA = "{{metadata: {{}}, frontend: {{actions: []}}, messages: [{message}]}}"


def test_scalar_literals_are_checked() -> None:
    good = DATA.format(message=MESSAGE.format(created='"2026-11-22T02:09:29.494Z"'))
    assert _literal_errors(good, '{tenant: "acme", n: [1, 2.5, true, null]}') == []
    bad_date = DATA.format(message=MESSAGE.format(created='"yesterday"'))
    assert any("DateTimeISO cannot represent 'yesterday'" in m for m in _literal_errors(bad_date))
    assert any(
        "JSONObject must be a JSON object, got list" in m for m in _literal_errors(good, "[1]")
    )


def _variable_errors(variables: dict[str, Any]) -> list[str]:
    document = parse("mutation m($p: JSONObject, $d: DateTimeISO!) { __typename }")
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    coerced = get_variable_values(get_schema(), operation.variable_definitions, variables)
    return [e.message for e in coerced] if isinstance(coerced, list) else []


def test_scalar_variables_are_checked() -> None:
    assert _variable_errors({"p": {"a": [1]}, "d": "2026-11-22T02:09:29.494Z"}) == []
    assert any(
        "JSONObject must be a JSON object, got str" in m
        for m in _variable_errors({"p": "x", "d": "2026-11-22T02:09:29.494Z"})
    )
    assert any(
        "DateTimeISO must be an ISO 8601 date-time string" in m for m in _variable_errors({"d": 5})
    )


# -- over HTTP -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRuntime]:
    runtime = make_runtime(
        {
            "agents": {
                "demo": {"provider": "demo", "chunk_delay": 0, "description": "the demo agent"}
            }
        },
        tmp_path=tmp_path_factory.mktemp("strawberry"), load_entry_points=True,
    )
    with serve_runtime(runtime) as server:
        yield server


def test_the_query_resolvers_answer_over_http(served: ServedRuntime) -> None:
    thread = str(uuid.uuid4())
    body = httpx.post(
        served.url,
        json={
            "query": """
        query q($data: LoadAgentStateInput!) {
          hello
          availableAgents { agents { id name description __typename } }
          loadAgentState(data: $data) { threadId threadExists state messages }
        }""",
            "variables": {"data": {"threadId": thread, "agentName": "demo"}},
        },
    ).json()
    assert "errors" not in body, body
    assert body["data"]["hello"] == "Hello World"
    assert {
        "id": "demo",
        "name": "demo",
        "description": "the demo agent",
        "__typename": "Agent",
    } in body["data"]["availableAgents"]["agents"]
    assert body["data"]["loadAgentState"] == {
        "threadId": thread,
        "threadExists": False,
        "state": "{}",
        "messages": "[]",
    }
    unknown = httpx.post(
        served.url,
        json={
            "query": "query q($data: LoadAgentStateInput!) { "
            "loadAgentState(data: $data) { threadId } }",
            "variables": {"data": {"threadId": thread, "agentName": "nobody"}},
        },
    ).json()
    assert unknown["errors"][0]["extensions"]["code"] == "AGENT_NOT_FOUND"


def test_generate_copilot_response_is_encoded_not_resolved(served: ServedRuntime) -> None:
    # Executing the field is an error (its resolver refuses) ...
    executed = get_strawberry_schema().execute_sync(
        "mutation { generateCopilotResponse(data: {metadata: {}, messages: [], "
        "frontend: {actions: []}}) { threadId } }"
    )
    assert executed.errors and "streaming encoder" in executed.errors[0].message
    # ... yet over HTTP the run's answer arrives: the planned projection answered it.
    data = {
        "frontend": {"actions": []},
        "threadId": str(uuid.uuid4()),
        "metadata": {},
        "messages": [
            {
                "id": "m1",
                "createdAt": "2026-11-22T02:09:29.494Z",
                "textMessage": {"content": "hello", "role": "user"},
            }
        ],
    }
    response = httpx.post(
        served.url,
        json={"query": GENERATE, "variables": {"data": data}},
        headers={"accept": "application/json"},
        timeout=30,
    )
    body = response.json()
    assert "errors" not in body, body
    answer = body["data"]["generateCopilotResponse"]
    assert answer["threadId"] == data["threadId"]
    assert answer["status"]["code"] == "Success"
    texts = [m for m in answer["messages"] if m["__typename"] == "TextMessageOutput"]
    assert texts and "".join(texts[-1]["content"])


# -- GraphiQL --------------------------------------------------------------------------------


def test_a_browser_gets_graphiql(served: ServedRuntime) -> None:
    response = httpx.get(served.url, headers={"accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower() and "GraphiQL.createFetcher" in response.text


def test_a_client_still_gets_the_json_description(served: ServedRuntime) -> None:
    response = httpx.get(served.url, headers={"accept": "application/json"})
    assert response.json()["name"] == "copilotkit-runtime"
    assert httpx.get(served.url).json()["protocols"] == ["agui", "graphql"]


def test_a_browser_query_by_get_is_still_answered(served: ServedRuntime) -> None:
    response = httpx.get(
        served.url, params={"query": "{ hello }"}, headers={"accept": BROWSER_ACCEPT}
    )
    assert response.json() == {"data": {"hello": "Hello World"}}


@pytest.mark.parametrize("server", [{"introspection": False}, {"host": "0.0.0.0"}])
def test_graphiql_is_refused_when_introspection_is_off(server: dict[str, Any]) -> None:
    with serve_runtime(make_runtime({"server": server}, load_entry_points=True)) as served:
        response = httpx.get(served.url, headers={"accept": BROWSER_ACCEPT})
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text == GRAPHIQL_OFF
        assert httpx.get(served.url, headers={"accept": "application/json"}).status_code == 200
