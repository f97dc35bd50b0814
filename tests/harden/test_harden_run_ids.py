"""Run ids come from clients: one reused on a thread (its last run's id) or on two threads at
once must not make ``/connect`` miss the live run or end without its terminal event (issue 13,
found by schemathesis). Real HTTP, memory and SQLite stores."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from copilotkit_runtime.testing import ServedRuntime, make_runtime, serve_runtime

from .wire import run_input, sse_events, types


@pytest.fixture(params=["memory", "sqlite"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServedRuntime]:
    runtime = make_runtime({
        "agents": {"slow": {"provider": "demo", "chunk_delay": 0.25},
                   "fast": {"provider": "demo", "chunk_delay": 0}},
        "default_agent": "fast", "store": {"type": request.param}, "data_dir": str(tmp_path),
    }, load_entry_points=False)
    with serve_runtime(runtime) as served:
        yield served


def in_background(url: str, body: dict[str, Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def post() -> None:
        out["response"] = httpx.post(url, json=body, timeout=30)

    thread = threading.Thread(target=post)
    thread.start()
    return thread, out


def wait_for_live(served: ServedRuntime, thread_id: str) -> None:
    deadline = time.monotonic() + 10
    while served.runtime.engine.active_run(thread_id) is None:
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.02)


def run_starts(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "RUN_STARTED"]


def test_connect_follows_a_live_run_that_reuses_the_threads_last_run_id(
        served: ServedRuntime) -> None:
    base = f"{served.url}/agent/slow"
    first = httpx.post(f"{base}/run", json=run_input("t-reuse", "one", runId="r-same"), timeout=30)
    assert types(sse_events(first.text))[-1] == "RUN_FINISHED"

    thread, out = in_background(f"{base}/run", run_input("t-reuse", "two", runId="r-same"))
    wait_for_live(served, "t-reuse")
    connected = httpx.post(f"{base}/connect", json=run_input("t-reuse"), timeout=30)
    thread.join(30)
    assert out["response"].status_code == 200

    events = sse_events(connected.text)
    # The stored run, then the live one to its end (before the fix: the stored run only, the
    # live one taken for it since they share an id).
    assert len(run_starts(events)) == 2, types(events)
    second_input = run_starts(events)[1]["input"]["messages"]
    assert [m["content"] for m in second_input] == ["two"]
    assert types(events)[-1] == "RUN_FINISHED"

    # Once stored, the reused id's run is replayed once, after the first.
    replay = sse_events(httpx.post(f"{base}/connect", json=run_input("t-reuse"), timeout=30).text)
    assert types(replay).count("RUN_STARTED") == 2 and types(replay)[-1] == "RUN_FINISHED"


def test_one_run_id_on_two_threads_at_once_keeps_both_runs_followable(
        served: ServedRuntime) -> None:
    slow, fast = f"{served.url}/agent/slow", f"{served.url}/agent/fast"
    thread, out = in_background(f"{slow}/run", run_input("t-long", "long", runId="r-shared"))
    wait_for_live(served, "t-long")
    # Another thread, the same run id, done while the first is still going.
    quick = httpx.post(f"{fast}/run", json=run_input("t-short", "short", runId="r-shared"),
                       timeout=30)
    assert types(sse_events(quick.text))[-1] == "RUN_FINISHED"
    assert served.runtime.engine.active_run("t-long") is not None

    connected = httpx.post(f"{slow}/connect", json=run_input("t-long"), timeout=30)
    thread.join(30)
    events = sse_events(connected.text)
    # Before the fix the short run's end took the long one out of the engine's table: an
    # empty /connect for a thread whose run was going on.
    assert types(events)[0] == "RUN_STARTED" and types(events)[-1] == "RUN_FINISHED", connected.text
    assert out["response"].status_code == 200
    assert not served.runtime.engine.active_runs


def test_a_run_id_reused_while_its_run_goes_on_is_a_busy_thread(served: ServedRuntime) -> None:
    slow = f"{served.url}/agent/slow"
    thread, out = in_background(f"{slow}/run", run_input("t-twice", "first", runId="r-twice"))
    wait_for_live(served, "t-twice")
    again = httpx.post(f"{slow}/run", json=run_input("t-twice", "second", runId="r-twice"),
                       timeout=30)
    # Before: the store let the run id take its own lock again, two runs on one thread.
    assert again.status_code == 409, again.text
    thread.join(30)
    assert types(sse_events(out["response"].text))[-1] == "RUN_FINISHED"
    replay = sse_events(httpx.post(f"{slow}/connect", json=run_input("t-twice"), timeout=30).text)
    assert types(replay).count("RUN_STARTED") == 1
