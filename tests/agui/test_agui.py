"""AG-UI "v2" (REST + SSE) protocol: the real @copilotkit/core 1.75 client and raw HTTP."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest

from copilotkit_runtime.testing import (
    ScriptedProvider,
    make_runtime,
    scripted_plugin,
    serve_runtime,
)

from .conftest import run_v2_client


@pytest.fixture(scope="module")
def served() -> Any:
    runtime = make_runtime({
        "agents": {"demo": {"provider": "demo", "chunk_delay": 0},
                   "slow": {"provider": "scripted", "mode": "wait", "final_state": {"finished": True}},
                   "broken": {"provider": "scripted", "mode": "raise_midway", "text": "half",
                              "error": "model exploded"}},
        "default_agent": "demo",
        "guardrails": {"topics": {"deny_list": ["politics"]}},
    }, plugins={"scripted": scripted_plugin}, load_entry_points=True)
    with serve_runtime(runtime) as served:
        yield served


def release(served: Any, thread_id: str) -> None:
    slow = served.runtime.providers["slow"]
    assert isinstance(slow, ScriptedProvider)
    slow.release(thread_id)  # from this thread: handed to the server's loop


def sse_events(body: str) -> list[dict[str, Any]]:
    assert "\r" not in body
    frames = [f for f in body.split("\n\n") if f and not f.startswith(":")]
    return [json.loads(f.removeprefix("data: ")) for f in frames]


def run_input(thread_id: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"threadId": thread_id, "runId": str(uuid.uuid4()), "state": {}, "tools": [],
            "context": [], "forwardedProps": {},
            "messages": [{"id": str(uuid.uuid4()), "role": "user", "content": text}], **extra}


@pytest.mark.parametrize("transport, resolved", [("auto", "rest"), ("rest", "rest"), ("single", "single")])
def test_real_client_chats_calls_a_frontend_tool_and_restores_the_thread(
        served: Any, transport: str, resolved: str) -> None:
    thread = f"thread-{uuid.uuid4()}"
    result = run_v2_client({"url": served.url, "transport": transport, "agent": "demo",
                            "threadId": thread,
                            "steps": [{"op": "run", "text": "hello there"},
                                      {"op": "run", "text": "please setColor blue"},
                                      {"op": "connect"}]})
    assert result["transport"] == resolved
    assert result["errors"] == []
    assert {"demo", "default", "slow", "broken"} <= set(result["agents"])
    first, second, reloaded = result["steps"]
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"]
    assert first["messages"][1]["content"].startswith("You said: hello there")
    assert first["state"] == {"turns": 1, "last_message": "hello there"}
    # The frontend tool ran with the streamed arguments, and the follow-up run reported it.
    assert result["toolCalls"] == [{"color": "blue"}]
    roles = [m["role"] for m in second["messages"]]
    assert roles == ["user", "assistant", "user", "assistant", "tool", "assistant"]
    call = second["messages"][3]["toolCalls"][0]
    assert call["function"]["name"] == "setColor"
    assert json.loads(call["function"]["arguments"]) == {"color": "blue"}
    assert second["messages"][5]["content"] == "The action returned: color set to blue"
    # A reload (a fresh client connecting to the thread) restores exactly the same thread.
    assert reloaded["messages"] == second["messages"]
    assert reloaded["state"] == second["state"]


def test_the_default_agent_id_reaches_the_configured_default(served: Any) -> None:
    result = run_v2_client({"url": served.url, "agent": "default", "threadId": f"t-{uuid.uuid4()}",
                            "steps": [{"op": "run", "text": "hi"}]})
    assert result["steps"][0]["messages"][1]["content"].startswith("You said: hi")


def test_stop_ends_the_run_cleanly_and_reload_still_shows_every_run(served: Any) -> None:
    thread = f"thread-{uuid.uuid4()}"
    result = run_v2_client({"url": served.url, "agent": "slow", "threadId": thread,
                            "steps": [{"op": "run-and-stop", "text": "go"}, {"op": "connect"}]})
    stopped, reloaded = result["steps"]
    assert stopped["stopped"] is True and result["errors"] == []
    assert [m["role"] for m in stopped["messages"]] == ["user", "assistant"]
    assert stopped["messages"][1]["content"] == "first"
    assert reloaded["messages"] == stopped["messages"]


def test_sse_framing_and_run_started_input(served: Any) -> None:
    thread = f"thread-{uuid.uuid4()}"
    response = httpx.post(f"{served.url}/agent/demo/run", json=run_input(thread, "hi"),
                          headers={"accept": "text/event-stream"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    events = sse_events(response.text)
    assert events[0]["type"] == "RUN_STARTED" and events[0]["threadId"] == thread
    assert [m["content"] for m in events[0]["input"]["messages"]] == ["hi"]
    assert events[-1] == {"type": "RUN_FINISHED", "threadId": thread, "runId": events[0]["runId"]}
    assert all(None not in e.values() for e in events)
    # A second run's RUN_STARTED.input carries only the messages new to the thread.
    follow = run_input(thread, "again")
    follow["messages"] = [events[0]["input"]["messages"][0], *follow["messages"]]
    second = sse_events(httpx.post(f"{served.url}/agent/demo/run", json=follow).text)
    assert [m["content"] for m in second[0]["input"]["messages"]] == ["again"]


def test_errors_before_streaming_are_json_with_status(served: Any) -> None:
    unknown = httpx.post(f"{served.url}/agent/ghost/run", json=run_input("t", "hi"))
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "Agent not found", "message": "Agent 'ghost' does not exist"}
    invalid = httpx.post(f"{served.url}/agent/demo/run", json={"threadId": 3})
    assert invalid.status_code == 400 and invalid.json()["error"] == "Invalid request body"
    assert "runId" in invalid.json()["details"]
    not_json = httpx.post(f"{served.url}/agent/demo/run", content=b"{oops")
    assert not_json.status_code == 400
    wrong_verb = httpx.get(f"{served.url}/agent/demo/run")
    assert wrong_verb.status_code == 405


def test_an_agent_failure_ends_the_stream_with_run_error(served: Any) -> None:
    events = sse_events(httpx.post(f"{served.url}/agent/broken/run",
                                   json=run_input(f"t-{uuid.uuid4()}", "hi")).text)
    assert [e["type"] for e in events] == ["RUN_STARTED", "TEXT_MESSAGE_START",
                                           "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "RUN_ERROR"]
    assert events[-1]["code"] == "AGENT_ERROR"
    assert events[-1]["message"] == "Agent 'broken' failed."  # no exception text by default
    # The server goes on serving.
    ok = sse_events(httpx.post(f"{served.url}/agent/demo/run", json=run_input("t2", "hi")).text)
    assert ok[-1]["type"] == "RUN_FINISHED"


def test_a_guardrail_block_is_a_run_error(served: Any) -> None:
    events = sse_events(httpx.post(f"{served.url}/agent/demo/run",
                                   json=run_input(f"t-{uuid.uuid4()}", "politics please")).text)
    assert events == [{"type": "RUN_ERROR", "message": "The topic 'politics' is not allowed here.",
                       "code": "GUARDRAILS_VALIDATION_FAILED"}]


def test_a_busy_thread_is_409_and_the_running_stream_is_untouched(served: Any) -> None:
    thread = f"thread-{uuid.uuid4()}"
    with httpx.stream("POST", f"{served.url}/agent/slow/run", json=run_input(thread, "go")) as first:
        lines = first.iter_lines()
        assert json.loads(next(lines).removeprefix("data: "))["type"] == "RUN_STARTED"
        busy = httpx.post(f"{served.url}/agent/slow/run", json=run_input(thread, "again"))
        assert busy.status_code == 409 and "already has a run in progress" in busy.json()["message"]
        release(served, thread)
        rest = [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: ")]
    assert rest[-1]["type"] == "RUN_FINISHED"


def test_a_client_going_away_does_not_cancel_the_run_and_connect_follows_it(served: Any) -> None:
    thread = f"thread-{uuid.uuid4()}"
    with httpx.stream("POST", f"{served.url}/agent/slow/run", json=run_input(thread, "go")) as first:
        next(first.iter_lines())  # RUN_STARTED, then the client disconnects
    # A reconnecting client gets the live run from its start and follows it to the end.
    with httpx.stream("POST", f"{served.url}/agent/slow/connect", json=run_input(thread, "")) as live:
        lines = live.iter_lines()
        assert json.loads(next(lines).removeprefix("data: "))["type"] == "RUN_STARTED"
        release(served, thread)
        tail = [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: ")]
    assert tail[-1]["type"] == "RUN_FINISHED"
    # Once finished, the run is stored and replays from history.
    deadline = time.monotonic() + 10
    while True:
        replay = sse_events(httpx.post(f"{served.url}/agent/slow/connect", json=run_input(thread, "")).text)
        if (replay and replay[-1]["type"] == "RUN_FINISHED") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert any(e.get("snapshot") == {"finished": True} for e in replay)


def test_connect_to_an_unknown_thread_is_an_empty_stream(served: Any) -> None:
    response = httpx.post(f"{served.url}/agent/demo/connect", json=run_input("never-seen", ""))
    assert response.status_code == 200 and response.text == ""


def test_stop_validates_its_body(served: Any) -> None:
    assert httpx.post(f"{served.url}/agent/demo/stop/t", json={"nope": 1}).json() == {"error": "Invalid stop request"}
    assert httpx.post(f"{served.url}/agent/demo/stop/t", json={"runId": ""}).json() == {"error": "Invalid runId"}


def test_single_route_envelope_errors(served: Any) -> None:
    def post(body: Any) -> httpx.Response:
        return httpx.post(served.url, json=body)

    assert post({"method": "info"}).json()["agents"]["demo"]["name"] == "demo"
    assert post({"method": ""}).json() == {"error": "invalid_request", "message": "Missing method field"}
    assert post({"method": "agent/run", "params": {}}).json()["message"] == "Missing or invalid parameter 'agentId'"
    assert post({"method": "agent/run", "params": {"agentId": "demo"}}).json()["message"] == \
        "Missing request body for JSON handler"
    assert post({"method": "agent/stop", "params": {"agentId": "demo"}}).json()["message"] == \
        "Missing or invalid parameter 'threadId'"
    assert post({"method": "teleport"}).json()["message"] == "Unsupported method 'teleport'"
    run = post({"method": "agent/run", "params": {"agentId": "demo"}, "body": run_input("env-t", "hey")})
    assert sse_events(run.text)[-1]["type"] == "RUN_FINISHED"
