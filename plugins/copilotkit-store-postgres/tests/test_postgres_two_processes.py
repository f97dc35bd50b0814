"""Two runtime servers, separate OS processes on different ports, one PostgreSQL database: they
behave as one (GraphQL v1 over raw HTTP, as ``@copilotkit/runtime-client-gql`` sends it, and
AG-UI v2 connect). A third process killed with SIGKILL mid-run does not hold its thread past its
lease, nor past its heartbeat when the lease is long. A private PostgreSQL restarted under a running runtime costs at most that run."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from json import loads as json_loads
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from pg_store_helpers import PostgresServer, drop_schema

# The runtime-process and GraphQL helpers of the Redis store's tests (store-independent).
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "copilotkit-store-redis" / "tests"))
from redis_store_helpers import (
    GQL_HEADERS,
    RuntimeProcess,
    check_connect_of_another_agent_does_not_tail,
    generate_body,
    iter_parts,
    load_agent_state,
    runtime_env,
    text_of,
    wait_until,
)

pytestmark = pytest.mark.slow

WORDS = 300
LONG_TEXT = " ".join(f"word{i}" for i in range(WORDS))


def write_config(path: Path, schema: str, *, chunk_delay: float = 0.1,
                 lock_ttl: float = 3.0, instance_ttl: float = 5.0) -> Path:
    path.write_text(f"""
log_level = "warning"

[store]
type = "postgres"
lock_ttl_seconds = {lock_ttl}

[store.postgres]
url = "${{TEST_DATABASE_URL}}"
schema = "{schema}"
connect_timeout = 2.0
pool_timeout = 3.0
stop_poll_interval = 0.5
live_poll_interval = 0.5
instance_ttl_seconds = {instance_ttl}

[agents.demo]
provider = "demo"
chunk_delay = {chunk_delay}

[agents.demo2]
provider = "demo"
""")
    return path


@pytest.fixture(scope="module")
def servers(pg_url: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[RuntimeProcess, RuntimeProcess]]:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    folder = tmp_path_factory.mktemp("pg-two-processes")
    config = write_config(folder / "copilotkit.toml", schema)
    env = runtime_env(TEST_DATABASE_URL=pg_url)
    a = RuntimeProcess(config, env=env).start()
    b = RuntimeProcess(config, env=env).start()
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()
        drop_schema(pg_url, schema)


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


def test_health_names_the_store_without_the_password(
        servers: tuple[RuntimeProcess, RuntimeProcess]) -> None:
    a, _ = servers
    health = httpx.get(a.origin + "/health", timeout=10)
    assert health.status_code == 200, health.text
    assert "postgres" in health.text


def test_a_run_on_one_process_is_loaded_on_the_other(
        servers: tuple[RuntimeProcess, RuntimeProcess]) -> None:
    a, b = servers
    tid = _tid()
    parts = _stream_run(a.url, tid, "hello there", None)
    assert _succeeded(parts), parts
    assert text_of(parts) == "You said: hello there"
    loaded = load_agent_state(b.url, "demo", tid)
    assert loaded["threadExists"] is True
    assert loaded["state"] == {"turns": 1, "last_message": "hello there"}
    assert loaded["messages"][-1]["content"] == "You said: hello there"
    assert load_agent_state(b.url, "demo", _tid())["threadExists"] is False
    # the next turn, on the other process, continues the same thread
    assert _succeeded(_stream_run(b.url, tid, "and this"))
    assert load_agent_state(a.url, "demo", tid)["state"]["turns"] == 2


def test_a_stop_sent_to_one_process_stops_the_run_on_the_other(
        servers: tuple[RuntimeProcess, RuntimeProcess]) -> None:
    a, b = servers
    tid = _tid()
    stops: list[httpx.Response] = []
    busy: list[str] = []

    def on_part(parts: list[dict[str, Any]]) -> None:
        if stops or not text_of(parts):
            return
        busy.append(httpx.post(b.url, json=generate_body("demo", tid, "me too"),
                               headers=GQL_HEADERS, timeout=30).text)
        stops.append(httpx.post(f"{b.url}/agent/demo/stop/{tid}", timeout=30))

    parts = _stream_run(a.url, tid, LONG_TEXT, on_part)
    assert stops and stops[0].status_code == 200, stops and stops[0].text
    assert stops[0].json()["stopped"] is True
    assert "already has a run in progress" in busy[0]
    text = text_of(parts)
    assert text.startswith("You")
    assert f"word{WORDS - 1}" not in text, "the run went on to the end instead of stopping"
    assert _succeeded(parts), parts[-3:]
    assert _succeeded(_stream_run(b.url, tid, "next"))


def test_a_killed_process_does_not_hold_its_threads(
        servers: tuple[RuntimeProcess, RuntimeProcess]) -> None:
    a, b = servers
    doomed = RuntimeProcess(a.config, env=a.env).start()
    tid = _tid()
    started = threading.Event()

    def run_until_killed() -> None:
        with contextlib.suppress(httpx.HTTPError, AssertionError):
            _stream_run(doomed.url, tid, LONG_TEXT,
                        lambda parts: started.set() if text_of(parts) else None)

    runner = threading.Thread(target=run_until_killed, daemon=True)
    runner.start()
    try:
        assert started.wait(60), doomed.log()
        # while the doomed process runs, B refuses a second run on the thread
        busy = httpx.post(b.url, json=generate_body("demo", tid, "me too"),
                          headers=GQL_HEADERS, timeout=30).text
        assert "already has a run in progress" in busy
        doomed.kill()  # SIGKILL: the lock is neither released nor renewed
        runner.join(30)

        def b_can_run() -> list[dict[str, Any]] | None:
            parts = _stream_run(b.url, tid, "after the crash")
            return parts if _succeeded(parts) else None

        parts = wait_until(b_can_run, timeout=30, interval=0.2,
                           what="the crashed process's run lock to expire")
        assert text_of(parts) == "You said: after the crash"
        assert load_agent_state(a.url, "demo", tid)["messages"][-1]["content"] == (
            "You said: after the crash")
    finally:
        doomed.kill()


def test_a_killed_process_frees_its_thread_once_its_heartbeat_expires_not_its_lease(
        pg_url: str, tmp_path: Path) -> None:
    """Issue 13 defect 3: with a 60 s lease and a 1.5 s heartbeat, a SIGKILLed holder's thread
    takes a new run (on another process) within a few seconds, and ``/stop`` for the dead run
    says there is no run; while the holder lives, no one takes its thread, whatever the time."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    config = write_config(tmp_path / "copilotkit.toml", schema, lock_ttl=60, instance_ttl=1.5)
    env = runtime_env(TEST_DATABASE_URL=pg_url)
    doomed = RuntimeProcess(config, env=env).start(wait=False)
    survivor = RuntimeProcess(config, env=env).start(wait=False)
    tid = _tid()
    started = threading.Event()
    streamed: list[list[dict[str, Any]]] = []

    def run_until_killed() -> None:
        def seen(parts: list[dict[str, Any]]) -> None:
            streamed[:] = [parts]
            if text_of(parts):
                started.set()

        with contextlib.suppress(httpx.HTTPError, AssertionError):
            _stream_run(doomed.url, tid, LONG_TEXT, seen)

    runner = threading.Thread(target=run_until_killed, daemon=True)
    try:
        for process in (doomed, survivor):  # started side by side
            wait_until(process._listening, timeout=60, what="a runtime to listen")
        runner.start()
        assert started.wait(60), doomed.log()
        # alive for several heartbeat periods: the thread stays its, and its run goes on
        said = len(text_of(streamed[0]))
        for _ in range(3):
            busy = httpx.post(survivor.url, json=generate_body("demo", tid, "me too"),
                              headers=GQL_HEADERS, timeout=30).text
            assert "already has a run in progress" in busy
            time.sleep(1.5)
        assert runner.is_alive() and len(text_of(streamed[0])) > said
        assert "FailedResponseStatus" not in str(streamed[0])
        doomed.kill()  # SIGKILL: the lock (59 s left) is neither released nor renewed
        runner.join(30)

        def stop_says_no_run() -> bool:
            answer = httpx.post(f"{survivor.url}/agent/demo/stop/{tid}", json={}, timeout=30)
            return answer.status_code == 200 and answer.json()["stopped"] is False

        wait_until(stop_says_no_run, timeout=30, interval=0.2,
                   what="/stop to say the killed process's run is gone")
        parts = _stream_run(survivor.url, tid, "after the crash")  # at once: no lease left
        assert _succeeded(parts), parts[-2:]
        assert text_of(parts) == "You said: after the crash"
    finally:
        doomed.kill()
        survivor.stop()
        drop_schema(pg_url, schema)


def test_agui_connect_of_another_agent_does_not_tail_a_live_run_of_the_other_process(
        servers: tuple[RuntimeProcess, RuntimeProcess]) -> None:
    a, b = servers
    check_connect_of_another_agent_does_not_tail(a, b, _tid(), LONG_TEXT)


def _sse_events(response: httpx.Response) -> list[dict[str, Any]]:
    return [json_loads(line[5:].strip()) for line in response.iter_lines()
            if line.startswith("data:")]


def _run_input(thread_id: str, text: str) -> dict[str, Any]:
    return {"threadId": thread_id, "runId": str(uuid.uuid4()), "state": {},
            "messages": [{"id": str(uuid.uuid4()), "role": "user", "content": text}],
            "tools": [], "context": [], "forwardedProps": {}}


def test_agui_connect_on_one_process_follows_a_live_run_on_the_other(
        servers: tuple[RuntimeProcess, RuntimeProcess]) -> None:
    a, b = servers
    tid = _tid()
    text = " ".join(f"w{i}" for i in range(30))
    ran: list[dict[str, Any]] = []
    started = threading.Event()

    def run_on_a() -> None:
        with httpx.stream("POST", f"{a.url}/agent/demo/run", json=_run_input(tid, text),
                          timeout=120) as response:
            for line in response.iter_lines():
                if line.startswith("data:"):
                    ran.append(json_loads(line[5:].strip()))
                    if ran[-1]["type"] == "TEXT_MESSAGE_CONTENT":
                        started.set()

    runner = threading.Thread(target=run_on_a, daemon=True)
    runner.start()
    assert started.wait(60)
    with httpx.stream("POST", f"{b.url}/agent/demo/connect", json=_run_input(tid, ""),
                      timeout=120) as response:
        assert response.status_code == 200
        followed = _sse_events(response)
    runner.join(60)
    assert ran[-1]["type"] == "RUN_FINISHED"
    said = "".join(e.get("delta", "") for e in followed if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert said == f"You said: {text}"
    assert followed[-1]["type"] == "RUN_FINISHED"


@pytest.mark.parametrize("down_for", [0.0, 5.0], ids=["restart", "down-past-the-lease"])
def test_postgres_restarted_mid_run_costs_at_most_that_run(
        own_postgres: PostgresServer, tmp_path: Path, down_for: float) -> None:
    """Restarted at once, the run may recover; down for longer than the lease (3 s), the run
    must end with a clear error. Either way the process lives and the thread is intact."""
    config = write_config(tmp_path / "copilotkit.toml", "restart_test", chunk_delay=0.05)
    runtime = RuntimeProcess(config, env=runtime_env(TEST_DATABASE_URL=own_postgres.url)).start()
    try:
        tid = _tid()
        assert _succeeded(_stream_run(runtime.url, tid, "before"))
        parts: list[dict[str, Any]] = []
        started = threading.Event()
        outcome: list[BaseException] = []

        def long_run() -> None:
            try:
                parts.extend(_stream_run(runtime.url, tid, LONG_TEXT,
                                         lambda p: started.set() if text_of(p) else None))
            except BaseException as exc:
                outcome.append(exc)

        runner = threading.Thread(target=long_run, daemon=True)
        runner.start()
        assert started.wait(60), runtime.log()
        if down_for:
            own_postgres.stop("immediate")
            time.sleep(down_for)
            own_postgres.start()
        else:
            own_postgres.restart()
        runner.join(90)
        assert not runner.is_alive(), "the run hung after PostgreSQL restarted"
        assert runtime.process is not None and runtime.process.poll() is None, runtime.log()
        # the run either recovered or ended with a clear error, not a broken stream
        assert not outcome, outcome
        assert "SuccessResponseStatus" in str(parts) or "FailedResponseStatus" in str(parts)
        if _succeeded(parts):  # recovered: the whole reply was streamed
            assert text_of(parts) == f"You said: {LONG_TEXT}"
        else:  # a clear run error naming the store
            assert "FailedResponseStatus" in str(parts) and "PostgreSQL" in str(parts), parts[-2:]
        if down_for:
            assert not _succeeded(parts), "a run kept going without its lock"

        # the thread is intact and usable once the database is back
        def next_run_works() -> list[dict[str, Any]] | None:
            got = _stream_run(runtime.url, tid, "after")
            return got if _succeeded(got) else None

        after = wait_until(next_run_works, timeout=60, interval=0.5,
                           what="a run to succeed after the restart")
        assert text_of(after) == "You said: after"
        loaded = load_agent_state(runtime.url, "demo", tid)
        assert loaded["messages"][-1]["content"] == "You said: after"
        assert loaded["state"]["last_message"] == "after"
        with psycopg.connect(own_postgres.url) as conn:
            versions = conn.execute('SELECT version FROM "restart_test"."copilotkit_threads"'
                                    ).fetchall()
        assert versions and all(v[0] >= 2 for v in versions)
    finally:
        runtime.stop()
