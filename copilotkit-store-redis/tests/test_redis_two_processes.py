"""Two runtime servers, separate OS processes on different ports, one Redis: they behave as one.

Runs go through the GraphQL (v1) protocol: the real ``@copilotkit/runtime-client-gql`` client
(``tests/node``) where it is installed, and raw HTTP (the documents that client sends, the
multipart stream read as it arrives) otherwise and for the stop, which needs to act mid-stream.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import uuid
from collections.abc import Iterator
from json import loads as json_loads
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as sync_redis
from redis_store_helpers import (
    GQL_HEADERS,
    RuntimeProcess,
    check_connect_of_another_agent_does_not_tail,
    generate_body,
    graphql_available,
    iter_parts,
    load_agent_state,
    runtime_env,
    text_of,
    wait_until,
    write_config,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from node_client import generate_step, requires_node, run_client

pytestmark = pytest.mark.slow

WORDS = 300
LONG_TEXT = " ".join(f"word{i}" for i in range(WORDS))


@pytest.fixture(scope="module")
def servers(redis_url: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[RuntimeProcess, RuntimeProcess]]:
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    folder = tmp_path_factory.mktemp("two-processes")
    # chunk_delay makes a long message a long run (about WORDS * 0.1 s = 30 s) that a stop
    # cuts short, with room to spare on a loaded machine; the tests never wait for its end.
    config = write_config(folder / "copilotkit.toml", redis_url, key_prefix=prefix,
                          chunk_delay=0.1, lock_ttl=3,
                          extra='[agents.demo2]\nprovider = "demo"\n')
    env = runtime_env(TEST_REDIS_URL=redis_url)
    a = RuntimeProcess(config, env=env).start()
    b = RuntimeProcess(config, env=env).start()
    try:
        if not graphql_available(a.url):
            pytest.skip("the runtime's GraphQL layer is not built yet")
        yield a, b
    finally:
        a.stop()
        b.stop()
        client = sync_redis.Redis.from_url(redis_url)
        try:
            keys = list(client.scan_iter(match=f"{prefix}*", count=500))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def _tid() -> str:
    return str(uuid.uuid4())


def _stream_run(url: str, thread_id: str, text: str, on_part: Any = None) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    with httpx.stream("POST", url, json=generate_body("demo", thread_id, text),
                      headers=GQL_HEADERS, timeout=120) as response:
        assert response.status_code == 200
        for part in iter_parts(response):
            parts.append(part)
            if on_part is not None:
                on_part(parts)
    return parts


def _succeeded(parts: list[dict[str, Any]]) -> bool:
    return "SuccessResponseStatus" in str(parts) and "FailedResponseStatus" not in str(parts)


@requires_node
def test_a_run_on_one_process_is_what_load_agent_state_returns_on_the_other(
        servers: tuple[RuntimeProcess, RuntimeProcess]) -> None:
    a, b = servers
    tid = _tid()
    run = run_client(a.url, [generate_step("remember this", threadId=tid, agent="demo")])["result"]
    assert run["status"]["code"] == "Success", run
    reply = [m for m in run["messages"] if m["__typename"] == "TextMessageOutput"]
    assert reply and reply[-1]["content"] == "You said: remember this"

    loaded = run_client(b.url, [{"op": "loadAgentState", "threadId": tid,
                                 "agentName": "demo"}])["result"]
    assert loaded["data"]["loadAgentState"]["threadExists"] is True
    assert loaded["state"] == {"turns": 1, "last_message": "remember this"}
    assert [(m["role"], m["content"]) for m in loaded["messages"]][-2:] == [
        ("user", "remember this"), ("assistant", "You said: remember this")]

    # The next turn, on the other process, continues the same thread.
    again = run_client(b.url, [generate_step("and this", threadId=tid, agent="demo")])["result"]
    assert again["status"]["code"] == "Success", again
    assert run_client(a.url, [{"op": "loadAgentState", "threadId": tid, "agentName": "demo"}]
                      )["result"]["state"]["turns"] == 2


def test_a_run_on_one_process_is_loaded_on_the_other_over_raw_http(
        servers: tuple[RuntimeProcess, RuntimeProcess]) -> None:
    a, b = servers
    tid = _tid()
    parts = _stream_run(a.url, tid, "hello there")
    assert _succeeded(parts), parts
    assert text_of(parts) == "You said: hello there"
    loaded = load_agent_state(b.url, "demo", tid)
    assert loaded["threadExists"] is True
    assert loaded["state"] == {"turns": 1, "last_message": "hello there"}
    assert loaded["messages"][-1]["content"] == "You said: hello there"
    unknown = load_agent_state(b.url, "demo", _tid())
    assert unknown["threadExists"] is False


def test_a_stop_sent_to_one_process_stops_the_run_on_the_other(
        servers: tuple[RuntimeProcess, RuntimeProcess]) -> None:
    a, b = servers
    tid = _tid()
    stops: list[httpx.Response] = []
    busy: list[str] = []

    def on_part(parts: list[dict[str, Any]]) -> None:
        if stops or not text_of(parts):
            return
        # The run is streaming on A: B refuses a second run on the thread, and stops the first.
        busy.append(httpx.post(b.url, json=generate_body("demo", tid, "me too"),
                               headers=GQL_HEADERS, timeout=30).text)
        stops.append(httpx.post(f"{b.url}/agent/demo/stop/{tid}", timeout=30))

    parts = _stream_run(a.url, tid, LONG_TEXT, on_part)
    assert stops and stops[0].status_code == 200, stops and stops[0].text
    assert stops[0].json()["stopped"] is True and stops[0].json()["threadId"] == tid
    assert "already has a run in progress" in busy[0]
    text = text_of(parts)
    assert text.startswith("You")  # the stop may land right after the first chunk
    assert f"word{WORDS - 1}" not in text, "the run went on to the end instead of stopping"
    # The stream ended properly, and the thread is free for the next run, on either process.
    assert _succeeded(parts), parts[-3:]
    idle = httpx.post(f"{a.url}/agent/demo/stop/{tid}", timeout=30)
    assert idle.status_code == 404 or idle.json()["stopped"] is False, idle.text
    assert _succeeded(_stream_run(b.url, tid, "next"))


def test_a_killed_process_does_not_hold_its_threads(
        servers: tuple[RuntimeProcess, RuntimeProcess], tmp_path: Path) -> None:
    a, b = servers
    # A third process, to kill: it shares the config (and the Redis) of the other two.
    doomed = RuntimeProcess(a.config, env=a.env).start()
    tid = _tid()
    started = threading.Event()

    def run_until_killed() -> None:
        with contextlib.suppress(httpx.HTTPError, AssertionError):  # the process dies under it
            _stream_run(doomed.url, tid, LONG_TEXT,
                        lambda parts: started.set() if text_of(parts) else None)

    runner = threading.Thread(target=run_until_killed, daemon=True)
    runner.start()
    try:
        assert started.wait(60), doomed.log()
        doomed.kill()  # SIGKILL: the lock is neither released nor renewed
        runner.join(30)

        def b_can_run() -> list[dict[str, Any]] | None:
            parts = _stream_run(b.url, tid, "after the crash")
            return parts if _succeeded(parts) else None

        parts = wait_until(b_can_run, timeout=30, interval=0.2,
                           what="the crashed process's run lock to expire")
        assert text_of(parts) == "You said: after the crash"
    finally:
        doomed.kill()


# -- AG-UI (v2) ----------------------------------------------------------------------------------

def _sse_events(response: httpx.Response) -> list[dict[str, Any]]:
    events = []
    for line in response.iter_lines():
        if line.startswith("data:"):
            events.append(json_loads(line[5:].strip()))
    return events


def _run_input(thread_id: str, text: str) -> dict[str, Any]:
    return {"threadId": thread_id, "runId": str(uuid.uuid4()), "state": {},
            "messages": [{"id": str(uuid.uuid4()), "role": "user", "content": text}],
            "tools": [], "context": [], "forwardedProps": {}}


def test_agui_connect_on_one_process_replays_a_run_made_on_the_other(
        servers: tuple[RuntimeProcess, RuntimeProcess]) -> None:
    a, b = servers
    tid = _tid()
    with httpx.stream("POST", f"{a.url}/agent/demo/run", json=_run_input(tid, "v2 hello"),
                      timeout=60) as response:
        assert response.status_code == 200
        ran = _sse_events(response)
    assert ran[-1]["type"] == "RUN_FINISHED"
    with httpx.stream("POST", f"{b.url}/agent/demo/connect", json=_run_input(tid, ""),
                      timeout=60) as response:
        assert response.status_code == 200
        replayed = _sse_events(response)
    text = "".join(e.get("delta", "") for e in replayed if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert text == "You said: v2 hello"
    assert replayed[-1]["type"] == "RUN_FINISHED"


def test_agui_connect_of_another_agent_does_not_tail_a_live_run_of_the_other_process(
        servers: tuple[RuntimeProcess, RuntimeProcess]) -> None:
    a, b = servers
    check_connect_of_another_agent_does_not_tail(a, b, _tid(), LONG_TEXT)


def _finished_runs(events: list[dict[str, Any]]) -> set[str]:
    return {e["runId"] for e in events if e["type"] == "RUN_FINISHED"}


def test_agui_connect_replays_only_its_own_agents_runs_across_processes(
        servers: tuple[RuntimeProcess, RuntimeProcess]) -> None:
    """Issue 13, defect 8 with Redis: two agents on one thread id keep separate histories."""
    a, b = servers
    tid = _tid()

    def post(url: str, route: str, text: str) -> list[dict[str, Any]]:
        with httpx.stream("POST", f"{url}/agent/{route}", json=_run_input(tid, text),
                          timeout=60) as response:
            assert response.status_code == 200
            return _sse_events(response)

    first = post(a.url, "demo/run", "first")
    assert first[-1]["type"] == "RUN_FINISHED"
    assert post(b.url, "demo2/connect", "") == []  # demo's run is not demo2's history
    second = post(b.url, "demo2/run", "second")
    assert second[-1]["type"] == "RUN_FINISHED"
    mine, theirs = post(b.url, "demo/connect", ""), post(a.url, "demo2/connect", "")
    assert _finished_runs(mine) == {first[-1]["runId"]}
    assert _finished_runs(theirs) == {second[-1]["runId"]}
    text = "".join(e.get("delta", "") for e in theirs if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert text == "You said: second"
