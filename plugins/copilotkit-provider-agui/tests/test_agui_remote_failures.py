"""A remote AG-UI agent that misbehaves fails its own run, clearly, through real HTTP."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from agui_remote_helpers import RemoteServer, start_remote, stop_remote

from copilotkit_runtime.testing import ServedRuntime, make_runtime, serve_runtime
from copilotkit_runtime.testing.server import free_port


def sse_events(body: str) -> list[dict[str, Any]]:
    frames = [f for f in body.split("\n\n") if f.strip() and not f.startswith(":")]
    return [json.loads(f.removeprefix("data: ")) for f in frames]


def run_input(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"threadId": str(uuid.uuid4()), "runId": str(uuid.uuid4()), "state": {}, "tools": [],
            "context": [], "forwardedProps": {},
            "messages": [{"id": str(uuid.uuid4()), "role": "user", "content": text}], **extra}


def run(served: ServedRuntime, agent: str, body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    response = httpx.post(f"{served.url}/agent/{agent}/run", json=body or run_input(),
                          headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return sse_events(response.text)


BAD = ["status", "not-sse", "not-json", "bad-event", "bad-order", "truncated", "error", "ok"]


@pytest.fixture(scope="module")
def served(remote: RemoteServer) -> Iterator[ServedRuntime]:
    agents: dict[str, Any] = {
        f"bad-{kind}": {"provider": "agui", "url": f"{remote.origin}/bad/{kind}"} for kind in BAD}
    # the same through httpx's own transport (lean_transport = false)
    agents.update({f"bad-{kind}-httpx": {"provider": "agui", "url": f"{remote.origin}/bad/{kind}",
                                         "lean_transport": False} for kind in BAD})
    agents["unreachable"] = {"provider": "agui", "url": f"http://127.0.0.1:{free_port()}/agent"}
    agents["unreachable-httpx"] = {**agents["unreachable"], "lean_transport": False}
    agents["impatient"] = {"provider": "agui", "url": remote.agent_url, "timeout": 0.5}
    with serve_runtime(make_runtime({"agents": agents}, load_entry_points=True)) as served:
        yield served


@pytest.mark.parametrize("kind, expected", [
    ("status", "answered HTTP 502: upstream exploded"),
    ("not-sse", "answered with content-type 'application/json', not an SSE stream"),
    ("not-json", "sent SSE data that is not JSON: {this is not json"),
    ("bad-event", "sent an invalid AG-UI event (TEXT_MESSAGE_CONTENT.messageId: Field required)"),
    ("bad-order", "produced an invalid event stream: TEXT_MESSAGE_CONTENT for message 'ghost'"),
    ("truncated", "closed the stream before the run finished"),
    ("unreachable", "could not be reached"),
])
@pytest.mark.parametrize("transport", ["", "-httpx"])
def test_a_broken_remote_fails_the_run_with_a_clear_error(served: ServedRuntime, kind: str,
                                                          expected: str, transport: str) -> None:
    agent = (kind if kind == "unreachable" else f"bad-{kind}") + transport
    events = run(served, agent)
    assert events[0]["type"] == "RUN_STARTED"
    assert events[-1]["type"] == "RUN_ERROR", events
    assert expected in events[-1]["message"]
    if kind not in ("bad-order",):
        assert f"'{agent}'" in events[-1]["message"]
    assert [e["type"] for e in events].count("RUN_ERROR") == 1


def test_a_truncated_remote_keeps_what_it_sent_and_closes_the_message(served: ServedRuntime) -> None:
    events = run(served, "bad-truncated")
    assert [e["type"] for e in events] == ["RUN_STARTED", "TEXT_MESSAGE_START",
                                           "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "RUN_ERROR"]
    assert events[2]["delta"] == "half a"


def test_the_remotes_own_run_error_ends_the_run(served: ServedRuntime) -> None:
    events = run(served, "bad-error")
    assert events[-1] == {"type": "RUN_ERROR", "message": "remote says no", "code": "REMOTE_NO"}


@pytest.mark.parametrize("transport", ["", "-httpx"])
def test_a_remote_numbering_runs_its_own_way_gets_our_ids(served: ServedRuntime,
                                                          transport: str) -> None:
    body = run_input()
    events = run(served, "bad-ok" + transport, body)
    assert [e["type"] for e in events] == ["RUN_STARTED", "TEXT_MESSAGE_START",
                                           "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "RUN_FINISHED"]
    for event in (events[0], events[-1]):
        assert (event["threadId"], event["runId"]) == (body["threadId"], body["runId"])


def test_a_silent_remote_times_out(served: ServedRuntime, remote: RemoteServer) -> None:
    body = run_input("hold")
    try:
        events = run(served, "impatient", body)
    finally:
        remote.release()
    assert events[-1]["type"] == "RUN_ERROR"
    assert "did not answer within 0.5 s (ReadTimeout)" in events[-1]["message"]
    # and we hung up on it
    remote.wait_for(lambda seen: any(e.get("body", {}).get("runId") == body["runId"]
                                     and e["disconnected"] for e in seen), "the timed-out run close")


def test_failures_leave_the_runtime_serving(served: ServedRuntime) -> None:
    for _ in range(3):
        assert run(served, "bad-status")[-1]["type"] == "RUN_ERROR"
    assert run(served, "bad-ok")[-1]["type"] == "RUN_FINISHED"


def test_a_remote_that_dies_mid_run_fails_that_run_only() -> None:
    dying = start_remote()
    try:
        config = {"agents": {"fragile": {"provider": "agui", "url": dying.agent_url}}}
        with serve_runtime(make_runtime(config, load_entry_points=True)) as served:
            events = run(served, "fragile", run_input("die"))
            dying.proc.wait(20)
            types = [e["type"] for e in events]
            assert types[0] == "RUN_STARTED" and types[-1] == "RUN_ERROR", types
            assert "TEXT_MESSAGE_CONTENT" in types  # it did die mid-answer
            message = events[-1]["message"]
            assert "Remote AG-UI agent 'fragile'" in message
            assert ("broke the connection mid-run" in message
                    or "closed the stream before the run finished" in message), message
            # The thread is free again and the runtime answers (the remote is gone: a clear error).
            again = run(served, "fragile")
            assert "could not be reached" in again[-1]["message"]
    finally:
        stop_remote(dying)
