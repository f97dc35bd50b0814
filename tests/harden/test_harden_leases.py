"""SQLite run locks of a dead process (kill -9) free their threads at once; a live holder's
are never taken; files written before lock owners and history agents were kept still open
(issue 13, defects 3 and 8)."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from copilotkit_runtime.default_plugins.sqlite_store import SQLiteOptions, SQLiteStore

HOLDER = textwrap.dedent("""
    import asyncio, sys
    from copilotkit_runtime.default_plugins.sqlite_store import SQLiteOptions, SQLiteStore

    async def main(path):
        store = SQLiteStore(SQLiteOptions(path=path))
        await store.open()
        assert await store.acquire_run_lock("held", "run-of-the-dead", 600) is not None
        print("holding", flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main(sys.argv[1]))
""")


def hold_a_lock(path: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder


async def open_store(path: Path) -> SQLiteStore:
    store = SQLiteStore(SQLiteOptions(path=str(path)))
    await store.open()
    return store


def test_a_live_holder_keeps_its_lock_and_a_killed_one_frees_it_at_once(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    holder = hold_a_lock(path)

    async def while_alive() -> None:
        store = await open_store(path)
        try:
            assert await store.acquire_run_lock("held", "mine", 30) is None
            assert await store.request_stop("held") is True  # the live holder is asked
        finally:
            await store.close()

    async def after_the_kill() -> None:
        store = await open_store(path)
        try:
            lease = await store.acquire_run_lock("held", "mine", 30)
            assert lease is not None  # long before the dead holder's 600 s lease expires
            await lease.release()
        finally:
            await store.close()

    try:
        asyncio.run(while_alive())
    finally:
        holder.kill()
        holder.wait(10)
    asyncio.run(after_the_kill())
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM run_locks").fetchone() == (0,)
    assert list((tmp_path / "t.db.instances").iterdir()) == []


def test_a_store_open_when_the_holder_dies_takes_over_and_stop_says_no_run(tmp_path: Path) -> None:
    path = tmp_path / "t.db"

    async def main() -> None:
        store = await open_store(path)
        try:
            holder = hold_a_lock(path)
            assert await store.acquire_run_lock("held", "mine", 30) is None
            holder.kill()
            holder.wait(10)
            # /stop for the dead run: no run is going, and the thread is free.
            assert await store.request_stop("held") is False
            assert await store.acquire_run_lock("held", "mine", 30) is not None
        finally:
            await store.close()

    asyncio.run(main())


def test_another_process_cannot_retake_a_live_lock_with_the_same_run_id(tmp_path: Path) -> None:
    """Run ids come from clients: a run id reused on another process sharing the file does
    not take the live holder's lock (it did: a lock was "already ours" by run id)."""
    path = tmp_path / "t.db"
    holder = hold_a_lock(path)

    async def main() -> None:
        store = await open_store(path)
        try:
            assert await store.acquire_run_lock("held", "run-of-the-dead", 30) is None
            assert await store.request_stop("held", "run-of-the-dead") is True  # it is alive
            with sqlite3.connect(path) as db:
                [(owner,)] = db.execute("SELECT owner FROM run_locks WHERE thread_id = 'held'")
            assert owner != store._instances.id  # still the holder's
        finally:
            await store.close()

    try:
        asyncio.run(main())
        assert holder.poll() is None
    finally:
        holder.kill()
        holder.wait(10)


def test_a_file_from_before_lock_owners_and_history_agents_opens(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE events (thread_id TEXT NOT NULL, seq INTEGER NOT NULL,
                run_id TEXT NOT NULL, event TEXT NOT NULL, PRIMARY KEY (thread_id, seq));
            CREATE TABLE run_locks (thread_id TEXT PRIMARY KEY, run_id TEXT NOT NULL,
                expires_at REAL NOT NULL, stop_requested INTEGER NOT NULL DEFAULT 0);
            INSERT INTO events VALUES ('t', 1, 'old-run', '{"type":"RUN_STARTED"}');
            INSERT INTO run_locks VALUES ('t', 'old-run', 1.0, 0);
        """)

    async def main() -> None:
        store = await open_store(path)
        try:
            # An old event has no agent: every agent's replay keeps it (nothing lost).
            [old] = await store.get_events("t", agent="demo")  # type: ignore[call-arg]
            assert (old.run_id, old.agent) == ("old-run", None)
            await store.append_events("t", "new-run", [{"type": "X"}], agent="other")  # type: ignore[call-arg]
            assert [e.run_id for e in await store.get_events("t", agent="demo")] == ["old-run"]  # type: ignore[call-arg]
            assert await store.acquire_run_lock("t", "new-run", 30) is not None  # expired row
        finally:
            await store.close()

    asyncio.run(main())
