"""The Redis store: threads, history and run locks shared by every runtime process.

Several runtime instances behind a load balancer pointed at one Redis behave as one:

* a thread written by a run on instance A is what ``loadAgentState`` reads on instance B;
* a thread's run lock holds across processes; it expires (``[store] lock_ttl_seconds``) unless
  its holder renews it, so a crashed instance does not block a thread for long;
* a stop requested on any instance reaches the run wherever it is: a pub/sub notification makes
  it immediate; a flag key, re-read after every resubscription and polled while the subscription
  is down, covers a notification missed during a reconnect;
* a run in progress on instance A can be followed live from instance B (AG-UI ``connect``): its
  events are relayed through a Redis stream per run (:meth:`RedisStore.publish_live`,
  :meth:`RedisStore.follow_live`).

Every multi-key write is a Lua script (see :mod:`.scripts`), so writes are atomic and a version
compare-and-set holds between processes. Commands are not retried blindly: only reads are
retried after a connection error, because a write whose reply was lost may have been applied.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.connection import BlockingConnectionPool, ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from copilotkit_runtime.errors import StoreError, VersionConflictError
from copilotkit_runtime.stores import (
    InvalidCursorError,
    LiveBatch,
    LocalStopSignals,
    RunLease,
    StateStore,
    StoredEvent,
    ThreadInfo,
    ThreadPage,
    ThreadRecord,
)

from . import scripts
from .options import RedisOptions, redact_url

log = logging.getLogger("copilotkit_store_redis")

T = TypeVar("T")

# What a lost or unusable connection looks like from redis-py (its ConnectionError and
# TimeoutError, and the OS's); any other RedisError is an answer, not an outage.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)
# At startup any refusal (also e.g. an ACL that forbids PING) means the store is unusable.
_STARTUP_ERRORS: tuple[type[BaseException], ...] = (*_CONNECTION_ERRORS, RedisError)


def _part(value: str) -> str:
    """A key component with ``%`` and ``:`` escaped, so ``("a:b", "c")`` ≠ ``("a", "b:c")``."""
    return value.replace("%", "%25").replace(":", "%3A")


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class _RedisLease(RunLease):
    def __init__(self, store: RedisStore, thread_id: str, run_id: str, ttl: float,
                 valid_until: float, lease_id: str) -> None:
        super().__init__(thread_id, run_id, ttl)
        self._store = store
        self._keys = [store._key("lock", thread_id), store._key("stop", thread_id),
                      store._key("lockby", thread_id)]
        #: ``<instance id>|<token>``: this lease, told apart from another with the same run id
        self.lease_id = lease_id
        # monotonic time until which the lock is certainly ours (measured before the command)
        self._valid_until = valid_until
        self._released = False

    async def renew(self) -> bool:
        """Compare-and-extend. A connection error is retried until the lease would have expired
        anyway (the lock is still ours until then); after that it raises ``StoreError``."""
        store = self._store
        delay = 0.05
        while True:
            sent = time.monotonic()
            try:
                held = await store._scripts["renew"](
                    keys=self._keys, args=[self.run_id, _ms(self.ttl), self.lease_id])
            except _CONNECTION_ERRORS as exc:
                left = self._valid_until - time.monotonic()
                if left <= 0:
                    raise store._error(f"renew the run lock of thread '{self.thread_id}'",
                                       exc) from exc
                await asyncio.sleep(min(delay, left))
                delay = min(delay * 2, 0.5)
                continue
            except RedisError as exc:
                raise store._error(f"renew the run lock of thread '{self.thread_id}'",
                                   exc) from exc
            if int(held) == 1:
                # Others take the lock once this instance stops heartbeating, whatever the
                # lock's own expiry.
                self._valid_until = min(sent + self.ttl, store._alive_until)
                return True
            return False

    async def release(self) -> None:
        if self._released:
            return
        self._released = True
        store = self._store
        store._forget(self.thread_id, self.run_id)
        await store._call(store._scripts["release"], keys=self._keys,
                          args=[self.run_id, self.lease_id],
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
            if store._subscribed:
                continue  # notifications arrive; the flags are re-read on every resubscription
            try:
                flagged = await store._client().get(self._keys[1])
            except _CONNECTION_ERRORS:
                # Not our call to fail the run: renew() notices a Redis that stays away.
                continue
            if flagged is not None and _text(flagged) == self.run_id:
                return


class RedisStore(StateStore):
    """Threads, history and run locks in Redis, shared by every process that uses it."""

    Options = RedisOptions
    options: RedisOptions
    # Streams need Redis 5.0; :meth:`open` turns the relay off on an older server.
    supports_live_relay = True
    #: entries name the agent of their run (entries of older releases do not: every agent's)
    history_by_agent = True
    #: the live pointer names the relayed run's agent
    live_relay_by_agent = True
    #: how long a follower waits for a run whose lock is gone to publish its final batch (the
    #: run releases its lock a moment before its relay sends the final batch)
    live_gone_grace: float = 3.0

    def __init__(self, options: RedisOptions | None = None) -> None:
        super().__init__(options)
        self._redis: aioredis.Redis | None = None
        self._subscriber: aioredis.Redis | None = None
        self._follower: aioredis.Redis | None = None
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = False
        self._closing = False
        self._signals = LocalStopSignals()
        # (thread, run) of the leases held in this process: only those get a local signal
        self._local_runs: set[tuple[str, str]] = set()
        # (thread, run) -> the keys of the relay this process is publishing for it
        self._relaying: dict[tuple[str, str], list[str]] = {}
        self._scripts: dict[str, Any] = {}
        #: this store instance (one per process, new at every start): its heartbeat key says
        #: it is alive, and the leases it takes name it
        self.instance_id = uuid.uuid4().hex
        self._heartbeat: asyncio.Task[None] | None = None
        #: monotonic time until which this instance's heartbeat certainly stands
        self._alive_until = 0.0
        self._where = redact_url(self.options.url)
        prefix = self.options.key_prefix
        self._channel = f"{prefix}stop-requests"

    # -- connection ----------------------------------------------------------------------------

    def _pool(self, cls: type[ConnectionPool], max_connections: int, **extra: Any) -> ConnectionPool:
        options = self.options
        kwargs: dict[str, Any] = {
            "max_connections": max_connections,
            "socket_timeout": options.socket_timeout,
            "socket_connect_timeout": options.connect_timeout,
            # Our own policy decides what is retried (see the module docstring).
            "retry": Retry(NoBackoff(), 0),
            "client_name": "copilotkit-runtime",
            # RESP2: understood by every Redis-compatible server; the store needs nothing newer.
            "protocol": 2,
            **extra,
        }
        if options.url.lower().startswith("rediss://"):
            kwargs.update(ssl_cert_reqs=options.ssl_cert_reqs,
                          ssl_check_hostname=options.ssl_check_hostname)
            for key in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile"):
                if getattr(options, key):
                    kwargs[key] = getattr(options, key)
        try:
            pool = cls.from_url(options.url, **kwargs)
        except (ValueError, TypeError) as exc:
            raise StoreError(f"Invalid Redis URL {self._where}: {exc}") from exc
        if options.db is not None:
            pool.connection_kwargs["db"] = options.db
        return pool

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"type": self.type_name or "redis", "url": self._where,
                                "key_prefix": self.options.key_prefix,
                                "stop_notifications": "subscribed" if self._subscribed
                                else "connecting",
                                "live_relay": self.supports_live_relay}
        if self._redis is not None:
            info["db"] = self._redis.connection_pool.connection_kwargs.get("db", 0)
        return info

    async def open(self) -> None:
        if self._redis is not None:
            return
        self._closing = False
        options = self.options
        pool = self._pool(BlockingConnectionPool, options.pool_size, timeout=options.pool_timeout)
        self._redis = aioredis.Redis(connection_pool=pool)
        # The subscriber holds its connection for good: give it a pool of its own.
        sub_pool = self._pool(ConnectionPool, 2, health_check_interval=30)
        self._subscriber = aioredis.Redis(connection_pool=sub_pool)
        # Followers block on XREAD: a pool of their own, so they never starve other commands.
        follow_pool = self._pool(BlockingConnectionPool, options.live_relay_followers,
                                 timeout=options.pool_timeout)
        self._follower = aioredis.Redis(connection_pool=follow_pool)
        client = self._redis
        self._scripts = {
            "save": client.register_script(scripts.SAVE_THREAD),
            "delete_record": client.register_script(scripts.DELETE_RECORD),
            "delete_thread": client.register_script(scripts.DELETE_THREAD),
            "claim": client.register_script(scripts.CLAIM_THREAD),
            "update_info": client.register_script(scripts.UPDATE_THREAD_INFO),
            "append": client.register_script(scripts.APPEND_EVENTS),
            "acquire": client.register_script(scripts.ACQUIRE_LOCK),
            "renew": client.register_script(scripts.RENEW_LOCK),
            "release": client.register_script(scripts.RELEASE_LOCK),
            "stop": client.register_script(scripts.REQUEST_STOP),
            "lock_alive": client.register_script(scripts.LOCK_ALIVE),
            "publish_live": client.register_script(scripts.PUBLISH_LIVE),
        }
        try:
            await client.ping()
        except _STARTUP_ERRORS as exc:
            if options.fail_fast:
                await self.close()
                raise StoreError(
                    f"Cannot connect to the Redis store at {self._where}: {_reason(exc)}. "
                    "Start Redis or fix [store.redis] url (with fail_fast = false the runtime "
                    "starts anyway, reports not ready on /health and connects when Redis "
                    "comes up).") from exc
            log.warning("Redis store at %s is unreachable (%s); starting anyway "
                        "(fail_fast = false): /health reports not ready until it is up",
                        self._where, _reason(exc))
        else:
            await self._check_streams(client)
            with contextlib.suppress(*_CONNECTION_ERRORS):
                await self._beat()
        self._heartbeat = asyncio.get_running_loop().create_task(
            self._keep_beating(), name="copilotkit-redis-heartbeat")
        self._listener = asyncio.get_running_loop().create_task(
            self._listen(), name="copilotkit-redis-stop-listener")

    # -- instance heartbeat --------------------------------------------------------------------

    @property
    def _instance_key(self) -> str:
        return self._key("instance", self.instance_id)

    async def _beat(self) -> None:
        ttl = self.options.instance_ttl_seconds
        sent = time.monotonic()
        await self._client().set(self._instance_key, "1", px=_ms(ttl))
        self._alive_until = sent + ttl

    async def _keep_beating(self) -> None:
        """Refresh this instance's heartbeat key a few times per ``instance_ttl_seconds``; a
        killed process stops, and its leases are free once the key has expired."""
        interval = self.options.instance_ttl_seconds / 4
        while not self._closing:
            await asyncio.sleep(interval)
            try:
                await self._beat()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: renew() fails the runs in time
                log.debug("heartbeat of store instance %s failed: %s", self.instance_id,
                          _reason(exc))

    async def close(self) -> None:
        self._closing = True
        heartbeat, self._heartbeat = self._heartbeat, None
        if heartbeat is not None:
            heartbeat.cancel()
            with contextlib.suppress(BaseException):
                await heartbeat
            if self._redis is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._redis.delete(self._instance_key), 2.0)
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            # redis-py can swallow a cancellation that lands mid-handshake (Python 3.11's
            # wait_for): cutting the subscriber's connections makes its next read fail instead.
            done, _ = await asyncio.wait({listener}, timeout=1.0)
            if not done and self._subscriber is not None:
                with contextlib.suppress(Exception):
                    await self._subscriber.connection_pool.disconnect()
                done, _ = await asyncio.wait({listener}, timeout=5.0)
            if not done:
                log.warning("the Redis stop-request listener did not stop in time")
        self._subscribed = False
        for client in (self._follower, self._subscriber, self._redis):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.connection_pool.disconnect()
                with contextlib.suppress(Exception):
                    await client.aclose()
        self._redis = self._subscriber = self._follower = None

    def _client(self) -> aioredis.Redis:
        if self._redis is None:
            raise StoreError("The Redis store is not open.")
        return self._redis

    def _key(self, kind: str, thread_id: str, agent: str | None = None) -> str:
        key = f"{self.options.key_prefix}{kind}:{_part(thread_id)}"
        return key if agent is None else f"{key}:{_part(agent)}"

    def _error(self, what: str, exc: BaseException) -> StoreError:
        if isinstance(exc, _CONNECTION_ERRORS):
            return StoreError(f"Redis store at {self._where} is unavailable: {what}: "
                              f"{_reason(exc)}")
        return StoreError(f"Redis store at {self._where} failed to {what}: {_reason(exc)}")

    async def _call(self, fn: Callable[..., Awaitable[T]], *args: Any, what: str,
                    retry: bool = False, **kwargs: Any) -> T:
        """Run one command; map connection failures to ``StoreError``. ``retry`` only for
        commands that are safe to repeat."""
        self._client()
        attempts = 1 + (self.options.retries if retry else 0)
        for attempt in range(attempts):
            try:
                return await fn(*args, **kwargs)
            except _CONNECTION_ERRORS as exc:
                if attempt + 1 >= attempts:
                    raise self._error(what, exc) from exc
                await asyncio.sleep(0.05 * (attempt + 1))
            except RedisError as exc:
                raise self._error(what, exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def ping(self) -> None:
        await self._call(self._client().ping, what="ping")

    async def _check_streams(self, client: aioredis.Redis) -> None:
        """Turn the live relay off (with a warning) on a server without streams (< 5.0)."""
        try:
            info = await client.info("server")
            version = str(info.get("redis_version", ""))
            major = int(version.split(".")[0])
        except (RedisError, OSError, ValueError, AttributeError):
            return  # INFO refused (ACL) or a compatible server that does not say: assume streams
        if major < 5:
            log.warning("Redis %s at %s has no streams (5.0+): AG-UI connect on another "
                        "instance replays a run only once it has ended", version, self._where)
            # This instance lacks the class's ability (the engine reads it per run).
            setattr(self, "supports_live_relay", False)  # noqa: B010

    # -- threads -------------------------------------------------------------------------------

    async def get_thread(self, thread_id: str, agent: str) -> ThreadRecord | None:
        key = self._key("thread", thread_id, agent)
        data, version = await self._call(self._client().hmget, key, ["d", "v"], retry=True,
                                         what=f"read thread '{thread_id}'")
        if data is None:
            return None
        try:
            body = json.loads(data)
            return ThreadRecord(thread_id, agent, body["state"], body["messages"], int(version),  # type: ignore[arg-type]
                                body.get("run_id"), body.get("node_name"),
                                float(body.get("updated_at", 0.0)))
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"Thread '{thread_id}' (agent '{agent}') in the Redis store at "
                             f"{self._where} is not a valid record ({key}): {exc}") from exc

    async def save_thread(self, record: ThreadRecord, *, expected_version: int | None = None,
                          ttl: float | None = None) -> ThreadRecord:
        now = time.time()
        body = _dumps({"state": record.state, "messages": record.messages,
                       "run_id": record.run_id, "node_name": record.node_name,
                       "updated_at": now})
        keys = [self._key("thread", record.thread_id, record.agent),
                self._key("agents", record.thread_id)]
        args = ["" if expected_version is None else int(expected_version), body,
                _ms(ttl) if ttl else 0, _part(record.agent)]
        ok, version = await self._call(self._scripts["save"], keys=keys, args=args,
                                       what=f"save thread '{record.thread_id}'")
        if not int(ok):
            raise VersionConflictError(
                f"Thread '{record.thread_id}' (agent '{record.agent}') is at version "
                f"{int(version)}, not {expected_version}.")
        return record.evolve(version=int(version), updated_at=now)

    async def delete_thread(self, thread_id: str, agent: str | None = None) -> None:
        if agent is not None:
            await self._call(self._scripts["delete_record"],
                             keys=[self._key("thread", thread_id, agent),
                                   self._key("agents", thread_id)],
                             args=[_part(agent)], what=f"delete thread '{thread_id}'")
            return
        await self._call(self._scripts["delete_thread"],
                         keys=[self._key("agents", thread_id), self._key("history", thread_id),
                               self._key("info", thread_id)],
                         args=[self._key("thread", thread_id) + ":"],
                         what=f"delete thread '{thread_id}'")

    # -- thread info -------------------------------------------------------------------------

    def _owned(self, owner: str, agent: str | None = None) -> str:
        key = f"{self.options.key_prefix}owned:{_part(owner)}"
        return key if agent is None else f"{key}:{_part(agent)}"

    async def claim_thread(self, info: ThreadInfo) -> ThreadInfo:
        now = time.time()
        created = info.created_at or now
        updated = info.updated_at or now
        raw = await self._call(
            self._scripts["claim"],
            keys=[self._key("info", info.thread_id), self._owned(info.owner),
                  self._owned(info.owner, info.agent)],
            args=[info.owner, info.agent, info.name or "", repr(created), repr(updated),
                  _listing_key(created, info.thread_id)],
            what=f"claim thread '{info.thread_id}'")
        return self._info(info.thread_id, raw)

    async def get_thread_info(self, thread_id: str) -> ThreadInfo | None:
        raw = await self._call(self._client().hgetall, self._key("info", thread_id), retry=True,
                               what=f"read thread '{thread_id}'")
        return self._info(thread_id, raw) if raw else None

    async def update_thread_info(self, thread_id: str, *, name: str | None = None,
                                 archived: bool | None = None,
                                 updated_at: float | None = None) -> ThreadInfo | None:
        raw = await self._call(
            self._scripts["update_info"], keys=[self._key("info", thread_id)],
            args=[name or "", "" if archived is None else str(int(archived)),
                  "" if updated_at is None else repr(float(updated_at))],
            what=f"update thread '{thread_id}'")
        return self._info(thread_id, raw) if raw else None

    async def list_threads(self, owner: str, *, agent: str | None = None, limit: int = 50,
                           cursor: str | None = None,
                           include_archived: bool = False) -> ThreadPage:
        limit = max(1, int(limit))
        start = "+" if cursor is None else "(" + _decode_listing_cursor(cursor)
        key = self._owned(owner, agent)
        client = self._client()
        found: list[tuple[str, ThreadInfo]] = []
        while len(found) <= limit:
            fetched = await self._call(client.zrevrangebylex, key, start, "-", 0, limit + 1,
                                       retry=True, what=f"list the threads of '{owner}'")
            if not fetched:
                break
            members: list[str] = [_text(m) for m in fetched]
            pipe = client.pipeline(transaction=False)
            for member in members:
                pipe.hgetall(self._key("info", member.split("|", 1)[1]))
            infos = await self._call(pipe.execute, retry=True,
                                     what=f"list the threads of '{owner}'")
            for member, raw in zip(members, infos, strict=True):
                if not raw:
                    continue  # deleted since
                info = self._info(member.split("|", 1)[1], raw)
                if include_archived or not info.archived:
                    found.append((member, info))
            start = "(" + members[-1]
            if len(members) < limit + 1:
                break
        page = found[:limit]
        more = len(found) > limit
        return ThreadPage([info for _, info in page],
                          _encode_listing_cursor(page[-1][0]) if more else None)

    def _info(self, thread_id: str, raw: Any) -> ThreadInfo:
        if isinstance(raw, list):  # a script's HGETALL: a flat list
            raw = dict(zip(raw[::2], raw[1::2], strict=True))
        fields = {_text(k): _text(v) for k, v in raw.items()}
        try:
            return ThreadInfo(thread_id, fields["o"], fields["a"], fields.get("n"),
                              fields.get("x") == "1", float(fields["c"]), float(fields["u"]))
        except (KeyError, ValueError) as exc:
            raise StoreError(f"Thread info of '{thread_id}' in the Redis store at {self._where} "
                             f"is not valid: {exc}") from exc

    # -- history -------------------------------------------------------------------------------

    async def append_events(self, thread_id: str, run_id: str,
                            events: Sequence[dict[str, Any]], *, agent: str | None = None) -> None:
        if not events:
            return
        run = _dumps(run_id)
        # An entry is [seq, run, event] or [seq, run, event, agent]: the agent whose run it was.
        tail = "" if agent is None else f",{_dumps(agent)}"
        ttl = self.options.history_ttl_seconds
        fragments = [f"{run},{_dumps(event)}{tail}" for event in events]
        await self._call(self._scripts["append"], keys=[self._key("history", thread_id)],
                         args=[_ms(ttl) if ttl else 0, *fragments],
                         what=f"append to the history of thread '{thread_id}'")

    async def get_events(self, thread_id: str, *, after: int = 0, limit: int | None = None,
                         agent: str | None = None) -> list[StoredEvent]:
        # seq is position + 1, so the entries after ``after`` start at index ``after``.
        start = max(0, int(after))
        if limit is not None and limit <= 0:
            return []
        out: list[StoredEvent] = []
        # Without an agent one range is the answer; with one, other agents' entries are skipped
        # and the list read on in chunks until ``limit`` of this agent's are found.
        chunk = (None if limit is None else int(limit)) if agent is None else 1000
        while True:
            end = -1 if chunk is None else start + chunk - 1
            raw = await self._call(self._client().lrange, self._key("history", thread_id), start,
                                   end, retry=True,
                                   what=f"read the history of thread '{thread_id}'")
            # One decode for the whole range (entries are JSON arrays): a call per entry costs
            # more than the parsing itself (bench/README.md "Store operations").
            for seq, run, event, *rest in _entries(raw):
                of = rest[0] if rest else None
                if seq > after and (agent is None or of is None or of == agent):
                    out.append(StoredEvent(int(seq), run, event, of))
                    if limit is not None and len(out) >= limit:
                        return out
            if chunk is None or len(raw) < chunk:
                return out
            start += chunk

    # -- run locks -----------------------------------------------------------------------------

    async def acquire_run_lock(self, thread_id: str, run_id: str, ttl: float) -> RunLease | None:
        sent = time.monotonic()
        if self._alive_until <= sent:
            # Our heartbeat has lapsed (Redis was away): a lease must name a live instance.
            await self._call(self._beat, what="refresh this instance's heartbeat")
        lease_id = f"{self.instance_id}|{uuid.uuid4().hex}"
        taken = await self._call(self._scripts["acquire"],
                                 keys=[self._key("lock", thread_id), self._key("stop", thread_id),
                                       self._key("lockby", thread_id)],
                                 args=[run_id, _ms(ttl), lease_id,
                                       self._key("instance", "")],
                                 what=f"take the run lock of thread '{thread_id}'")
        if not int(taken):
            return None
        self._local_runs.add((thread_id, run_id))
        return _RedisLease(self, thread_id, run_id, ttl, min(sent + ttl, self._alive_until),
                           lease_id)

    async def request_stop(self, thread_id: str, run_id: str | None = None) -> bool:
        holder = await self._call(
            self._scripts["stop"], keys=[self._key("lock", thread_id), self._key("stop", thread_id),
                                         self._key("lockby", thread_id)],
            args=[run_id or "", self._channel, thread_id, self._key("instance", "")],
            what=f"request a stop of the run on thread '{thread_id}'")
        if not holder:
            return False
        # A run in this process hears it now; others through the notification.
        self._fire(thread_id, _text(holder))
        return True

    # -- live relay ----------------------------------------------------------------------------

    def _live_keys(self, thread_id: str, run_id: str) -> list[str]:
        pointer = self._key("live", thread_id)
        return [pointer, self._key("lock", thread_id), f"{pointer}:{_part(run_id)}"]

    async def publish_live(self, thread_id: str, run_id: str, events: Sequence[dict[str, Any]],
                           *, final: bool, agent: str | None = None) -> None:
        options = self.options
        # A run's first batch starts a stream of its own, even when a run before it on the
        # thread had the same (client-chosen) run id.
        key = (thread_id, run_id)
        keys = self._relaying.get(key)
        first = keys is None
        if keys is None:
            keys = self._live_keys(thread_id, run_id)
            keys[2] = f"{keys[2]}:{uuid.uuid4().hex[:12]}"
            self._relaying[key] = keys
        try:
            await self._call(self._scripts["publish_live"], keys=keys,
                             args=[run_id, _dumps(list(events)), "1" if final else "0",
                                   options.live_relay_max_batches,
                                   _ms(options.live_relay_ttl_seconds),
                                   _ms(options.live_relay_linger_seconds),
                                   "1" if first else "0", agent or ""],
                             what=f"relay run '{run_id}' of thread '{thread_id}'")
        finally:
            if final:
                self._relaying.pop(key, None)

    async def follow_live(self, thread_id: str, *, idle_timeout: float | None = None
                          ) -> AsyncGenerator[LiveBatch, None]:
        """The run relayed on ``thread_id``: its stream from the first batch, then ``XREAD
        BLOCK`` for the rest, until the final batch. While nothing comes, the run's lock tells
        whether it is still going: once the lock is no longer the run's and nothing more came
        for :attr:`live_gone_grace` seconds, its process is gone and the stream ends."""
        if self._follower is None:
            raise StoreError("The Redis store is not open.")
        follower = self._follower
        pointer, lock = self._key("live", thread_id), self._key("lock", thread_id)
        what = f"follow the live run of thread '{thread_id}'"
        head: Any = await self._call(follower.hmget, pointer, ["r", "k", "a"], retry=True,
                                     what=what)
        if head[0] is None or head[1] is None:
            return
        run_id, stream = _text(head[0]), _text(head[1])
        agent = None if head[2] is None else _text(head[2])
        last: Any = await self._call(follower.xrevrange, stream, count=1, retry=True, what=what)
        if not last or b"f" in last[0][1]:
            return  # no batch left, or the run has ended: not live
        loop = asyncio.get_running_loop()
        # Block for short stretches (well under the socket timeout) to check the run is alive.
        block = min(1.0, self.options.socket_timeout / 2)
        if idle_timeout is not None:
            block = min(block, idle_timeout)
        cursor, expected = "0-0", 0
        quiet_since = loop.time()
        gone_since: float | None = None
        while True:
            reply: Any = await self._call(follower.xread, {stream: cursor}, count=512,
                                     block=max(1, int(block * 1000)), retry=True, what=what)
            entries = reply[0][1] if reply else []
            if entries:
                events: list[dict[str, Any]] = []
                final = False
                for entry_id, fields in entries:
                    cursor = entry_id
                    number = int(fields.get(b"n", -1))
                    if number != expected:
                        # Trimmed (MAXLEN) before we read it: what we would show is not the run.
                        log.warning("the relay of run %s of thread %s lost batches %d-%d "
                                    "(live_relay_max_batches); following stops here", run_id,
                                    thread_id, expected, number - 1)
                        if events:
                            yield LiveBatch(run_id, events, agent=agent)
                        return
                    expected += 1
                    try:
                        events.extend(json.loads(fields[b"e"]))
                    except (ValueError, KeyError, TypeError) as exc:
                        raise StoreError(f"The live relay of run '{run_id}' of thread "
                                         f"'{thread_id}' in the Redis store at {self._where} "
                                         f"holds an invalid entry ({stream}): {exc}") from exc
                    if b"f" in fields:
                        final = True
                        break
                yield LiveBatch(run_id, events, final, agent)
                if final:
                    return
                quiet_since, gone_since = loop.time(), None
                continue
            now = loop.time()
            alive: Any = await self._call(self._scripts["lock_alive"],
                                          keys=[lock, self._key("lockby", thread_id)],
                                          args=[run_id, self._key("instance", "")],
                                          retry=True, what=what)
            if int(alive) == 1:
                gone_since = None
            elif gone_since is None:
                gone_since = now
            elif now - gone_since >= self.live_gone_grace:
                log.info("run %s of thread %s ended without a final batch (its instance went "
                         "away); following stops here", run_id, thread_id)
                return
            if idle_timeout is not None and now - quiet_since >= idle_timeout:
                quiet_since = now
                yield LiveBatch(run_id, [], agent=agent)

    # -- stop notifications --------------------------------------------------------------------

    async def _listen(self) -> None:
        """Subscribe to stop requests for good, reconnecting with backoff while Redis is away.

        After every (re)subscription the stop flags of this process's runs are read once: a
        notification published while we were not subscribed is not lost."""
        assert self._subscriber is not None
        delay = 0.1
        try:
            while not self._closing:
                pubsub = self._subscriber.pubsub()
                try:
                    await pubsub.subscribe(self._channel)
                    await self._confirmed(pubsub)
                    await self._check_stop_flags()
                    if not self._subscribed:
                        log.info("listening for stop requests on %s (%s)", self._channel,
                                 self._where)
                    self._subscribed, delay = True, 0.1
                    while not self._closing:
                        self._dispatch(await pubsub.get_message(timeout=5.0))
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if self._closing:
                        return
                    if self._subscribed:
                        log.warning("lost the stop-request subscription to Redis at %s (%s); "
                                    "reconnecting", self._where, _reason(exc))
                    self._subscribed = False
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
                finally:
                    with contextlib.suppress(Exception):
                        await asyncio.shield(pubsub.aclose())
        finally:
            self._subscribed = False

    async def _confirmed(self, pubsub: Any) -> None:
        """Wait for the server's confirmation of SUBSCRIBE (from then on nothing is missed)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.socket_timeout
        while True:
            message = await pubsub.get_message(timeout=max(0.0, deadline - loop.time()))
            if message is not None and message.get("type") == "subscribe":
                return
            self._dispatch(message)
            if loop.time() >= deadline:
                raise TimeoutError("Redis did not confirm the subscription in time")

    async def _check_stop_flags(self) -> None:
        runs = list(self._local_runs)
        if not runs:
            return
        flags = await self._client().mget([self._key("stop", tid) for tid, _ in runs])
        for (tid, run), flag in zip(runs, flags, strict=True):
            if flag is not None and _text(flag) == run:
                self._fire(tid, run)

    def _dispatch(self, message: dict[str, Any] | None) -> None:
        if message is not None and message.get("type") == "message":
            self._on_stop(message["data"])

    def _on_stop(self, data: bytes | str) -> None:
        try:
            message = json.loads(data)
            self._fire(str(message["t"]), str(message["r"]))
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed stop request on %s: %r", self._channel, data)

    def _fire(self, thread_id: str, run_id: str) -> None:
        if (thread_id, run_id) in self._local_runs:
            self._signals.fire(thread_id, run_id)

    def _forget(self, thread_id: str, run_id: str) -> None:
        self._local_runs.discard((thread_id, run_id))
        self._signals.discard(thread_id, run_id)


def _listing_key(created_at: float, thread_id: str) -> str:
    """A member of the listing sets: ordered by member, so by creation, then thread id."""
    return f"{max(0.0, created_at):020.6f}|{thread_id}"


def _encode_listing_cursor(member: str) -> str:
    return base64.urlsafe_b64encode(member.encode()).decode().rstrip("=")


def _decode_listing_cursor(cursor: str) -> str:
    try:
        member = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        member = ""
    head = member.split("|", 1)[0]
    if len(head) != 20 or "|" not in member or not head.replace(".", "", 1).isdigit():
        raise InvalidCursorError(f"'{cursor[:80]}' is not a cursor this server handed out.")
    return member


def _entries(raw: list[bytes | str]) -> list[list[Any]]:
    """History entries (each a JSON array) decoded at once."""
    if not raw:
        return []
    if isinstance(raw[0], bytes):
        return list(json.loads(b"[" + b",".join(raw) + b"]"))  # type: ignore[arg-type]
    return list(json.loads("[" + ",".join(raw) + "]"))  # type: ignore[arg-type]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    text = text.rstrip(".")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
