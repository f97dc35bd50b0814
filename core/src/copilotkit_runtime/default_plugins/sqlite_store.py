"""The SQLite store: embedded, survives restarts, needs no server.

Database work happens on two threads of the store's own, never on the event loop: a *writer*
(one connection; every write) and a *reader* (a second connection; every read, which WAL lets
run beside a write). Each thread takes all the calls queued since it last looked and runs them
as one batch: the writer in one transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``, one savepoint
per call so a failing call undoes only its own changes), and hands the results back to the event
loop in one wake-up. A write's ``await`` returns after its batch's ``COMMIT``. With
``journal_mode=WAL`` and ``synchronous=NORMAL`` a commit is not synced to disk at once: it
survives the process crashing (the crash-restart tests), not the machine losing power before the
next checkpoint. Checkpoints (copying the WAL into the database file, which syncs both) run on a
third connection every half second after writes, never inside a commit. Appends are one
``INSERT ... SELECT FROM json_each(?)`` and history reads one aggregated row, so a call costs
the thread a few statement steps, not one per event (each step gives up and takes back the
interpreter lock, a wait when the event loop is busy: bench/README.md "Store operations").
Run locks live in a table with a wall-clock expiry, so two
processes sharing one database file also exclude each other; a stop request is a flag on the
lock row, seen by the holder at once in-process and within ``poll_interval`` from another one.

**Dead holders.** Each open store is an *instance* with an id, and holds an exclusive OS lock
(``flock``) on its own file ``<database>.instances/<id>.lock`` for as long as it lives; the
kernel drops that lock when the process dies, ``kill -9`` included. Every lock row names its
instance, so a lock whose instance's file can be locked by someone else belongs to a dead
process: it is cleared on open, and taken over at once by the next run on its thread (and a
stop request for it says no run is going). A live holder's lock is never taken before it
expires. Without ``fcntl`` (Windows) locks only expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import Field

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: locks only expire
    fcntl = None  # type: ignore[assignment]

from copilotkit_runtime.errors import StoreError, VersionConflictError
from copilotkit_runtime.hookspecs import hookimpl
from copilotkit_runtime.stores import (
    LocalStopSignals,
    RunLease,
    StateStore,
    StoredEvent,
    StoreOptions,
    ThreadInfo,
    ThreadPage,
    ThreadRecord,
    decode_cursor,
    encode_cursor,
)

T = TypeVar("T")

_dumps = json.JSONEncoder(separators=(",", ":")).encode

#: seconds between checkpoints of the WAL (when something was written)
CHECKPOINT_EVERY = 0.5

log = logging.getLogger("copilotkit_runtime.sqlite_store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS threads (
    thread_id TEXT NOT NULL,
    agent TEXT NOT NULL,
    state TEXT NOT NULL,
    messages TEXT NOT NULL,
    version INTEGER NOT NULL,
    run_id TEXT,
    node_name TEXT,
    updated_at REAL NOT NULL,
    expires_at REAL,
    PRIMARY KEY (thread_id, agent)
);
CREATE TABLE IF NOT EXISTS events (
    thread_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    run_id TEXT NOT NULL,
    event TEXT NOT NULL,
    agent TEXT,
    PRIMARY KEY (thread_id, seq)
);
CREATE TABLE IF NOT EXISTS run_locks (
    thread_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    expires_at REAL NOT NULL,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    token TEXT
);
"""

#: ``PRAGMA user_version`` of a database this code wrote (0: the first release, unversioned).
SCHEMA_VERSION = 1

# Version 1: who owns each thread, its name and dates (thread lists per user).
MIGRATION_1 = """
CREATE TABLE IF NOT EXISTS thread_info (
    thread_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    agent TEXT NOT NULL,
    name TEXT,
    archived INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS thread_info_by_owner
    ON thread_info (owner, created_at DESC, thread_id DESC);
"""

INFO_COLUMNS = "thread_id, owner, agent, name, archived, created_at, updated_at"


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a database written by any earlier release up to :data:`SCHEMA_VERSION`, in one
    transaction (a crash half-way leaves the old version, migrated again next time)."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(f"The SQLite store was written by a newer copilotkit-runtime (schema "
                         f"version {version}, this one knows {SCHEMA_VERSION}): upgrade.")
    if version == SCHEMA_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        if version < 1:
            for statement in MIGRATION_1.split(";"):
                if statement.strip():
                    db.execute(statement)
            _backfill_info(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _backfill_info(db: sqlite3.Connection) -> None:
    """Threads written before thread info existed belong to the anonymous owner (the only one
    there was), named after their first user message, dated by their records."""
    from copilotkit_runtime.threads import ANONYMOUS_OWNER, thread_name

    rows = db.execute(
        "SELECT thread_id, agent, messages, updated_at FROM threads "
        "WHERE thread_id NOT IN (SELECT thread_id FROM thread_info) "
        "ORDER BY thread_id, updated_at").fetchall()
    first: dict[str, list[Any]] = {}
    for thread_id, agent, messages, updated_at in rows:
        entry = first.setdefault(thread_id, [agent, None, updated_at, updated_at])
        if entry[1] is None:
            with contextlib.suppress(ValueError):
                entry[1] = thread_name(json.loads(messages))
        entry[3] = max(entry[3], updated_at)
    db.executemany(
        f"INSERT INTO thread_info ({INFO_COLUMNS}) VALUES (?,?,?,?,0,?,?)",
        [(tid, ANONYMOUS_OWNER, agent, name, created, updated)
         for tid, (agent, name, created, updated) in first.items()])


def _info(row: Any) -> ThreadInfo:
    return ThreadInfo(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6])


def _add_lock_owner(db: sqlite3.Connection) -> None:
    """Files written before lock rows named their instance and lease token, and events their
    agent, get the (nullable) columns."""
    for table, column in (("run_locks", "owner"), ("run_locks", "token"), ("events", "agent")):
        columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in columns:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")


class _Instances:
    """This store instance's liveness lock, and the test of another instance's.

    ``<database>.instances/<id>.lock`` is held with an exclusive ``flock`` while the instance
    is open. Another instance is dead when its file exists and can be locked.
    """

    def __init__(self, db_path: Path) -> None:
        self.folder = db_path.with_name(db_path.name + ".instances")
        self.id = uuid.uuid4().hex
        self._fd: int | None = None
        self._dead: set[str] = set()

    @property
    def supported(self) -> bool:
        return fcntl is not None

    def hold(self) -> None:
        if fcntl is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        # Locked before it gets its name: nobody can see the file unlocked and call it dead.
        temporary = self.folder / f".{self.id}.tmp"
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.replace(temporary, self.folder / f"{self.id}.lock")
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.folder / f"{self.id}.lock")
            os.close(self._fd)
            self._fd = None

    def forget(self, owner: str) -> None:
        """Remove a dead instance's file (once its lock rows are gone)."""
        with contextlib.suppress(OSError):
            os.unlink(self.folder / f"{owner}.lock")

    def dead_files(self) -> list[str]:
        """Instances whose files are left by dead processes."""
        try:
            names = [p.stem for p in self.folder.glob("*.lock")]
        except OSError:
            return []
        return [name for name in names if self.is_dead(name)]

    def is_dead(self, owner: str | None) -> bool:
        """Whether ``owner`` is an instance known to have died (never this one)."""
        if fcntl is None or not owner or owner == self.id or not _INSTANCE_ID.fullmatch(owner):
            return False
        if owner in self._dead:
            return True
        path = self.folder / f"{owner}.lock"
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            return False  # unknown (another host, or already cleared): let the lock expire
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # held: alive
        else:
            self._dead.add(owner)
            return True
        finally:
            os.close(fd)


_INSTANCE_ID = re.compile(r"[0-9a-f]{32}")

_Job = tuple[Callable[[sqlite3.Connection], Any], "asyncio.Future[Any]", bool]


class _Worker:
    """A thread of the store's own with one connection. Calls queued from the event loop run in
    batches: everything queued since the thread last looked, in order; a writer's batch in one
    transaction with a savepoint per call. Results go back to each loop in one callback."""

    def __init__(self, name: str, connect: Callable[[], sqlite3.Connection], *,
                 writer: bool) -> None:
        self._connect = connect
        self._writer = writer
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._ready: asyncio.Future[None] | None = None

    async def start(self) -> None:
        self._ready = asyncio.get_running_loop().create_future()
        self._thread.start()
        await self._ready

    def submit(self, fn: Callable[[sqlite3.Connection], T], *, alone: bool = False
               ) -> asyncio.Future[T]:
        """Queue ``fn(db)``; ``alone``: outside any batch transaction (it manages its own)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._jobs.put((fn, future, alone))
        return future

    async def stop(self) -> None:
        """Run what is queued, close the connection, end the thread."""
        done = self.submit(lambda db: None, alone=True)
        self._jobs.put(None)
        with contextlib.suppress(Exception):
            await done
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)

    def _main(self) -> None:
        ready = self._ready
        assert ready is not None
        try:
            db = self._connect()
        except BaseException as exc:  # handed to open()
            _deliver([(ready, None, exc)])
            return
        _deliver([(ready, None, None)])
        try:
            get, more = self._jobs.get, self._jobs.get_nowait
            while True:
                job: _Job | None = get()
                jobs: list[_Job] = []
                while job is not None:
                    jobs.append(job)
                    try:
                        job = more()
                    except queue.Empty:
                        break
                stopping = job is None
                if jobs:
                    try:
                        results = self._run_batch(db, jobs)
                    except BaseException as exc:  # never leave a caller waiting
                        results = [(future, None, exc) for _, future, _ in jobs]
                    _deliver(results)
                if stopping:
                    return
        finally:
            db.close()

    def _run_batch(self, db: sqlite3.Connection, jobs: list[_Job]
                   ) -> list[tuple[asyncio.Future[Any], Any, BaseException | None]]:
        out: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        group: list[_Job] = []
        for job in jobs:
            if job[2]:
                out += self._run_group(db, group)
                group = []
                out.append(_call(db, job))
            else:
                group.append(job)
        return out + self._run_group(db, group)

    def _run_group(self, db: sqlite3.Connection, jobs: list[_Job]
                   ) -> list[tuple[asyncio.Future[Any], Any, BaseException | None]]:
        if not jobs:
            return []
        if not self._writer:
            return [_call(db, job) for job in jobs]
        out: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            if len(jobs) == 1:  # the usual case when the store is not busy: no savepoint
                fn, future, _ = jobs[0]
                try:
                    out.append((future, fn(db), None))
                except BaseException as exc:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    return [(future, None, exc)]
            else:
                for fn, future, _ in jobs:
                    db.execute("SAVEPOINT call")
                    try:
                        result = fn(db)
                    except BaseException as exc:  # the caller's, undone alone
                        db.execute("ROLLBACK TO call")  # raises if SQLite gave up the transaction
                        db.execute("RELEASE call")
                        out.append((future, None, exc))
                    else:
                        db.execute("RELEASE call")
                        out.append((future, result, None))
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            # Nothing of the batch was written: every call fails (its own error if it had one).
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            errors = {id(future): error for future, _, error in out}
            return [(future, None, errors.get(id(future)) or exc) for _, future, _ in jobs]
        return out


def _call(db: sqlite3.Connection, job: _Job) -> tuple[asyncio.Future[Any], Any, BaseException | None]:
    fn, future, _ = job
    try:
        return future, fn(db), None
    except BaseException as exc:  # handed to the caller
        return future, None, exc


def _deliver(results: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    """Settle the futures, from the worker thread: one callback per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
    for item in results:
        by_loop.setdefault(item[0].get_loop(), []).append(item)
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_settle, items)


def _settle(items: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in items:
        if future.done():  # cancelled by its caller
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


class SQLiteOptions(StoreOptions):
    path: str = Field("threads.sqlite3", description="database file, relative to the data_dir")
    busy_timeout_ms: int = Field(5000, ge=0, description="how long a write waits for a lock")
    poll_interval: float = Field(0.5, gt=0, description="how often a run checks for a remote stop")


class _SQLiteLease(RunLease):
    def __init__(self, store: SQLiteStore, thread_id: str, run_id: str, ttl: float,
                 token: str) -> None:
        super().__init__(thread_id, run_id, ttl)
        self._store = store
        self._released = False
        #: this acquisition's token (a client may reuse a run id; the token is not reused)
        self.token = token

    async def renew(self) -> bool:
        def renew(db: sqlite3.Connection) -> bool:
            cur = db.execute(
                "UPDATE run_locks SET expires_at = ? WHERE thread_id = ? AND token = ?",
                (time.time() + self.ttl, self.thread_id, self.token))
            return cur.rowcount == 1
        return await self._store._run(renew)

    async def release(self) -> None:
        if self._released:
            return
        self._released = True
        self._store._signals.discard(self.thread_id, self.run_id)
        await self._store._run(lambda db: db.execute(
            "DELETE FROM run_locks WHERE thread_id = ? AND token = ?", (self.thread_id, self.token)))

    async def wait_for_stop(self) -> None:
        local = self._store._signals.event(self.thread_id, self.run_id)
        interval = self._store.options.poll_interval
        while True:
            try:
                await asyncio.wait_for(local.wait(), timeout=interval)
                return
            except TimeoutError:
                pass
            flagged = await self._store._read(lambda db: db.execute(
                "SELECT stop_requested FROM run_locks WHERE thread_id = ? AND run_id = ?",
                (self.thread_id, self.run_id)).fetchone())
            if flagged is not None and flagged[0]:
                return


class SQLiteStore(StateStore[SQLiteOptions]):
    Options = SQLiteOptions
    history_by_agent = True

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.path = Path(self.options.path)
        self._writer: _Worker | None = None
        self._reader: _Worker | None = None
        self._checkpointer: _Worker | None = None
        self._checkpointing: asyncio.Task[None] | None = None
        self._writes = 0  # calls sent to the writer (the checkpoint task looks for new ones)
        self._json_each = True  # whether SQLite has json_each (3.38+, or built with JSON1)
        self._signals = LocalStopSignals()
        self._instances = _Instances(self.path)

    def configure(self, settings: Any) -> None:
        if not self.path.is_absolute():
            self.path = settings.data_path / self.path

    def describe(self) -> dict[str, Any]:
        return {"type": self.type_name or "sqlite", "path": str(self.path)}

    def _connection(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None,
                             cached_statements=256)
        db.execute(f"PRAGMA busy_timeout = {int(self.options.busy_timeout_ms)}")
        return db

    async def open(self) -> None:
        if self._writer is not None:
            return

        def connect_writer() -> sqlite3.Connection:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = self._connection()
            try:
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
                # Checkpoints (which sync the files) run on a connection of their own, never in
                # a commit: see _checkpoints.
                db.execute("PRAGMA wal_autocheckpoint = 0")
                db.executescript(SCHEMA)
                _add_lock_owner(db)
                _migrate(db)
                try:
                    db.execute("SELECT count(*) FROM json_each('[1]')").fetchone()
                except sqlite3.OperationalError:
                    self._json_each = False
            except BaseException:
                db.close()
                raise
            return db

        def connect_reader() -> sqlite3.Connection:
            db = self._connection()
            db.execute("PRAGMA query_only = 1")
            return db

        def connect_checkpointer() -> sqlite3.Connection:
            db = self._connection()
            db.execute("PRAGMA synchronous = NORMAL")
            return db

        writer = _Worker("copilotkit-sqlite-writer", connect_writer, writer=True)
        reader = _Worker("copilotkit-sqlite-reader", connect_reader, writer=False)
        checkpointer = _Worker("copilotkit-sqlite-checkpoint", connect_checkpointer, writer=False)
        try:
            await writer.start()
            try:
                await reader.start()
                try:
                    await checkpointer.start()
                except BaseException:
                    await reader.stop()
                    raise
                self._instances = _Instances(self.path)
                self._instances.hold()
            except BaseException:
                await writer.stop()
                raise
        except StoreError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"Cannot open the SQLite store at {self.path}: {exc}") from exc
        self._writer, self._reader, self._checkpointer = writer, reader, checkpointer
        self._checkpointing = asyncio.get_running_loop().create_task(
            self._checkpoints(checkpointer), name="copilotkit-sqlite-checkpoints")
        await self._run(self._clear_dead_locks)

    async def _checkpoints(self, checkpointer: _Worker) -> None:
        """Copy the WAL into the database every ``CHECKPOINT_EVERY`` seconds after writes, on
        the checkpoint connection (``PASSIVE``: writers and readers go on meanwhile). SQLite's
        automatic checkpoint would run inside the commit that filled the WAL, and sync the
        files while that commit's callers wait."""
        done = 0
        while True:
            await asyncio.sleep(CHECKPOINT_EVERY)
            if self._writes == done:
                continue
            done = self._writes
            try:
                await checkpointer.submit(
                    lambda db: db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
            except Exception as exc:  # e.g. the disk is full: writes say so themselves
                log.warning("SQLite checkpoint of %s failed (tried again after the next "
                            "writes): %s", self.path, exc)

    def _clear_dead_locks(self, db: sqlite3.Connection) -> int:
        """Delete the lock rows of dead instances and expired ones; how many went."""
        owners = [row[0] for row in db.execute("SELECT DISTINCT owner FROM run_locks")]
        dead = {owner for owner in owners if self._instances.is_dead(owner)}
        cleared = sum(self._forget(db, owner) for owner in dead | set(self._instances.dead_files()))
        cleared += db.execute("DELETE FROM run_locks WHERE expires_at <= ?",
                              (time.time(),)).rowcount
        return cleared

    def _forget(self, db: sqlite3.Connection, owner: str) -> int:
        """Drop every lock row of the dead instance ``owner``, then its file."""
        count = db.execute("DELETE FROM run_locks WHERE owner = ?", (owner,)).rowcount
        self._instances.forget(owner)
        return int(count)

    async def close(self) -> None:
        task, self._checkpointing = self._checkpointing, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        workers = [w for w in (self._checkpointer, self._reader, self._writer) if w is not None]
        self._reader = self._writer = self._checkpointer = None
        for worker in workers:
            await worker.stop()
        self._instances.release()

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(db)`` on the writer, inside its batch's transaction (no BEGIN/COMMIT of its own)."""
        self._writes += 1
        return await self._on(self._writer, fn)

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(db)`` on the reader's connection (it sees every write whose await returned)."""
        return await self._on(self._reader, fn)

    async def _on(self, worker: _Worker | None, fn: Callable[[sqlite3.Connection], T]) -> T:
        if worker is None:
            raise StoreError("The SQLite store is not open.")
        try:
            return await worker.submit(fn)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store error ({self.path}): {exc}") from exc

    async def ping(self) -> None:
        await self._read(lambda db: db.execute("SELECT 1").fetchone())

    # -- threads -----------------------------------------------------------------------------

    async def get_thread(self, thread_id: str, agent: str) -> ThreadRecord | None:
        def get(db: sqlite3.Connection) -> Any:
            return db.execute(
                "SELECT state, messages, version, run_id, node_name, updated_at FROM threads "
                "WHERE thread_id = ? AND agent = ? AND (expires_at IS NULL OR expires_at > ?)",
                (thread_id, agent, time.time())).fetchone()
        row = await self._read(get)
        if row is None:
            return None
        return ThreadRecord(thread_id, agent, json.loads(row[0]), json.loads(row[1]), row[2],
                            row[3], row[4], row[5])

    async def save_thread(self, record: ThreadRecord, *, expected_version: int | None = None,
                          ttl: float | None = None) -> ThreadRecord:
        state = json.dumps(record.state, separators=(",", ":"))
        messages = json.dumps(record.messages, separators=(",", ":"))

        def save(db: sqlite3.Connection) -> ThreadRecord:
            now = time.time()
            row = db.execute(
                "SELECT version, expires_at FROM threads WHERE thread_id = ? AND agent = ?",
                (record.thread_id, record.agent)).fetchone()
            live = row is not None and (row[1] is None or row[1] > now)
            current = row[0] if live else 0
            if expected_version is not None and expected_version != current:
                raise VersionConflictError(
                    f"Thread '{record.thread_id}' (agent '{record.agent}') is at version "
                    f"{current}, not {expected_version}.")
            version = current + 1
            db.execute(
                "INSERT INTO threads (thread_id, agent, state, messages, version, run_id, "
                "node_name, updated_at, expires_at) VALUES (?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT (thread_id, agent) DO UPDATE SET state=excluded.state, "
                "messages=excluded.messages, version=excluded.version, run_id=excluded.run_id, "
                "node_name=excluded.node_name, updated_at=excluded.updated_at, "
                "expires_at=excluded.expires_at",
                (record.thread_id, record.agent, state, messages, version, record.run_id,
                 record.node_name, now, now + ttl if ttl else None))
            return record.evolve(version=version, updated_at=now)

        return await self._run(save)

    async def delete_thread(self, thread_id: str, agent: str | None = None) -> None:
        def delete(db: sqlite3.Connection) -> None:
            if agent is not None:
                db.execute("DELETE FROM threads WHERE thread_id = ? AND agent = ?", (thread_id, agent))
                return
            db.execute("DELETE FROM threads WHERE thread_id = ?", (thread_id,))
            db.execute("DELETE FROM events WHERE thread_id = ?", (thread_id,))
            db.execute("DELETE FROM thread_info WHERE thread_id = ?", (thread_id,))
        await self._run(delete)

    # -- thread info -------------------------------------------------------------------------

    async def claim_thread(self, info: ThreadInfo) -> ThreadInfo:
        def claim(db: sqlite3.Connection) -> ThreadInfo:
            now = time.time()
            db.execute(
                f"INSERT INTO thread_info ({INFO_COLUMNS}) VALUES (?,?,?,?,?,?,?) "
                "ON CONFLICT (thread_id) DO NOTHING",
                (info.thread_id, info.owner, info.agent, info.name, int(info.archived),
                 info.created_at or now, info.updated_at or now))
            return _info(db.execute(f"SELECT {INFO_COLUMNS} FROM thread_info WHERE thread_id = ?",
                                    (info.thread_id,)).fetchone())
        return await self._run(claim)

    async def get_thread_info(self, thread_id: str) -> ThreadInfo | None:
        row = await self._read(lambda db: db.execute(
            f"SELECT {INFO_COLUMNS} FROM thread_info WHERE thread_id = ?", (thread_id,)).fetchone())
        return None if row is None else _info(row)

    async def update_thread_info(self, thread_id: str, *, name: str | None = None,
                                 archived: bool | None = None,
                                 updated_at: float | None = None) -> ThreadInfo | None:
        def update(db: sqlite3.Connection) -> Any:
            db.execute(
                "UPDATE thread_info SET name = COALESCE(?, name), "
                "archived = COALESCE(?, archived), updated_at = COALESCE(?, updated_at) "
                "WHERE thread_id = ?",
                (name, None if archived is None else int(archived), updated_at, thread_id))
            return db.execute(f"SELECT {INFO_COLUMNS} FROM thread_info WHERE thread_id = ?",
                              (thread_id,)).fetchone()
        row = await self._run(update)
        return None if row is None else _info(row)

    async def list_threads(self, owner: str, *, agent: str | None = None, limit: int = 50,
                           cursor: str | None = None,
                           include_archived: bool = False) -> ThreadPage:
        after = decode_cursor(cursor) if cursor is not None else None
        limit = max(1, int(limit))
        where, args = ["owner = ?"], [owner]
        if agent is not None:
            where.append("agent = ?")
            args.append(agent)
        if not include_archived:
            where.append("archived = 0")
        if after is not None:
            where.append("(created_at < ? OR (created_at = ? AND thread_id < ?))")
            args += [after[0], after[0], after[1]]  # type: ignore[list-item]
        sql = (f"SELECT {INFO_COLUMNS} FROM thread_info WHERE {' AND '.join(where)} "
               "ORDER BY created_at DESC, thread_id DESC LIMIT ?")
        rows = await self._read(lambda db: db.execute(sql, (*args, limit + 1)).fetchall())
        infos = [_info(row) for row in rows[:limit]]
        return ThreadPage(infos, encode_cursor(infos[-1]) if len(rows) > limit else None)

    # -- history -----------------------------------------------------------------------------

    async def append_events(self, thread_id: str, run_id: str,
                            events: Sequence[dict[str, Any]], *, agent: str | None = None) -> None:
        if not events:
            return
        payloads = [_dumps(e) for e in events]
        # One statement inserts them all (json_each yields each string as the text written).
        batch = json.dumps(payloads) if self._json_each else ""

        def append(db: sqlite3.Connection) -> None:
            last = db.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE thread_id = ?",
                              (thread_id,)).fetchone()[0]
            if batch:
                db.execute(
                    "INSERT INTO events (thread_id, seq, run_id, event, agent) "
                    "SELECT ?, ? + key + 1, ?, value, ? FROM json_each(?)",
                    (thread_id, last, run_id, agent, batch))
            else:
                db.executemany(
                    "INSERT INTO events (thread_id, seq, run_id, event, agent) VALUES (?,?,?,?,?)",
                    [(thread_id, last + i + 1, run_id, p, agent) for i, p in enumerate(payloads)])
        await self._run(append)

    async def get_events(self, thread_id: str, *, after: int = 0, limit: int | None = None,
                         agent: str | None = None) -> list[StoredEvent]:
        where = "thread_id = ? AND seq > ?" + ("" if agent is None else
                                               " AND (agent = ? OR agent IS NULL)")
        args = (thread_id, after) + (() if agent is None else (agent,))
        args += (-1 if limit is None else limit,)
        if not self._json_each:
            rows = await self._read(lambda db: db.execute(
                f"SELECT seq, run_id, event, agent FROM events WHERE {where} ORDER BY seq LIMIT ?",
                args).fetchall())
            return [StoredEvent(seq, run_id, json.loads(event), who)
                    for seq, run_id, event, who in rows]
        # One row holding them all (one statement step, one json.loads of the events' texts).
        seqs, runs, texts, agents = await self._read(lambda db: db.execute(
            "SELECT json_group_array(seq), json_group_array(run_id), "
            "'[' || group_concat(event, ',') || ']', json_group_array(agent) FROM "
            f"(SELECT seq, run_id, event, agent FROM events WHERE {where} ORDER BY seq LIMIT ?)",
            args).fetchone())
        if texts is None:
            return []
        rows = list(zip(json.loads(seqs), json.loads(runs), json.loads(texts), json.loads(agents),
                        strict=True))
        if any(rows[i][0] > rows[i + 1][0] for i in range(len(rows) - 1)):
            rows.sort(key=lambda row: row[0])  # SQLite does not promise the aggregate's order
        return [StoredEvent(seq, run_id, event, who) for seq, run_id, event, who in rows]

    # -- run locks ---------------------------------------------------------------------------

    async def acquire_run_lock(self, thread_id: str, run_id: str, ttl: float) -> RunLease | None:
        token = uuid.uuid4().hex

        def acquire(db: sqlite3.Connection) -> bool:
            now = time.time()
            row = db.execute("SELECT run_id, expires_at, owner FROM run_locks "
                             "WHERE thread_id = ?", (thread_id,)).fetchone()
            # held, whatever its run id (a client may reuse the running run's id, from
            # this process or another one on the same file)
            if row is not None and row[1] > now and not self._instances.is_dead(row[2]):
                return False
            db.execute(
                "INSERT INTO run_locks (thread_id, run_id, expires_at, stop_requested, owner, "
                "token) VALUES (?,?,?,0,?,?) ON CONFLICT (thread_id) DO UPDATE SET "
                "run_id=excluded.run_id, expires_at=excluded.expires_at, stop_requested=0, "
                "owner=excluded.owner, token=excluded.token",
                (thread_id, run_id, now + ttl, self._instances.id, token))
            return True
        if not await self._run(acquire):
            return None
        return _SQLiteLease(self, thread_id, run_id, ttl, token)

    async def request_stop(self, thread_id: str, run_id: str | None = None) -> bool:
        def flag(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT run_id, owner FROM run_locks WHERE thread_id = ? AND "
                             "expires_at > ?", (thread_id, time.time())).fetchone()
            if row is not None and self._instances.is_dead(row[1]):
                # Its process died: no run is going, and the thread is free from now on.
                self._forget(db, row[1])
                return None
            if row is None or (run_id is not None and row[0] != run_id):
                return None
            db.execute("UPDATE run_locks SET stop_requested = 1 WHERE thread_id = ? AND run_id = ?",
                       (thread_id, row[0]))
            return str(row[0])
        holder = await self._run(flag)
        if holder is None:
            return False
        self._signals.fire(thread_id, holder)
        return True


@hookimpl(trylast=True)
def register_stores(registry: Any) -> None:
    registry.add("sqlite", SQLiteStore)
