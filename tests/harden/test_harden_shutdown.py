"""SIGTERM with runs in progress: new runs refused, short runs finish, long runs end properly
and are stored, replayable after the restart (issue 13, defect 4)."""

from __future__ import annotations

import json
import signal
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx

from .process import ServerProcess, write_config
from .wire import LOAD_STATE, run_input, sse_events, types

GRACE = 3.0
DELAY = 0.2  # seconds per streamed word


class Stream(threading.Thread):
    """An AG-UI run read to its end on a thread; ``first`` is set at its first text."""

    def __init__(self, url: str, thread_id: str, text: str) -> None:
        super().__init__(daemon=True)
        self.url, self.thread_id, self.text = url, thread_id, text
        self.body = b""
        self.first = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            body = run_input(self.thread_id, self.text)
            with httpx.stream("POST", f"{self.url}/agent/demo/run", json=body,
                              timeout=60) as response:
                for chunk in response.iter_bytes():
                    self.body += chunk
                    if b"TEXT_MESSAGE_CONTENT" in self.body:
                        self.first.set()
        except BaseException as exc:
            self.error = exc
        finally:
            self.first.set()

    def events(self) -> list[dict[str, Any]]:
        return sse_events(self.body)


def test_sigterm_lets_short_runs_finish_and_ends_and_stores_long_ones(tmp_path: Path) -> None:
    server = ServerProcess(write_config(tmp_path, chunk_delay=DELAY, shutdown_grace=GRACE)).start()
    try:
        # ~1 s of words: finishes within the grace. ~30 s of words: does not.
        short = Stream(server.url, f"short-{uuid.uuid4()}", "one two three")
        long = Stream(server.url, f"long-{uuid.uuid4()}", " ".join(["word"] * 150))
        long.start()
        assert long.first.wait(30) and long.error is None
        short.start()
        assert short.first.wait(30) and short.error is None
        server.signal(signal.SIGTERM)
        short.join(30)
        long.join(30)
        assert not short.is_alive() and not long.is_alive()
        assert server.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
    finally:
        server.stop()
    assert short.error is None and long.error is None, (short.error, long.error)
    assert types(short.events())[-1] == "RUN_FINISHED"
    ended = long.events()
    assert types(ended)[-1] == "RUN_ERROR" and ended[-1]["code"] == "SERVER_SHUTTING_DOWN"
    assert "TEXT_MESSAGE_END" in types(ended)  # the cut message is closed properly
    log = server.log()
    assert "Traceback" not in log, log

    restarted = ServerProcess(server.config).start()
    try:
        replay = sse_events(httpx.post(f"{restarted.url}/agent/demo/connect",
                                       json=run_input(long.thread_id), timeout=10).content)
        assert types(replay)[0] == "RUN_STARTED" and types(replay)[-1] == "RUN_ERROR"
        assert replay[-1]["code"] == "SERVER_SHUTTING_DOWN"
        started_with = [m["content"] for m in replay[0]["input"]["messages"]]
        assert long.text in started_with  # the user's message was kept
        # The thread's messages are kept too (v1 loadAgentState), and the thread takes a new run.
        state = httpx.post(restarted.url, json={"query": LOAD_STATE, "variables": {
            "data": {"threadId": long.thread_id, "agentName": "demo"}}}, timeout=10).json()
        loaded = state["data"]["loadAgentState"]
        assert loaded["threadExists"] is True
        assert long.text in json.dumps(json.loads(loaded["messages"]))
        again = sse_events(httpx.post(f"{restarted.url}/agent/demo/run",
                                      json=run_input(long.thread_id, "hi"), timeout=30).content)
        assert types(again)[-1] == "RUN_FINISHED"
        short_replay = sse_events(httpx.post(f"{restarted.url}/agent/demo/connect",
                                             json=run_input(short.thread_id), timeout=10).content)
        assert types(short_replay)[-1] == "RUN_FINISHED"
    finally:
        restarted.stop()


def test_a_run_asked_for_during_shutdown_is_refused_clearly(tmp_path: Path) -> None:
    server = ServerProcess(write_config(tmp_path, chunk_delay=DELAY, shutdown_grace=GRACE)).start()
    try:
        # A kept-alive connection survives the signal: its next request meets the drain.
        with httpx.Client(timeout=30) as client:
            assert client.get(server.origin + "/health").status_code == 200
            long = Stream(server.url, f"long-{uuid.uuid4()}", " ".join(["word"] * 150))
            long.start()
            assert long.first.wait(30)
            server.signal(signal.SIGTERM)
            server.wait_for_log("shutting down:")
            try:
                refused = client.post(f"{server.url}/agent/demo/run",
                                      json=run_input(f"new-{uuid.uuid4()}"))
            except httpx.TransportError:
                pass  # the connection was closed: refused as well
            else:
                assert refused.status_code == 503, refused.text
                assert refused.json()["error"] == "Server shutting down"
            long.join(30)
        assert server.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
    finally:
        server.stop()
