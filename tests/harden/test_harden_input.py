"""Bad input over real HTTP gets a clear 4xx and loses nothing (issue 13, defects 1, 2, 7)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from copilotkit_runtime.testing import ServedRuntime, make_runtime, serve_runtime

from .wire import generate, gql_body, gql_data, gql_status, run_input, sse_events, types

DEEP = b"[" * 100_000 + b"]" * 100_000  # 200 KB
DEEP_TEXT = "[" * 5_000 + "]" * 5_000


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRuntime]:
    data_dir = tmp_path_factory.mktemp("harden-input")
    runtime = make_runtime({
        "agents": {"demo": {"provider": "demo", "chunk_delay": 0},
                   "demo2": {"provider": "demo", "chunk_delay": 0}},
        "default_agent": "demo",
        "store": {"type": "sqlite"}, "data_dir": str(data_dir),
    }, load_entry_points=True)
    with serve_runtime(runtime) as served:
        yield served


def in_server(served: ServedRuntime, coro: Any) -> Any:
    return asyncio.run_coroutine_threadsafe(coro, served.loop).result(10)


# -- 1. deeply nested JSON ---------------------------------------------------------------------

@pytest.mark.parametrize("path", ["", "/", "/agent/demo/run", "/agent/demo/connect",
                                  "/agent/demo/stop/t1"])
def test_a_deeply_nested_body_is_a_400_on_every_route(served: ServedRuntime, path: str) -> None:
    response = httpx.post(served.url + path, content=DEEP, timeout=10,
                          headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert "nested too deeply" in response.text


@pytest.mark.parametrize("where", ["graphql-variables", "single-route-body", "agui-state"])
def test_deep_nesting_inside_a_valid_envelope_is_a_400(served: ServedRuntime, where: str) -> None:
    deep = json.loads("[" * 500 + "]" * 500)
    if where == "graphql-variables":
        body: dict[str, Any] = gql_body(gql_data())
        body["variables"]["properties"] = {"x": deep}
        url = served.url
    elif where == "single-route-body":
        body = {"method": "agent/run", "params": {"agentId": "demo"},
                "body": run_input("t-deep", forwardedProps={"x": deep})}
        url = served.url
    else:
        body = run_input("t-deep", state={"x": deep})
        url = served.url + "/agent/demo/run"
    response = httpx.post(url, json=body, timeout=10)
    assert response.status_code == 400, response.text
    assert "nested too deeply (more than 100 levels)" in response.text


def test_a_graphql_get_with_deep_variables_is_a_400(served: ServedRuntime) -> None:
    response = httpx.get(served.url, params={"query": "{ __typename }", "variables": DEEP_TEXT})
    assert response.status_code == 400 and "nested too deeply" in response.text


@pytest.mark.parametrize("field", ["state", "config", "jsonSchema"])
def test_deep_json_embedded_in_graphql_strings_is_a_clear_error(served: ServedRuntime,
                                                                field: str) -> None:
    if field == "jsonSchema":
        data = gql_data(frontend={"actions": [{"name": "a", "description": "",
                                               "jsonSchema": DEEP_TEXT}]})
    else:
        entry = {"agentName": "demo", "state": "{}", "config": "{}", field: DEEP_TEXT}
        data = gql_data(agentStates=[entry])
    response = generate(served.url, data)
    assert response.status_code == 200, response.text  # the GraphQL client shows the message
    [error] = response.json()["errors"]
    assert "nested too deeply" in error["message"]
    assert error["extensions"]["code"] == "INVALID_REQUEST"


# -- 2. lone surrogates ------------------------------------------------------------------------

SURROGATE_BODY = ('{"threadId":"%s","runId":"%s","state":{},"tools":[],"context":[],'
                  '"forwardedProps":{},"messages":[{"id":"m1","role":"user",'
                  '"content":"hi \\ud800 there \\udfff"}]}')


def test_a_lone_surrogate_through_agui_is_replaced_and_the_thread_replays(
        served: ServedRuntime) -> None:
    thread = f"t-{uuid.uuid4()}"
    ran = httpx.post(f"{served.url}/agent/demo/run",
                     content=SURROGATE_BODY % (thread, uuid.uuid4()), timeout=10,
                     headers={"content-type": "application/json"})
    events = sse_events(ran.content)  # valid UTF-8, every frame JSON
    assert types(events)[-1] == "RUN_FINISHED"
    assert "hi \ufffd there \ufffd" in ran.content.decode()
    for _ in range(2):  # and from then on, every connect and run on the thread works
        replay = sse_events(httpx.post(f"{served.url}/agent/demo/connect",
                                       json=run_input(thread), timeout=10).content)
        assert types(replay)[0] == "RUN_STARTED" and types(replay)[-1] == "RUN_FINISHED"
        again = sse_events(httpx.post(f"{served.url}/agent/demo/run", json=run_input(thread),
                                      timeout=10).content)
        assert types(again)[-1] == "RUN_FINISHED"


def test_a_lone_surrogate_through_graphql_leaves_the_thread_usable_for_agui(
        served: ServedRuntime) -> None:
    thread = f"t-{uuid.uuid4()}"
    raw = json.dumps(gql_body(gql_data("bad \udbff text", thread=thread)))  # json escapes it
    assert "\\udbff" in raw
    response = httpx.post(served.url, content=raw, timeout=10,
                          headers={"accept": "multipart/mixed", "content-type": "application/json"})
    assert gql_status(response.text)["code"] == "Success"
    replay = httpx.post(f"{served.url}/agent/demo/connect", json=run_input(thread), timeout=10)
    events = sse_events(replay.content)
    assert types(events)[-1] == "RUN_FINISHED"
    assert "bad \ufffd text" in replay.content.decode()


def test_a_thread_stored_with_a_lone_surrogate_still_replays(served: ServedRuntime) -> None:
    """History written before input was sanitised (or by another writer) must not break
    the stream: encoding is total."""
    thread = f"t-{uuid.uuid4()}"
    store = served.runtime.store
    in_server(served, store.append_events(thread, "old-run", [
        {"type": "RUN_STARTED", "threadId": thread, "runId": "old-run"},
        {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "stored \ud800 long ago"},
        {"type": "TEXT_MESSAGE_END", "messageId": "m"},
        {"type": "RUN_FINISHED", "threadId": thread, "runId": "old-run"}]))
    replay = httpx.post(f"{served.url}/agent/demo/connect", json=run_input(thread), timeout=10)
    assert types(sse_events(replay.content))[-1] == "RUN_FINISHED"
    assert "stored \ufffd long ago" in replay.content.decode()


# -- 7. what the server tells clients ----------------------------------------------------------

def test_health_names_the_store_type_but_not_where_it_is(served: ServedRuntime) -> None:
    body = httpx.get(served.origin + "/health", headers={"origin": "http://evil.test"}).json()
    assert body["store"] == {"type": "sqlite", "ready": True}
    assert str(Path(served.runtime.store.path).parent) not in json.dumps(body)  # type: ignore[attr-defined]


def test_variable_type_errors_are_bad_user_input_and_do_not_echo_the_input(
        served: ServedRuntime) -> None:
    data = gql_data()
    data["threadId"] = 5
    data["messages"] = "sk-SECRET-" + "x" * 5_000
    response = generate(served.url, data)
    errors = response.json()["errors"]
    assert errors and {e["extensions"]["code"] for e in errors} == {"BAD_USER_INPUT"}
    assert "SECRET" not in response.text and len(response.text) < 2_000
    assert any(".threadId" in e["message"] for e in errors)


def test_a_doubled_slash_is_not_redirected(served: ServedRuntime) -> None:
    response = httpx.post(served.url + "//", json={"query": "{ __typename }"})
    assert response.status_code == 404
    assert "location" not in response.headers


def test_a_tool_whose_properties_are_a_list_does_not_break_the_demo_agent(
        served: ServedRuntime) -> None:
    schema = json.dumps({"type": "object", "properties": ["a", "b"]})
    data = gql_data("please call paint now",
                    frontend={"actions": [{"name": "paint", "description": "", "jsonSchema": schema}]})
    response = generate(served.url, data)
    assert gql_status(response.text)["code"] == "Success", response.text
    assert "paint" in response.text  # the demo agent called the action, with no arguments


# -- 8. history per agent ----------------------------------------------------------------------

def test_connect_replays_only_the_runs_of_its_own_agent(served: ServedRuntime) -> None:
    thread = f"t-{uuid.uuid4()}"
    ran = sse_events(httpx.post(f"{served.url}/agent/demo/run", json=run_input(thread, "first"),
                                timeout=10).content)
    assert types(ran)[-1] == "RUN_FINISHED"
    other = httpx.post(f"{served.url}/agent/demo2/connect", json=run_input(thread), timeout=10)
    assert other.status_code == 200 and sse_events(other.content) == []
    second = sse_events(httpx.post(f"{served.url}/agent/demo2/run",
                                   json=run_input(thread, "second"), timeout=10).content)
    mine = sse_events(httpx.post(f"{served.url}/agent/demo/connect", json=run_input(thread),
                                 timeout=10).content)
    theirs = sse_events(httpx.post(f"{served.url}/agent/demo2/connect", json=run_input(thread),
                                   timeout=10).content)
    assert {e["runId"] for e in mine if e["type"] == "RUN_FINISHED"} == {ran[-1]["runId"]}
    assert {e["runId"] for e in theirs if e["type"] == "RUN_FINISHED"} == {second[-1]["runId"]}
