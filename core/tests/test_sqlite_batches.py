"""The SQLite store's writer runs queued calls as one transaction: each call's failure undoes
only that call, and what was awaited is on disk for the next process."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from copilotkit_runtime.default_plugins.sqlite_store import SQLiteOptions, SQLiteStore
from copilotkit_runtime.errors import StoreError, VersionConflictError
from copilotkit_runtime.stores import ThreadRecord
from copilotkit_runtime.testing import StoreContract

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(SQLiteOptions(path=str(tmp_path / "batches.sqlite3")))
    await store.open()
    yield store
    await store.close()


async def _writer_held(store: SQLiteStore) -> tuple[threading.Event, asyncio.Future[None]]:
    """Keep the writer busy until the event is set, so the calls queued meanwhile form one batch."""
    gate, started = threading.Event(), threading.Event()

    def hold(db: sqlite3.Connection) -> None:
        started.set()
        gate.wait(10)

    assert store._writer is not None
    held = store._writer.submit(hold, alone=True)
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
    return gate, held


def _write_then_fail(db: sqlite3.Connection) -> None:
    db.execute("INSERT INTO threads (thread_id, agent, state, messages, version, updated_at) "
               "VALUES ('ghost', 'agent', '{}', '[]', 1, 0)")
    raise ValueError("half-way")


async def test_a_failing_call_undoes_only_its_own_writes(store: SQLiteStore) -> None:
    await store.save_thread(ThreadRecord("busy", "agent", state={"v": 1}))
    gate, held = await _writer_held(store)
    calls = [
        asyncio.ensure_future(store.save_thread(ThreadRecord("one", "agent", state={"v": 1}))),
        # version 0 is not the thread's: refused after writing nothing
        asyncio.ensure_future(store.save_thread(ThreadRecord("busy", "agent", state={"v": 9}),
                                                expected_version=0)),
        asyncio.ensure_future(store.append_events("one", "run", [{"type": "A"}, {"type": "B"}])),
        asyncio.ensure_future(store._run(lambda db: db.execute("INSERT INTO nowhere VALUES (1)"))),
        asyncio.ensure_future(store.save_thread(ThreadRecord("two", "agent", state={"v": 2}))),
        asyncio.ensure_future(store._run(_write_then_fail)),
    ]
    gate.set()
    await held
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(results[1], VersionConflictError)
    assert isinstance(results[3], StoreError) and "nowhere" in str(results[3])
    assert isinstance(results[5], ValueError)
    assert [type(r) for r in (results[0], results[2], results[4])] == [ThreadRecord, type(None),
                                                                        ThreadRecord]
    # What the others wrote stands, also for a store opened afresh on the file.
    again = SQLiteStore(SQLiteOptions(path=str(store.path)))
    await again.open()
    try:
        for s in (store, again):
            one, two, busy = [await s.get_thread(t, "agent") for t in ("one", "two", "busy")]
            assert one is not None and one.state == {"v": 1}
            assert two is not None and two.state == {"v": 2}
            assert busy is not None and busy.state == {"v": 1} and busy.version == 1
            assert [e.event["type"] for e in await s.get_events("one")] == ["A", "B"]
            assert await s.get_thread("ghost", "agent") is None
    finally:
        await again.close()


async def test_appends_queued_together_keep_their_order(store: SQLiteStore) -> None:
    gate, held = await _writer_held(store)
    calls = [asyncio.ensure_future(store.append_events("t", f"run-{i}", [{"n": i}, {"n": i}]))
             for i in range(20)]
    gate.set()
    await held
    await asyncio.gather(*calls)
    got = await store.get_events("t")
    assert [e.seq for e in got] == list(range(1, 41))
    assert [e.event["n"] for e in got] == [i // 2 for i in range(40)]
    assert [e.run_id for e in got][::2] == [f"run-{i}" for i in range(20)]
    assert [e.seq for e in await store.get_events("t", after=35, limit=3)] == [36, 37, 38]


async def test_events_keep_their_json_exactly(store: SQLiteStore) -> None:
    odd = {"type": "X", "text": "quote \" backslash \\ é \u2028 😀", "n": 1.0, "big": 2**70,
           "nan": float("inf"), "nested": [{"a": None}], "empty": ""}
    await store.append_events("t", "run", [odd, {}], agent="a")
    got = await store.get_events("t", agent="a")
    assert [e.event for e in got] == [odd, {}]
    assert isinstance(got[0].event["n"], float)
    assert await store.get_events("t", agent="b") == []
    assert await store.get_events("nobody") == []


async def test_a_closed_store_refuses_calls(tmp_path: Path) -> None:
    store = SQLiteStore(SQLiteOptions(path=str(tmp_path / "closed.sqlite3")))
    await store.open()
    await store.append_events("t", "run", [{"type": "A"}])
    await store.close()
    with pytest.raises(StoreError, match="not open"):
        await store.get_events("t")


class TestSQLiteWithoutJsonEach(StoreContract):
    """The same contract on the statement-per-row path (an SQLite built without JSON)."""

    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SQLiteStore]:
        store = SQLiteStore(SQLiteOptions(path=str(tmp_path / "plain.sqlite3"), poll_interval=0.05))
        await store.open()
        store._json_each = False
        yield store
        await store.close()


async def test_the_wal_is_checkpointed_into_the_database_file(store: SQLiteStore) -> None:
    """Commits never checkpoint (wal_autocheckpoint = 0 on the writer); the store's checkpoint
    connection copies the WAL into the database file soon after writes."""
    await store.append_events("cp", "run", [{"n": i} for i in range(500)])

    def in_main_file() -> int:
        # immutable=1: the database file alone, without the WAL
        db = sqlite3.connect(f"file:{store.path}?immutable=1", uri=True)
        try:
            return int(db.execute("SELECT count(*) FROM events WHERE thread_id = 'cp'").fetchone()[0])
        except sqlite3.OperationalError:  # not even the tables are there yet
            return 0
        finally:
            db.close()

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while await loop.run_in_executor(None, in_main_file) < 500:
        assert loop.time() < deadline, "the WAL was never checkpointed"
        await asyncio.sleep(0.1)
