"""kill -9 at random points, 20 times, with SQLite: the file is never corrupt, no finished
run is lost, and every thread takes a new run as soon as the restarted server answers
/health: the dead process's run locks do not hold it (issue 13, defect 3)."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .process import ForkedServer, Zygote, write_config
from .wire import run_input

KILLS = 20
THREADS = 3
SEED = int(os.environ.get("HARDEN_CRASH_SEED", "1313"))


def complete_events(body: bytes) -> list[dict[str, Any]]:
    """The whole frames of a body that may have been cut anywhere."""
    frames = body.decode("utf-8", "replace").split("\n\n")[:-1]
    return [json.loads(f.removeprefix("data: ")) for f in frames if f.startswith("data: ")]


class Run(threading.Thread):
    def __init__(self, url: str, thread_id: str, words: int) -> None:
        super().__init__(daemon=True)
        self.url, self.thread_id = url, thread_id
        self.body = run_input(thread_id, " ".join(["w"] * words))
        self.received = b""
        self.status: int | None = None

    def run(self) -> None:
        try:
            with httpx.stream("POST", f"{self.url}/agent/demo/run", json=self.body,
                              timeout=30) as response:
                self.status = response.status_code
                for chunk in response.iter_bytes():
                    self.received += chunk
        except httpx.HTTPError:
            pass  # the server was killed

    def finished(self) -> bool:
        events = complete_events(self.received)
        return bool(events) and events[-1]["type"] == "RUN_FINISHED"


@pytest.fixture
def zygote() -> Iterator[Zygote]:
    parent = Zygote()
    try:
        yield parent
    finally:
        parent.close()


def finished_runs_in_history(url: str, thread_id: str) -> set[str]:
    replay = httpx.post(f"{url}/agent/demo/connect", json=run_input(thread_id), timeout=30)
    assert replay.status_code == 200
    return {e["runId"] for e in complete_events(replay.content) if e["type"] == "RUN_FINISHED"}


def test_kill_9_twenty_times_loses_nothing_and_frees_every_thread_at_once(
        tmp_path: Path, zygote: Zygote) -> None:
    rng = random.Random(SEED)
    config = write_config(tmp_path, chunk_delay=0.01)
    database = tmp_path / "threads.sqlite3"
    threads = [f"crash-{i}-{uuid.uuid4()}" for i in range(THREADS)]
    finished: dict[str, set[str]] = {t: set() for t in threads}
    server = ForkedServer(zygote, config).start()
    try:
        for kill in range(KILLS):
            runs = [Run(server.url, t, rng.randint(1, 40)) for t in threads]
            for run in runs:
                run.start()
            threading.Event().wait(rng.uniform(0.0, 0.5))
            server.kill()
            for run in runs:
                run.join(30)
                if run.finished():
                    finished[run.thread_id].add(run.body["runId"])

            with sqlite3.connect(database) as db:
                assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",), kill

            server = ForkedServer(zygote, config).start()
            # At once, with no wait: each thread takes a run (a dead lock would be THREAD_BUSY).
            for thread_id in threads:
                again = httpx.post(f"{server.url}/agent/demo/run",
                                   json=run_input(thread_id, "after the crash"), timeout=30)
                assert again.status_code == 200, (kill, again.text)
                events = complete_events(again.content)
                assert events[-1]["type"] == "RUN_FINISHED", (kill, events[-1])
                finished[thread_id].add(events[-1]["runId"])
            for thread_id in threads:
                missing = finished[thread_id] - finished_runs_in_history(server.url, thread_id)
                assert not missing, (kill, thread_id, missing)
        # Nothing left behind: the dead processes' lock rows and instance files are gone.
        with sqlite3.connect(database) as db:
            owners = {row[0] for row in db.execute("SELECT owner FROM run_locks")}
        assert len(owners) <= 1
        instances = list((tmp_path / "threads.sqlite3.instances").glob("*.lock"))
        assert len(instances) == 1
    finally:
        server.kill()
    assert sum(len(runs) for runs in finished.values()) >= KILLS * THREADS
