"""The PostgreSQL store: threads, history, run locks and the live relay in one database.

Several runtime instances pointed at one database behave as one:

* threads are rows with a ``version`` column; a save with ``expected_version`` is a single
  conditional ``INSERT ... ON CONFLICT`` / ``UPDATE``, so the compare-and-set holds between
  processes;
* history rows get their sequence numbers from a per-thread counter row, taken under its row
  lock, so a reader's cursor never skips an event committed late;
* a run lock is a row with an expiry measured by the server's clock (``clock_timestamp()``);
  the holder renews it. Each store instance (a new id at every start) keeps a heartbeat row in
  ``instances`` with a short expiry (``instance_ttl_seconds``) and each lock row names its
  instance and a token: a lock whose instance stopped heartbeating (its process was killed) is
  free as soon as that row has expired, whatever is left of the lock's own expiry, and a stop
  request for it says there is no run;
* a stop request sets the lock row's flag and sends ``NOTIFY``: the instance holding the run
  hears it at once on its ``LISTEN`` connection; while that connection is down, runs poll their
  flag, and flags are re-read after every reconnection;
* the live relay stores every batch of a run as a row (the rows are the truth, so a follower
  that connects late still gets the run from its start) and sends ``NOTIFY`` to wake followers;
  each run start gets a relay nonce of its own, so a run reusing the previous run's id does not
  continue that run's relay;
  a follower also re-reads every ``live_poll_interval`` seconds, so a lost notification only
  delays it.

Writes are never retried blindly (a write whose reply was lost may have been applied); reads
are retried once after a connection error. Every failure is a ``StoreError`` naming the
database with its password replaced by ``***``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
import weakref
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import psycopg
from psycopg.rows import tuple_row
from psycopg.types.json import Json
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from copilotkit_runtime.errors import StoreError, VersionConflictError
from copilotkit_runtime.stores import (
    LiveBatch,
    LocalStopSignals,
    RunLease,
    StateStore,
    StoredEvent,
    ThreadInfo,
    ThreadPage,
    ThreadRecord,
    decode_cursor,
    encode_cursor,
)

from .options import PostgresOptions, redact_url, url_password
from .schema import migrate

log = logging.getLogger("copilotkit_store_postgres")

_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout, OSError, TimeoutError)
#: the above, or any other error of the database (a failed statement)
_STORE_ERRORS: tuple[type[BaseException], ...] = (*_CONNECTION_ERRORS, psycopg.Error)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _info(row: Any) -> ThreadInfo:
    thread_id, owner, agent, name, archived, created_at, updated_at = row
    return ThreadInfo(thread_id, owner, agent, name, bool(archived), float(created_at),
                      float(updated_at))


def _json(value: Any) -> Json:
    # ``json``, not ``jsonb``: kept as written (key order, and ``\u0000``, which jsonb refuses)
    return Json(value, dumps=_dumps)


class _PostgresLease(RunLease):
    def __init__(self, store: PostgresStore, thread_id: str, run_id: str, ttl: float,
                 valid_until: float, token: str) -> None:
        super().__init__(thread_id, run_id, ttl)
        self._store = store
        self._valid_until = valid_until
        self._released = False
        #: this acquisition's token (a run id may be reused; the token is not)
        self.token = token

    async def renew(self) -> bool:
        """Compare-and-extend. A connection error is retried until the lease would have expired
        anyway (it is still ours until then); after that it raises ``StoreError``."""
        store = self._store
        delay = 0.05
        what = f"renew the run lock of thread '{self.thread_id}'"
        while True:
            sent = time.monotonic()
            try:
                row = await store._fetchone(store._sql["renew"],
                                            (self.ttl, self.thread_id, self.token), what=what)
            except StoreError:
                left = self._valid_until - time.monotonic()
                if left <= 0:
                    raise
                await asyncio.sleep(min(delay, left))
                delay = min(delay * 2, 0.5)
                continue
            if row is not None:
                # Others may take the lock once this instance stops heartbeating, whatever
                # the lock's own expiry.
                self._valid_until = min(sent + self.ttl, store._alive_until)
                return True
            return False

    async def release(self) -> None:
        if self._released:
            return
        self._released = True
        store = self._store
        store._forget(self.thread_id, self.run_id)
        await store._execute(store._sql["release"], (self.thread_id, self.token),
                             what=f"release the run lock of thread '{self.thread_id}'")

    async def wait_for_stop(self) -> None:
        store = self._store
        local = store._signals.event(self.thread_id, self.run_id)
        interval = store.options.stop_poll_interval
        while True:
            try:
                await asyncio.wait_for(local.wait(), timeout=interval)
                return
            except TimeoutError:
                pass
            if store._listening:
                continue  # notifications arrive; flags are re-read after every reconnection
            try:
                row = await store._fetchone(store._sql["stop_flag"],
                                            (self.thread_id, self.run_id), what="read a stop flag")
            except StoreError:
                continue  # renew() notices a database that stays away
            if row is not None and row[0]:
                return


class PostgresStore(StateStore):
    """Threads, history, run locks and the live relay in PostgreSQL."""

    Options = PostgresOptions
    options: PostgresOptions
    supports_live_relay = True
    #: events name the agent of their run (rows from before schema version 3 do not)
    history_by_agent = True
    #: the live relay names the run's agent (schema version 5)
    live_relay_by_agent = True
    #: how long a follower waits for a run whose lock is gone to publish its final batch
    live_gone_grace: float = 3.0
    #: a pooled connection idle for longer than this is checked before use
    check_idle_after: float = 1.0
    #: for this long after a connection error, every pooled connection is checked before use
    check_after_trouble: float = 30.0

    def __init__(self, options: PostgresOptions | None = None) -> None:
        super().__init__(options)
        self._pool: AsyncConnectionPool | None = None
        self._listener: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        #: this store instance (one per process, new at every start): its row in ``instances``
        #: says it is alive, and its leases name it
        self.instance_id = uuid.uuid4().hex
        #: monotonic time until which this instance's heartbeat row certainly stands
        self._alive_until = 0.0
        #: (thread, run) -> the token of this instance's lease, and the relay nonce of the
        #: runs it relays
        self._tokens: dict[tuple[str, str], str] = {}
        self._relaying: dict[tuple[str, str], str] = {}
        self._listening = False
        self._closing = False
        self._migrated = False
        self._signals = LocalStopSignals()
        self._local_runs: set[tuple[str, str]] = set()
        # thread -> events set on a live-relay notification, one per follower
        self._live_waiters: dict[str, set[asyncio.Event]] = {}
        self._idle_since: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self._trouble_at = -1e9
        self._where = redact_url(self.options.url)
        self._password = url_password(self.options.url)
        opts = self.options
        self._schema = opts.schema_name
        self._prefix = opts.table_prefix
        channel = f"{opts.schema_name}_{opts.table_prefix}signals"
        self._channel = channel[:63]
        self._sql = self._statements()

    # -- naming --------------------------------------------------------------------------------

    def _t(self, name: str) -> str:
        return f'"{self._schema}"."{self._prefix}{name}"'

    def _statements(self) -> dict[str, str]:
        threads, events, seqs = self._t("threads"), self._t("events"), self._t("event_seq")
        locks, live, batches = self._t("locks"), self._t("live"), self._t("live_batches")
        info, instances = self._t("thread_info"), self._t("instances")
        # a lock row (alias L) whose instance stopped heartbeating; rows written before schema
        # version 4 name no instance and count as alive until they expire
        dead = (f"(L.instance_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {instances} i "
                "WHERE i.instance_id = L.instance_id AND i.expires_at > clock_timestamp()))")
        held = f"(L.expires_at > clock_timestamp() AND NOT {dead})"
        info_cols = "thread_id, owner, agent, name, archived, created_at, updated_at"
        alive = "(expires_at IS NULL OR expires_at > clock_timestamp())"
        cols = "thread_id, agent, state, messages, version, run_id, node_name, updated_at, expires_at"
        vals = ("%(t)s, %(a)s, %(state)s, %(messages)s, 1, %(run)s, %(node)s, %(now)s, "
                "CASE WHEN %(ttl)s::float8 IS NULL THEN NULL "
                "ELSE clock_timestamp() + make_interval(secs => %(ttl)s::float8) END")
        sets = ("state = EXCLUDED.state, messages = EXCLUDED.messages, run_id = EXCLUDED.run_id, "
                "node_name = EXCLUDED.node_name, updated_at = EXCLUDED.updated_at, "
                "expires_at = EXCLUDED.expires_at")
        expired = f"({threads}.expires_at IS NOT NULL AND {threads}.expires_at <= clock_timestamp())"
        return {
            "get": f"SELECT state, messages, version, run_id, node_name, updated_at FROM {threads}"
                   f" WHERE thread_id = %s AND agent = %s AND {alive}",
            "version": f"SELECT version FROM {threads} WHERE thread_id = %s AND agent = %s"
                       f" AND {alive}",
            # no expectation: write whatever is there
            "upsert": f"INSERT INTO {threads} ({cols}) VALUES ({vals}) ON CONFLICT "
                      f"(thread_id, agent) DO UPDATE SET {sets}, version = CASE WHEN {expired} "
                      f"THEN 1 ELSE {threads}.version + 1 END RETURNING version",
            # expected 0: must not exist (an expired row counts as absent)
            "create": f"INSERT INTO {threads} ({cols}) VALUES ({vals}) ON CONFLICT "
                      f"(thread_id, agent) DO UPDATE SET {sets}, version = 1 WHERE {expired} "
                      "RETURNING version",
            # expected N > 0
            "update": f"UPDATE {threads} SET state = %(state)s, messages = %(messages)s, "
                      "run_id = %(run)s, node_name = %(node)s, updated_at = %(now)s, "
                      "expires_at = CASE WHEN %(ttl)s::float8 IS NULL THEN NULL ELSE "
                      "clock_timestamp() + make_interval(secs => %(ttl)s::float8) END, "
                      "version = version + 1 WHERE thread_id = %(t)s AND agent = %(a)s AND "
                      f"version = %(ev)s AND {alive} RETURNING version",
            "delete_record": f"DELETE FROM {threads} WHERE thread_id = %s AND agent = %s",
            "delete_records": f"DELETE FROM {threads} WHERE thread_id = %s",
            "delete_events": f"DELETE FROM {events} WHERE thread_id = %s",
            "delete_seq": f"DELETE FROM {seqs} WHERE thread_id = %s",
            "delete_live": f"DELETE FROM {live} WHERE thread_id = %s",
            "delete_batches": f"DELETE FROM {batches} WHERE thread_id = %s",
            "delete_info": f"DELETE FROM {info} WHERE thread_id = %s",
            "claim": f"INSERT INTO {info} ({info_cols}) VALUES (%s, %s, %s, %s, false, %s, %s) "
                     "ON CONFLICT (thread_id) DO NOTHING",
            "info": f"SELECT {info_cols} FROM {info} WHERE thread_id = %s",
            "update_info": f"UPDATE {info} SET name = COALESCE(%s, name), "
                           "archived = COALESCE(%s, archived), "
                           "updated_at = COALESCE(%s, updated_at) WHERE thread_id = %s "
                           f"RETURNING {info_cols}",
            "list": f"SELECT {info_cols} FROM {info} WHERE owner = %(o)s AND "
                    "(%(a)s::text IS NULL OR agent = %(a)s) AND (%(x)s OR NOT archived) AND "
                    "(%(c)s::float8 IS NULL OR created_at < %(c)s OR (created_at = %(c)s AND "
                    'thread_id COLLATE "C" < %(t)s)) '
                    'ORDER BY created_at DESC, thread_id COLLATE "C" DESC LIMIT %(n)s',
            "take_seq": f"INSERT INTO {seqs} (thread_id, last_seq) VALUES (%s, %s) ON CONFLICT "
                        f"(thread_id) DO UPDATE SET last_seq = {seqs}.last_seq + EXCLUDED.last_seq"
                        " RETURNING last_seq",
            # One statement (atomic, one round trip): take the seqs, insert every event. The
            # events come as one JSON array of their texts (a text[] parameter is escaped in
            # Python, element by element: slower than the insert), each text kept as written
            # (text cast to json is not re-encoded).
            "append": f"WITH s AS (INSERT INTO {seqs} (thread_id, last_seq) VALUES (%(t)s, %(n)s) "
                      f"ON CONFLICT (thread_id) DO UPDATE SET last_seq = {seqs}.last_seq + "
                      f"EXCLUDED.last_seq RETURNING last_seq) INSERT INTO {events} (thread_id, seq, "
                      "run_id, event, agent) SELECT %(t)s, s.last_seq - %(n)s + e.n, %(r)s, "
                      "e.event::json, %(a)s FROM s, json_array_elements_text(%(events)s::json) "
                      "WITH ORDINALITY "
                      "AS e(event, n)",
            # One row, one JSON document: [[seq, run, event, agent], ...] in seq order.
            "events": "SELECT COALESCE(json_agg(json_build_array(seq, run_id, event, agent) "
                      f"ORDER BY seq), '[]'::json) FROM (SELECT seq, run_id, event, agent FROM "
                      f"{events} WHERE thread_id = %s AND seq > %s ORDER BY seq LIMIT %s) h",
            "agent_events": "SELECT COALESCE(json_agg(json_build_array(seq, run_id, event, agent) "
                            f"ORDER BY seq), '[]'::json) FROM (SELECT seq, run_id, event, agent "
                            f"FROM {events} WHERE thread_id = %s AND seq > %s AND (agent = %s OR "
                            "agent IS NULL) ORDER BY seq LIMIT %s) h",
            "acquire": f"INSERT INTO {locks} AS L (thread_id, run_id, expires_at, stop_requested, "
                       "instance_id, token) VALUES (%s, %s, clock_timestamp() + "
                       "make_interval(secs => %s), false, %s, %s) "
                       "ON CONFLICT (thread_id) DO UPDATE SET run_id = EXCLUDED.run_id, "
                       "expires_at = EXCLUDED.expires_at, stop_requested = false, "
                       "instance_id = EXCLUDED.instance_id, token = EXCLUDED.token "
                       f"WHERE NOT {held} RETURNING run_id",
            "renew": f"UPDATE {locks} SET expires_at = clock_timestamp() + make_interval(secs => "
                     "%s) WHERE thread_id = %s AND token = %s AND expires_at > clock_timestamp()"
                     " RETURNING run_id",
            "release": f"DELETE FROM {locks} WHERE thread_id = %s AND token = %s",
            "clear_dead": f"DELETE FROM {locks} AS L WHERE thread_id = %s AND {dead}",
            "stop": f"UPDATE {locks} AS L SET stop_requested = true WHERE thread_id = %(t)s AND "
                    f"{held} AND (%(r)s::text IS NULL OR run_id = %(r)s) RETURNING run_id",
            "stop_flag": f"SELECT stop_requested FROM {locks} WHERE thread_id = %s AND "
                         "run_id = %s",
            "stop_flags": f"SELECT thread_id, run_id FROM {locks} WHERE stop_requested AND "
                          "thread_id = ANY(%s)",
            "holder": f"SELECT run_id, token FROM {locks} AS L WHERE thread_id = %s AND {held}",
            "beat": f"INSERT INTO {instances} (instance_id, expires_at) VALUES (%s, "
                    "clock_timestamp() + make_interval(secs => %s)) ON CONFLICT (instance_id) "
                    "DO UPDATE SET expires_at = EXCLUDED.expires_at",
            "unbeat": f"DELETE FROM {instances} WHERE instance_id = %s",
            "notify": "SELECT pg_notify(%s, %s)",
            "live_head_lock": f"SELECT run_id, next_n, relay FROM {live} WHERE thread_id = %s "
                              "FOR UPDATE",
            "live_insert_head": f"INSERT INTO {live} (thread_id, run_id, next_n, final, "
                                "updated_at, relay, agent) VALUES (%s, %s, 0, false, "
                                "clock_timestamp(), %s, %s) ON CONFLICT (thread_id) DO NOTHING",
            "live_reset": f"UPDATE {live} SET run_id = %s, relay = %s, agent = %s, next_n = 0, "
                          "final = false, updated_at = clock_timestamp() WHERE thread_id = %s",
            "live_advance": f"UPDATE {live} SET next_n = next_n + 1, final = %s, "
                            "updated_at = clock_timestamp() WHERE thread_id = %s",
            "live_batch": f"INSERT INTO {batches} (thread_id, run_id, n, events, final, relay) "
                          "VALUES (%s, %s, %s, %s, %s, %s)",
            "live_head": f"SELECT run_id, final, relay, agent FROM {live} WHERE thread_id = %s",
            "live_batches": f"SELECT n, events, final FROM {batches} WHERE thread_id = %s AND "
                            "run_id = %s AND relay IS NOT DISTINCT FROM %s AND n >= %s "
                            "ORDER BY n LIMIT 512",
            "sweep_threads": f"DELETE FROM {threads} WHERE expires_at <= clock_timestamp()",
            "sweep_live": f"DELETE FROM {live} WHERE final AND updated_at < clock_timestamp() - "
                          "make_interval(secs => %s) RETURNING thread_id",
            "sweep_batches": f"DELETE FROM {batches} b WHERE NOT EXISTS (SELECT 1 FROM {live} l "
                             "WHERE l.thread_id = b.thread_id AND l.run_id = b.run_id AND "
                             "l.relay IS NOT DISTINCT FROM b.relay)",
            # lock rows of runs long gone (expired, or their instance stopped heartbeating),
            # then the heartbeats of instances gone
            "sweep_locks": f"DELETE FROM {locks} AS L WHERE NOT {held}",
            "sweep_instances": f"DELETE FROM {instances} WHERE expires_at <= clock_timestamp()",
        }

    # -- connection ----------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        return {"type": self.type_name or "postgres", "url": self._where,
                "schema": self._schema, "table_prefix": self._prefix,
                "stop_notifications": "listening" if self._listening else "connecting",
                "live_relay": self.supports_live_relay}

    def _redact(self, text: str) -> str:
        if self._password:
            text = text.replace(self._password, "***")
        return text

    def _reason(self, exc: BaseException) -> str:
        text = self._redact(str(exc).strip()).rstrip(".")
        text = " ".join(text.split())
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

    def _error(self, what: str, exc: BaseException) -> StoreError:
        if isinstance(exc, _CONNECTION_ERRORS):
            self._trouble_at = time.monotonic()
            return StoreError(f"PostgreSQL store at {self._where} is unavailable: {what}: "
                              f"{self._reason(exc)}")
        return StoreError(f"PostgreSQL store at {self._where} failed to {what}: "
                          f"{self._reason(exc)}")

    def _conninfo(self) -> str:
        return self.options.url

    async def open(self) -> None:
        if self._pool is not None:
            return
        self._closing = False
        options = self.options
        self._pool = AsyncConnectionPool(
            self._conninfo(), min_size=1, max_size=options.pool_size, open=False,
            timeout=options.pool_timeout, name="copilotkit-postgres",
            kwargs={"autocommit": True, "connect_timeout": max(1, int(options.connect_timeout)),
                    "application_name": "copilotkit-runtime"},
            check=self._check_connection, reset=self._returned, reconnect_timeout=0)
        try:
            await self._pool.open(wait=False)
            await self._ensure_schema()
            await self._beat()
        except _STORE_ERRORS as exc:
            if options.fail_fast:
                await self.close()
                raise StoreError(
                    f"Cannot use the PostgreSQL store at {self._where}: {self._reason(exc)}. "
                    "Start PostgreSQL or fix [store.postgres] url (with fail_fast = false the "
                    "runtime starts anyway, reports not ready on /health and migrates when "
                    "PostgreSQL comes up).") from exc
            log.warning("PostgreSQL store at %s is unusable (%s); starting anyway "
                        "(fail_fast = false): /health reports not ready until it is up",
                        self._where, self._reason(exc))
        loop = asyncio.get_running_loop()
        self._listener = loop.create_task(self._listen(), name="copilotkit-postgres-listener")
        self._sweeper = loop.create_task(self._sweep(), name="copilotkit-postgres-sweeper")
        self._heartbeat = loop.create_task(self._keep_beating(),
                                           name="copilotkit-postgres-heartbeat")

    # -- instance heartbeat --------------------------------------------------------------------

    async def _beat(self) -> None:
        ttl = self.options.instance_ttl_seconds
        sent = time.monotonic()
        await self._execute(self._sql["beat"], (self.instance_id, ttl),
                            what="refresh this instance's heartbeat")
        self._alive_until = sent + ttl

    async def _keep_beating(self) -> None:
        """Refresh this instance's heartbeat row a few times per ``instance_ttl_seconds``; a
        killed process stops, and its leases are free once the row has expired."""
        interval = self.options.instance_ttl_seconds / 4
        while not self._closing:
            await asyncio.sleep(interval)
            try:
                await self._beat()
            except StoreError as exc:  # the database away: renew() fails the runs in time
                log.debug("heartbeat of store instance %s failed: %s", self.instance_id, exc)

    async def _returned(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._idle_since[conn] = time.monotonic()

    async def _check_connection(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Check a pooled connection before use when it may be dead: it sat idle for a while,
        or the store saw a connection error recently (a restart breaks every idle connection).
        Skipped for connections just returned while all is well (a round trip saved)."""
        now = time.monotonic()
        idle_since = self._idle_since.get(conn)
        if (idle_since is None or now - idle_since > self.check_idle_after
                or now - self._trouble_at < self.check_after_trouble):
            await AsyncConnectionPool.check_connection(conn)

    async def _ensure_schema(self) -> None:
        if self._migrated:
            return
        assert self._pool is not None
        async with self._pool.connection(timeout=self.options.connect_timeout) as conn:
            await migrate(conn, self._schema, self._prefix)
        self._migrated = True

    async def close(self) -> None:
        self._closing = True
        for name in ("_listener", "_sweeper", "_heartbeat"):
            task = getattr(self, name)
            setattr(self, name, None)
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(task, timeout=5.0)
        self._listening = False
        if self._pool is not None and self._migrated:
            # gone for good: whatever lease is left (none, after a clean shutdown) is free
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._execute(self._sql["unbeat"], (self.instance_id,),
                                                     what="end this instance's heartbeat"), 2.0)
        self._alive_until = 0.0
        pool, self._pool = self._pool, None
        if pool is not None:
            with contextlib.suppress(Exception):
                await pool.close(timeout=5.0)

    def _get_pool(self) -> AsyncConnectionPool:
        if self._pool is None:
            raise StoreError("The PostgreSQL store is not open.")
        return self._pool

    async def _ready(self, what: str) -> AsyncConnectionPool:
        pool = self._get_pool()
        if not self._migrated:
            try:
                await self._ensure_schema()
            except _STORE_ERRORS as exc:
                raise self._error(what, exc) from exc
        return pool

    async def _fetchone(self, query: str, params: Any, *, what: str,
                        retry: bool = False) -> tuple[Any, ...] | None:
        rows = await self._fetch(query, params, what=what, retry=retry, one=True)
        return rows[0] if rows else None

    async def _fetch(self, query: str, params: Any, *, what: str, retry: bool = False,
                     one: bool = False) -> list[tuple[Any, ...]]:
        pool = await self._ready(what)
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            try:
                async with pool.connection() as conn:
                    cur = await conn.execute(query, params)
                    if cur.description is None:
                        return []
                    return [row] if one and (row := await cur.fetchone()) else (
                        [] if one else list(await cur.fetchall()))
            except _CONNECTION_ERRORS as exc:
                self._trouble_at = time.monotonic()
                if attempt + 1 >= attempts:
                    raise self._error(what, exc) from exc
                await asyncio.sleep(0.05)
            except psycopg.Error as exc:
                raise self._error(what, exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _execute(self, query: str, params: Any, *, what: str) -> None:
        await self._fetch(query, params, what=what)

    async def ping(self) -> None:
        await self._fetch("SELECT 1", None, what="ping")

    # -- threads -------------------------------------------------------------------------------

    async def get_thread(self, thread_id: str, agent: str) -> ThreadRecord | None:
        row = await self._fetchone(self._sql["get"], (thread_id, agent), retry=True,
                                   what=f"read thread '{thread_id}'")
        if row is None:
            return None
        state, messages, version, run_id, node_name, updated_at = row
        if not isinstance(state, dict) or not isinstance(messages, list):
            raise StoreError(f"Thread '{thread_id}' (agent '{agent}') in the PostgreSQL store at "
                             f"{self._where} is not a valid record.")
        return ThreadRecord(thread_id, agent, state, messages, int(version), run_id, node_name,
                            float(updated_at or 0.0))

    async def save_thread(self, record: ThreadRecord, *, expected_version: int | None = None,
                          ttl: float | None = None) -> ThreadRecord:
        now = time.time()
        params = {"t": record.thread_id, "a": record.agent, "state": _json(record.state),
                  "messages": _json(record.messages), "run": record.run_id,
                  "node": record.node_name, "now": now, "ttl": float(ttl) if ttl else None,
                  "ev": expected_version}
        if expected_version is None:
            query = self._sql["upsert"]
        elif int(expected_version) <= 0:
            query = self._sql["create"]
        else:
            query = self._sql["update"]
        what = f"save thread '{record.thread_id}'"
        row = await self._fetchone(query, params, what=what)
        if row is None:
            current = await self._fetchone(self._sql["version"], (record.thread_id, record.agent),
                                           what=what)
            raise VersionConflictError(
                f"Thread '{record.thread_id}' (agent '{record.agent}') is at version "
                f"{int(current[0]) if current else 0}, not {expected_version}.")
        return record.evolve(version=int(row[0]), updated_at=now)

    async def delete_thread(self, thread_id: str, agent: str | None = None) -> None:
        what = f"delete thread '{thread_id}'"
        if agent is not None:
            await self._execute(self._sql["delete_record"], (thread_id, agent), what=what)
            return
        pool = await self._ready(what)
        try:
            async with pool.connection() as conn, conn.transaction():
                for name in ("delete_records", "delete_events", "delete_seq", "delete_live",
                             "delete_batches", "delete_info"):
                    await conn.execute(self._sql[name], (thread_id,))
        except _STORE_ERRORS as exc:
            raise self._error(what, exc) from exc

    # -- thread info -------------------------------------------------------------------------

    async def claim_thread(self, info: ThreadInfo) -> ThreadInfo:
        what = f"claim thread '{info.thread_id}'"
        now = time.time()
        pool = await self._ready(what)
        try:
            async with pool.connection() as conn:
                # Two statements: the second sees a row a concurrent claim committed while the
                # first waited on it (one statement's snapshot would not).
                await conn.execute(self._sql["claim"], (
                    info.thread_id, info.owner, info.agent, info.name,
                    info.created_at or now, info.updated_at or now))
                await conn.commit()
                cur = await conn.execute(self._sql["info"], (info.thread_id,))
                row = await cur.fetchone()
        except _STORE_ERRORS as exc:
            raise self._error(what, exc) from exc
        if row is None:  # deleted between the two statements
            raise StoreError(f"Thread '{info.thread_id}' was deleted while it was claimed.")
        return _info(row)

    async def get_thread_info(self, thread_id: str) -> ThreadInfo | None:
        row = await self._fetchone(self._sql["info"], (thread_id,), retry=True,
                                   what=f"read thread '{thread_id}'")
        return None if row is None else _info(row)

    async def update_thread_info(self, thread_id: str, *, name: str | None = None,
                                 archived: bool | None = None,
                                 updated_at: float | None = None) -> ThreadInfo | None:
        row = await self._fetchone(self._sql["update_info"],
                                   (name, archived, updated_at, thread_id),
                                   what=f"update thread '{thread_id}'")
        return None if row is None else _info(row)

    async def list_threads(self, owner: str, *, agent: str | None = None, limit: int = 50,
                           cursor: str | None = None,
                           include_archived: bool = False) -> ThreadPage:
        after = decode_cursor(cursor) if cursor is not None else (None, None)
        limit = max(1, int(limit))
        rows = await self._fetch(self._sql["list"], {
            "o": owner, "a": agent, "x": include_archived, "c": after[0], "t": after[1],
            "n": limit + 1}, retry=True, what=f"list the threads of '{owner}'")
        infos = [_info(row) for row in rows[:limit]]
        return ThreadPage(infos, encode_cursor(infos[-1]) if len(rows) > limit else None)

    # -- history -------------------------------------------------------------------------------

    async def append_events(self, thread_id: str, run_id: str,
                            events: Sequence[dict[str, Any]], *, agent: str | None = None) -> None:
        if not events:
            return
        await self._execute(self._sql["append"], {
            "t": thread_id, "n": len(events), "r": run_id, "a": agent,
            "events": json.dumps([_dumps(event) for event in events])},
            what=f"append to the history of thread '{thread_id}'")

    async def get_events(self, thread_id: str, *, after: int = 0, limit: int | None = None,
                         agent: str | None = None) -> list[StoredEvent]:
        if limit is not None and limit <= 0:
            return []
        what = f"read the history of thread '{thread_id}'"
        if agent is None:
            rows = await self._fetch(self._sql["events"], (thread_id, int(after), limit),
                                     retry=True, what=what)
        else:
            rows = await self._fetch(self._sql["agent_events"],
                                     (thread_id, int(after), agent, limit), retry=True, what=what)
        entries = rows[0][0] if rows else []
        return [StoredEvent(int(seq), run, event, of) for seq, run, event, of in entries]

    # -- run locks -----------------------------------------------------------------------------

    async def acquire_run_lock(self, thread_id: str, run_id: str, ttl: float) -> RunLease | None:
        sent = time.monotonic()
        if self._alive_until <= sent:
            # our heartbeat has lapsed (the database was away): a lease must name a live
            # instance
            await self._beat()
        token = uuid.uuid4().hex
        row = await self._fetchone(self._sql["acquire"],
                                   (thread_id, run_id, float(ttl), self.instance_id, token),
                                   what=f"take the run lock of thread '{thread_id}'")
        if row is None:
            return None
        self._local_runs.add((thread_id, run_id))
        self._tokens[(thread_id, run_id)] = token
        return _PostgresLease(self, thread_id, run_id, ttl, min(sent + ttl, self._alive_until),
                              token)

    async def request_stop(self, thread_id: str, run_id: str | None = None) -> bool:
        what = f"request a stop of the run on thread '{thread_id}'"
        pool = await self._ready(what)
        try:
            async with pool.connection() as conn, conn.transaction():
                # a dead instance's lock is no run: free the thread instead
                await conn.execute(self._sql["clear_dead"], (thread_id,))
                cur = await conn.execute(self._sql["stop"], {"t": thread_id, "r": run_id})
                row = await cur.fetchone()
                if row is None:
                    return False
                holder = str(row[0])
                # delivered at commit, to every instance's LISTEN connection
                await conn.execute(self._sql["notify"],
                                   (self._channel, _dumps({"k": "stop", "t": thread_id,
                                                           "r": holder})))
        except _STORE_ERRORS as exc:
            raise self._error(what, exc) from exc
        self._fire(thread_id, holder)
        return True

    # -- live relay ----------------------------------------------------------------------------

    async def publish_live(self, thread_id: str, run_id: str, events: Sequence[dict[str, Any]],
                           *, final: bool, agent: str | None = None) -> None:
        what = f"relay run '{run_id}' of thread '{thread_id}'"
        pool = await self._ready(what)
        sql = self._sql
        key = (thread_id, run_id)
        # A run's first batch starts a relay of its own (a new nonce), even when the thread's
        # previous run had the same (client-chosen) run id.
        relay = self._relaying.get(key)
        first = relay is None
        if relay is None:
            relay = uuid.uuid4().hex
        try:
            async with pool.connection() as conn, conn.transaction():
                await conn.execute(sql["live_insert_head"], (thread_id, run_id, relay, agent))
                cur = await conn.execute(sql["live_head_lock"], (thread_id,))
                head = await cur.fetchone()
                assert head is not None
                _, next_n, current = head
                if current != relay:
                    if not first:
                        return  # a newer run took the thread's relay: leave it alone
                    # A new run replaces the thread's live run only while it holds the lock: a
                    # run that lost its lock must not disturb its successor's relay.
                    cur = await conn.execute(sql["holder"], (thread_id,))
                    holder = await cur.fetchone()
                    token = self._tokens.get(key)
                    if holder is None or holder[0] != run_id or (
                            token is not None and holder[1] != token):
                        return
                    await conn.execute(sql["delete_batches"], (thread_id,))
                    await conn.execute(sql["live_reset"], (run_id, relay, agent, thread_id))
                    next_n = 0
                await conn.execute(sql["live_batch"], (thread_id, run_id, next_n,
                                                       _json(list(events)), final, relay))
                await conn.execute(sql["live_advance"], (final, thread_id))
                await conn.execute(sql["notify"], (self._channel, _dumps(
                    {"k": "live", "t": thread_id, "r": run_id})))
        except _STORE_ERRORS as exc:
            raise self._error(what, exc) from exc
        if final:
            self._relaying.pop(key, None)
        else:
            self._relaying[key] = relay

    async def follow_live(self, thread_id: str, *, idle_timeout: float | None = None
                          ) -> AsyncGenerator[LiveBatch, None]:
        """The run relayed on ``thread_id``: its rows from the first batch, then each new batch
        as a notification (or the periodic re-read) brings it, until the final batch. While
        nothing comes, the lock row tells whether the run is still going: once it is no longer
        the run's and nothing came for :attr:`live_gone_grace` seconds, the stream ends."""
        what = f"follow the live run of thread '{thread_id}'"
        head = await self._fetchone(self._sql["live_head"], (thread_id,), retry=True, what=what)
        if head is None or head[1]:
            return
        run_id, relay, agent = str(head[0]), head[2], head[3]
        wake = asyncio.Event()
        self._live_waiters.setdefault(thread_id, set()).add(wake)
        loop = asyncio.get_running_loop()
        wait = self.options.live_poll_interval
        if idle_timeout is not None:
            wait = min(wait, idle_timeout)
        cursor = 0
        quiet_since = loop.time()
        gone_since: float | None = None
        try:
            while True:
                wake.clear()
                rows = await self._fetch(self._sql["live_batches"],
                                         (thread_id, run_id, relay, cursor), retry=True, what=what)
                if rows:
                    events: list[dict[str, Any]] = []
                    final = False
                    for n, batch, is_final in rows:
                        if n != cursor:
                            log.warning("the relay of run %s of thread %s lost batches; "
                                        "following stops here", run_id, thread_id)
                            if events:
                                yield LiveBatch(run_id, events, agent=agent)
                            return
                        cursor += 1
                        events.extend(batch)
                        if is_final:
                            final = True
                            break
                    yield LiveBatch(run_id, events, final, agent)
                    if final:
                        return
                    quiet_since, gone_since = loop.time(), None
                    continue
                now = loop.time()
                holder = await self._fetchone(self._sql["holder"], (thread_id,), retry=True,
                                              what=what)
                if holder is not None and holder[0] == run_id:
                    gone_since = None
                else:
                    # replaced by a newer run, or its process is gone
                    head = await self._fetchone(self._sql["live_head"], (thread_id,),
                                                retry=True, what=what)
                    if head is None or head[0] != run_id or head[2] != relay:
                        return
                    if gone_since is None:
                        gone_since = now
                    elif now - gone_since >= self.live_gone_grace:
                        log.info("run %s of thread %s ended without a final batch (its instance "
                                 "went away); following stops here", run_id, thread_id)
                        return
                if idle_timeout is not None and now - quiet_since >= idle_timeout:
                    quiet_since = now
                    yield LiveBatch(run_id, [], agent=agent)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=wait)
        finally:
            waiters = self._live_waiters.get(thread_id)
            if waiters is not None:
                waiters.discard(wake)
                if not waiters:
                    self._live_waiters.pop(thread_id, None)

    # -- notifications -------------------------------------------------------------------------

    async def _listen(self) -> None:
        """``LISTEN`` for good on a connection of its own, reconnecting with backoff while the
        database is away. After every (re)connection the stop flags of this process's runs are
        read once and every follower re-reads, so nothing sent meanwhile is lost."""
        delay = 0.1
        try:
            while not self._closing:
                conn: psycopg.AsyncConnection[Any] | None = None
                try:
                    conn = await psycopg.AsyncConnection.connect(
                        self._conninfo(), autocommit=True, row_factory=tuple_row,
                        connect_timeout=max(1, int(self.options.connect_timeout)),
                        application_name="copilotkit-runtime-listen")
                    await conn.execute(f'LISTEN "{self._channel}"')
                    if not self._migrated:
                        with contextlib.suppress(Exception):
                            await self._ensure_schema()
                    await self._check_stop_flags(conn)
                    self._wake_all_followers()
                    if not self._listening:
                        log.info("listening for stop requests and relay batches on %s (%s)",
                                 self._channel, self._where)
                    self._listening, delay = True, 0.1
                    while not self._closing:
                        async for notify in conn.notifies(timeout=5.0):
                            self._dispatch(notify.payload)
                        await conn.execute("SELECT 1")  # notice a dead connection
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if self._closing:
                        return
                    if self._listening:
                        log.warning("lost the LISTEN connection to PostgreSQL at %s (%s); "
                                    "reconnecting", self._where, self._reason(exc))
                    self._listening = False
                    self._trouble_at = time.monotonic()
                    self._wake_all_followers()
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
                finally:
                    if conn is not None:
                        with contextlib.suppress(Exception):
                            await asyncio.shield(conn.close())
        finally:
            self._listening = False

    async def _check_stop_flags(self, conn: psycopg.AsyncConnection[Any]) -> None:
        runs = list(self._local_runs)
        if not runs:
            return
        cur = await conn.execute(self._sql["stop_flags"], ([tid for tid, _ in runs],))
        for tid, run in await cur.fetchall():
            self._fire(tid, run)

    def _dispatch(self, payload: str) -> None:
        try:
            message = json.loads(payload)
            kind, thread_id = message["k"], str(message["t"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed notification on %s: %r", self._channel, payload)
            return
        if kind == "stop":
            self._fire(thread_id, str(message.get("r")))
        elif kind == "live":
            for wake in self._live_waiters.get(thread_id, ()):
                wake.set()

    def _wake_all_followers(self) -> None:
        for waiters in self._live_waiters.values():
            for wake in waiters:
                wake.set()

    def _fire(self, thread_id: str, run_id: str) -> None:
        if (thread_id, run_id) in self._local_runs:
            self._signals.fire(thread_id, run_id)

    def _forget(self, thread_id: str, run_id: str) -> None:
        self._local_runs.discard((thread_id, run_id))
        self._tokens.pop((thread_id, run_id), None)
        # (not the relay nonce: the relay may publish the run's last batches after this)
        self._signals.discard(thread_id, run_id)

    async def _sweep(self) -> None:
        """Delete expired threads and the relay rows of runs finished long ago."""
        while not self._closing:
            await asyncio.sleep(self.options.sweep_interval)
            try:
                await self._execute(self._sql["sweep_threads"], None, what="sweep threads")
                swept = await self._fetch(self._sql["sweep_live"],
                                          (self.options.live_relay_linger_seconds,),
                                          what="sweep relays")
                if swept:
                    await self._execute(self._sql["sweep_batches"], None, what="sweep relays")
                await self._execute(self._sql["sweep_locks"], None, what="sweep run locks")
                await self._execute(self._sql["sweep_instances"], None,
                                    what="sweep instance heartbeats")
            except StoreError as exc:
                log.debug("sweep skipped: %s", exc)
