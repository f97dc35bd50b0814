"""The GraphQL transport over real HTTP: queries, errors, limits, refusals, disconnects."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from copilotkit_runtime.events import EXIT_EVENT, CustomEvent, StateSnapshotEvent, text_message
from copilotkit_runtime.testing import (
    ScriptedProvider,
    ServedRuntime,
    make_runtime,
    scripted_plugin,
    serve_runtime,
)

FIXTURES = Path(__file__).parent / "fixtures"
GENERATE = (FIXTURES / "generate-copilot-response.graphql").read_text()
LOAD_STATE = (FIXTURES / "load-agent-state.graphql").read_text()
ACCEPT = ("application/graphql-response+json, application/graphql+json, application/json, "
          "text/event-stream, multipart/mixed")


def request_data(text: str = "hello", *, agent: str | None = None, thread: str | None = None,
                 **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "frontend": {"actions": [], "url": "http://localhost:3000"},
        "threadId": thread or str(uuid.uuid4()), "runId": None, "extensions": {}, "metaEvents": [],
        "messages": [{"id": str(uuid.uuid4()), "createdAt": "2026-11-22T02:09:29.494Z",
                      "textMessage": {"content": text, "role": "user"}}],
        "metadata": {"requestType": "Chat"}, "agentStates": [], "forwardedParameters": {},
        "context": [], **extra}
    if agent:
        data["agentSession"] = {"agentName": agent}
    return data


def generate(url: str, data: dict[str, Any], *, accept: str = ACCEPT, **kwargs: Any) -> httpx.Response:
    return httpx.post(url, json={"operationName": "generateCopilotResponse", "query": GENERATE,
                                 "variables": {"data": data, "properties": {}}},
                      headers={"accept": accept}, timeout=30, **kwargs)


def payloads(body: str) -> list[dict[str, Any]]:
    assert body.startswith("\r\n---") and body.endswith("\r\n-----\r\n"), body[-50:]
    return [json.loads(p.partition("\r\n\r\n")[2]) for p in body.split("\r\n---")[1:-1]]


def final_status(body: str) -> dict[str, Any]:
    for payload in reversed(payloads(body)):
        for entry in payload.get("incremental", ()):
            if entry.get("path") == ["generateCopilotResponse"]:
                return entry["data"]["status"]
    raise AssertionError("no response status")


def errors_of(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("errors"), body
    return body["errors"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRuntime]:
    runtime = make_runtime({
        "default_agent": "demo",
        "limits": {"max_messages": 5, "max_aliases": 3, "max_query_depth": 12,
                   "max_query_tokens": 2000, "max_body_bytes": 200_000},
        "agents": {
            "demo": {"provider": "demo", "chunk_delay": 0},
            "waiter": {"provider": "scripted", "mode": "wait"},
            "failing": {"provider": "scripted", "mode": "raise_midway", "text": "Partial answer",
                        "error": "database password is hunter2"},
            "exiting": {"provider": "scripted", "mode": "events", "events": [
                *text_message("Bye"), CustomEvent(name=EXIT_EVENT, value={}),
                StateSnapshotEvent(snapshot={"bye": True})]},
        },
    }, plugins={"scripted": scripted_plugin}, tmp_path=tmp_path_factory.mktemp("http"), load_entry_points=True)
    with serve_runtime(runtime) as server:
        yield server


# -- queries ---------------------------------------------------------------------------------


def test_a_query_is_one_json_document(served: ServedRuntime) -> None:
    response = httpx.post(served.url, json={"query": "{ hello }"}, headers={"accept": ACCEPT})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/graphql-response+json; charset=utf-8"
    assert response.headers["x-copilotkit-runtime-version"] == "1.10.6"
    assert response.json() == {"data": {"hello": "Hello World"}}
    plain = httpx.post(served.url, json={"query": "{ hello }"})
    assert plain.headers["content-type"] == "application/json; charset=utf-8"


def test_a_query_by_get(served: ServedRuntime) -> None:
    response = httpx.get(served.url, params={"query": "{ hello }"})
    assert response.json() == {"data": {"hello": "Hello World"}}
    refused = httpx.get(served.url, params={"query": "mutation { __typename }"})
    assert refused.status_code == 405


def test_load_agent_state_of_an_unknown_thread_and_an_unknown_agent(served: ServedRuntime) -> None:
    thread = str(uuid.uuid4())
    response = httpx.post(served.url, json={"query": LOAD_STATE, "variables": {
        "data": {"threadId": thread, "agentName": "demo"}}})
    assert response.json() == {"data": {"loadAgentState": {
        "threadId": thread, "threadExists": False, "state": "{}", "messages": "[]",
        "__typename": "LoadAgentStateResponse"}}}
    [error] = errors_of(httpx.post(served.url, json={"query": LOAD_STATE, "variables": {
        "data": {"threadId": thread, "agentName": "nope"}}}))
    assert error["extensions"]["code"] == "AGENT_NOT_FOUND"
    assert error["path"] == ["loadAgentState"]
    assert "Available agents: demo, exiting, failing, waiter" in error["message"]


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "status", "text"), [
    ({"query": 42}, 400, "Must provide a query string"),
    ({"query": "{ hello }", "variables": [1]}, 400, "'variables' must be a JSON object"),
    ({"query": "{ hello }", "operationName": 3}, 400, "'operationName' must be a string"),
    ({"query": "{ hello "}, 200, "Syntax Error"),
    ({"query": "{ nope }"}, 200, "Cannot query field 'nope' on type 'Query'"),
    ({"query": "query A { hello } query B { hello }"}, 200, "Must provide operation name"),
    ({"query": "query A { hello }", "operationName": "C"}, 200, "Unknown operation named 'C'"),
    ({"query": "{ a: hello b: hello c: hello d: hello }"}, 200, "more than 3 aliases"),
    ({"query": "{ " + "hello " * 2100 + "}"}, 200, "more than 2000 tokens"),
    ({"query": "{ " + "hello " * 150 + "}"}, 200, "selects too many fields"),
    ({"query": "{ __schema { types { fields { type " + "{ ofType " * 10 + "{ name }" + " }" * 10
               + " } } } }"}, 200, "nested more than 12 levels"),
])
def test_bad_requests_get_a_clear_error(served: ServedRuntime, body: dict[str, Any], status: int,
                                        text: str) -> None:
    response = httpx.post(served.url, json=body)
    assert response.status_code == status
    [error, *_] = response.json()["errors"]
    assert text in error["message"]
    assert error["extensions"]["code"]


def test_malformed_json_and_oversized_bodies_are_4xx(served: ServedRuntime) -> None:
    assert httpx.post(served.url, content=b"{oops", headers={"content-type": "application/json"}).status_code == 400
    huge = generate(served.url, request_data("x" * 300_000))
    assert huge.status_code == 413


def test_wrong_variable_types_are_graphql_errors(served: ServedRuntime) -> None:
    data = request_data()
    data["messages"][0]["createdAt"] = "yesterday"
    [error] = errors_of(generate(served.url, data))
    assert "createdAt" in error["message"] and "DateTimeISO" in error["message"]
    data = request_data(frontend={"actions": "none"})
    [error] = errors_of(generate(served.url, data))
    assert ".frontend.actions" in error["message"]
    # ... and the server keeps serving.
    assert final_status(generate(served.url, request_data()).text)["code"] == "Success"


def test_a_bad_action_schema_is_a_clear_error(served: ServedRuntime) -> None:
    data = request_data(frontend={"actions": [{"name": "a", "description": "", "jsonSchema": "{nope"}]})
    [error] = errors_of(generate(served.url, data))
    assert "jsonSchema of frontend action 'a' is not valid JSON" in error["message"]


def test_too_many_messages(served: ServedRuntime) -> None:
    data = request_data()
    data["messages"] = data["messages"] * 6
    [error] = errors_of(generate(served.url, data))
    assert error["extensions"]["code"] == "TOO_MANY_MESSAGES" and "limit of 5" in error["message"]


def test_a_mutation_selecting_more_than_the_response_is_refused(served: ServedRuntime) -> None:
    query = ("mutation($data: GenerateCopilotResponseInput!) { a: generateCopilotResponse(data: $data) "
             "{ threadId } b: generateCopilotResponse(data: $data) { threadId } }")
    [error] = errors_of(httpx.post(served.url, json={"query": query, "variables": {"data": request_data()}}))
    assert "exactly once" in error["message"]


# -- generateCopilotResponse -------------------------------------------------------------------


def test_a_client_without_multipart_gets_one_json_document(served: ServedRuntime) -> None:
    response = generate(served.url, request_data("hi there"), accept="application/json")
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    result = response.json()["data"]["generateCopilotResponse"]
    assert result["status"]["code"] == "Success"
    assert "".join(result["messages"][0]["content"]) == "You said: hi there"


def test_the_stream_is_multipart_with_the_version_header(served: ServedRuntime) -> None:
    response = generate(served.url, request_data("hi"))
    assert response.headers["content-type"] == 'multipart/mixed; boundary="-"'
    assert response.headers["x-copilotkit-runtime-version"] == "1.10.6"
    assert final_status(response.text) == {"code": "Success", "__typename": "SuccessResponseStatus"}


def test_unknown_agent_is_a_graphql_error_and_the_server_keeps_serving(served: ServedRuntime) -> None:
    [error] = errors_of(generate(served.url, request_data(agent="ghost")))
    assert error["extensions"]["code"] == "AGENT_NOT_FOUND"
    assert response_ok(generate(served.url, request_data(agent="demo")))


def response_ok(response: httpx.Response) -> bool:
    return final_status(response.text)["code"] == "Success"


def test_without_any_default_agent_the_status_says_so(tmp_path: Path) -> None:
    runtime = make_runtime({"agents": {"a": {"provider": "demo"}, "b": {"provider": "demo"}}},
                           tmp_path=tmp_path, load_entry_points=True)
    with serve_runtime(runtime) as server:
        status = final_status(generate(server.url, request_data()).text)
    assert status["reason"] == "UNKNOWN_ERROR"
    assert "No agent to run" in status["details"]["description"]


def test_a_failing_agent_ends_the_stream_properly(served: ServedRuntime) -> None:
    response = generate(served.url, request_data(agent="failing"))
    assert response.status_code == 200
    status = final_status(response.text)
    assert status["__typename"] == "FailedResponseStatus" and status["reason"] == "UNKNOWN_ERROR"
    assert "Traceback" not in response.text
    assert payloads(response.text)[-1]["hasNext"] is False


def test_exit_ends_with_running_false(served: ServedRuntime) -> None:
    body = generate(served.url, request_data(agent="exiting")).text
    items = [item for p in payloads(body) for e in p.get("incremental", ()) for item in e.get("items", ())
             if isinstance(item, dict) and item.get("__typename") == "AgentStateMessageOutput"]
    assert items[-1]["running"] is False


# -- busy threads and disconnects --------------------------------------------------------------


def server_tasks(served: ServedRuntime) -> int:
    async def count() -> int:
        return len(asyncio.all_tasks())
    return asyncio.run_coroutine_threadsafe(count(), served.loop).result(5)


def wait_until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def test_a_busy_thread_and_a_disconnect_that_cancels_the_run(served: ServedRuntime) -> None:
    waiter = served.runtime.providers["waiter"]
    assert isinstance(waiter, ScriptedProvider)
    started, cancelled = len(waiter.started), len(waiter.cancelled)
    baseline = server_tasks(served)
    thread = str(uuid.uuid4())
    body = {"operationName": "generateCopilotResponse", "query": GENERATE,
            "variables": {"data": request_data(agent="waiter", thread=thread), "properties": {}}}
    with httpx.Client(timeout=30) as client, client.stream(
            "POST", served.url, json=body, headers={"accept": ACCEPT}) as response:
        chunks = response.iter_raw()  # keep a reference: a dropped iterator closes the response
        first = next(chunks)
        assert b'"generateCopilotResponse"' in first
        waiter.wait_for("started", started + 1)

        # A second run on the same thread is refused with a clear status.
        busy = final_status(generate(served.url, request_data(agent="waiter", thread=thread)).text)
        assert busy["reason"] == "UNKNOWN_ERROR"
        assert "already has a run in progress" in busy["details"]["description"]
    # Leaving the block closed the connection mid-stream.
    waiter.wait_for("cancelled", cancelled + 1)
    runtime = served.runtime
    wait_until(lambda: not runtime.engine.active_runs)
    wait_until(lambda: server_tasks(served) <= baseline)
    # The thread is free again.
    started, cancelled = len(waiter.started), len(waiter.cancelled)
    with httpx.Client(timeout=30) as client, client.stream(
            "POST", served.url, json=body, headers={"accept": ACCEPT}) as response:
        chunks = response.iter_raw()
        next(chunks)
        waiter.wait_for("started", started + 1)
    waiter.wait_for("cancelled", cancelled + 1)
