"""Run leases name their store instance, and each instance heartbeats (issue 13, defect 3): a
lease whose process was killed (SIGKILL, no release) frees its thread once the instance's
heartbeat row expires (``instance_ttl_seconds``), long before the lease's own expiry; a live
holder is never taken, however long it runs. Real PostgreSQL, the holder in another OS
process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable

import psycopg
import pytest

from copilotkit_store_postgres import PostgresStore

pytestmark = pytest.mark.anyio

INSTANCE_TTL = 1.5
LEASE_TTL = 600  # the dead holder's lease would keep the thread this long without heartbeats

HOLDER = textwrap.dedent("""
    import asyncio, sys
    from copilotkit_store_postgres import PostgresOptions, PostgresStore

    async def main(url, schema, tid, instance_ttl):
        store = PostgresStore(PostgresOptions(url=url, schema=schema,
                                              instance_ttl_seconds=float(instance_ttl),
                                              stop_poll_interval=0.1))
        await store.open()
        lease = await store.acquire_run_lock(tid, "run-of-the-dead", 600)
        assert lease is not None
        print("holding", store.instance_id, flush=True)
        await lease.wait_for_stop()
        print("stop heard", flush=True)
        await asyncio.sleep(3600)  # holds, heartbeating, never renewing: the lease is 600 s

    asyncio.run(main(*sys.argv[1:]))
""")


def _tid() -> str:
    return f"thread-{uuid.uuid4().hex}"


async def _holder(pg_url: str, schema: str, tid: str) -> tuple[subprocess.Popen[str], str]:
    holder = await asyncio.to_thread(
        subprocess.Popen, [sys.executable, "-c", HOLDER, pg_url, schema, tid, str(INSTANCE_TTL)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    line = await asyncio.to_thread(holder.stdout.readline)
    assert line.startswith("holding "), holder.stderr.read() if holder.stderr else ""
    return holder, line.split()[1]


def _rows(pg_url: str, query: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        return conn.execute(query, params).fetchall()


async def _kill(holder: subprocess.Popen[str]) -> None:
    if holder.poll() is None:
        holder.kill()  # SIGKILL: no release, no goodbye
    await asyncio.to_thread(holder.wait, 10)


async def test_a_killed_holders_lease_frees_within_its_heartbeat_and_a_live_one_never(
        pg_url: str, pg_schema: str, make_store: Callable[..., PostgresStore]) -> None:
    tid = _tid()
    holder, instance = await _holder(pg_url, pg_schema, tid)
    store = make_store(instance_ttl_seconds=INSTANCE_TTL)
    await store.open()
    try:
        # Alive for several heartbeat periods: never taken, and a stop reaches it.
        for _ in range(3):
            assert await store.acquire_run_lock(tid, "intruder", 10) is None
            assert await store.acquire_run_lock(tid, "run-of-the-dead", 10) is None
            await asyncio.sleep(INSTANCE_TTL)
        assert await store.request_stop(tid) is True
        assert holder.stdout is not None
        assert (await asyncio.to_thread(holder.stdout.readline)).strip() == "stop heard"
        assert holder.poll() is None

        await _kill(holder)  # its lease has ~10 minutes left
        lease = None
        deadline = time.monotonic() + 30  # a bound far below the 600 s lease, not a timing
        while lease is None and time.monotonic() < deadline:
            lease = await store.acquire_run_lock(tid, "survivor", 10)
            if lease is None:
                await asyncio.sleep(0.05)
        assert lease is not None, "the killed holder's lease was not freed"
        [(owner, left)] = _rows(
            pg_url, f'SELECT instance_id, extract(epoch FROM expires_at - clock_timestamp()) '
                    f'FROM "{pg_schema}"."copilotkit_locks" WHERE thread_id = %s', tid)
        assert owner == store.instance_id and owner != instance
        assert 0 < float(left) <= 10  # the survivor's lease now, not the dead one's
        assert await lease.renew() is True
        await lease.release()
    finally:
        await _kill(holder)
        await store.close()


async def test_stop_for_a_dead_holders_run_says_no_run_and_frees_the_thread(
        pg_url: str, pg_schema: str, make_store: Callable[..., PostgresStore]) -> None:
    tid = _tid()
    holder, _ = await _holder(pg_url, pg_schema, tid)
    store = make_store(instance_ttl_seconds=INSTANCE_TTL)
    await store.open()
    try:
        assert await store.request_stop(tid, "other-run") is False
        await _kill(holder)
        deadline = time.monotonic() + 30
        stopped = True
        while stopped and time.monotonic() < deadline:
            stopped = await store.request_stop(tid)
            if stopped:
                await asyncio.sleep(0.05)
        assert stopped is False  # a dead instance's lease is not a run
        assert _rows(pg_url, f'SELECT 1 FROM "{pg_schema}"."copilotkit_locks" '
                             "WHERE thread_id = %s", tid) == []
    finally:
        await _kill(holder)
        await store.close()



async def test_a_closed_store_ends_its_heartbeat_and_a_live_one_keeps_it(
        pg_url: str, pg_schema: str, make_store: Callable[..., PostgresStore]) -> None:
    store = make_store(instance_ttl_seconds=INSTANCE_TTL)
    await store.open()
    query = (f'SELECT expires_at > clock_timestamp() FROM "{pg_schema}"."copilotkit_instances" '
             "WHERE instance_id = %s")
    assert _rows(pg_url, query, store.instance_id) == [(True,)]
    await asyncio.sleep(INSTANCE_TTL * 2)  # refreshed, not expired
    assert _rows(pg_url, query, store.instance_id) == [(True,)]
    await store.close()
    assert _rows(pg_url, query, store.instance_id) == []


async def test_the_sweep_clears_dead_holders_locks_and_heartbeats(
        pg_url: str, pg_schema: str, make_store: Callable[..., PostgresStore]) -> None:
    """Lock rows of killed holders do not stay forever (issue 13: they were never cleaned)."""
    tid = _tid()
    holder, instance = await _holder(pg_url, pg_schema, tid)
    await _kill(holder)
    store = make_store(instance_ttl_seconds=INSTANCE_TTL, sweep_interval=0.2)
    await store.open()
    try:
        locks = f'SELECT 1 FROM "{pg_schema}"."copilotkit_locks" WHERE thread_id = %s'
        beats = f'SELECT 1 FROM "{pg_schema}"."copilotkit_instances" WHERE instance_id = %s'
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not (_rows(pg_url, locks, tid) or _rows(pg_url, beats, instance)):
                break
            await asyncio.sleep(0.1)
        assert _rows(pg_url, locks, tid) == []
        assert _rows(pg_url, beats, instance) == []
        # a live one's lock and heartbeat stay
        lease = await store.acquire_run_lock(tid, "live", LEASE_TTL)
        assert lease is not None
        await asyncio.sleep(INSTANCE_TTL * 2)
        assert _rows(pg_url, locks, tid) == [(1,)]
        assert _rows(pg_url, beats, store.instance_id) == [(1,)]
        assert await lease.renew() is True
        await lease.release()
    finally:
        await store.close()


async def test_a_lock_row_of_an_older_release_holds_until_it_expires(
        pg_url: str, pg_schema: str, store: PostgresStore) -> None:
    """Rows from before schema version 4 name no instance: alive until their own expiry."""
    tid = _tid()
    _rows(pg_url, f'INSERT INTO "{pg_schema}"."copilotkit_locks" (thread_id, run_id, expires_at)'
                  " VALUES (%s, 'old', clock_timestamp() + interval '1 second') RETURNING 1", tid)
    assert await store.acquire_run_lock(tid, "new", 10) is None
    assert await store.request_stop(tid) is True
    await asyncio.sleep(1.2)
    lease = await store.acquire_run_lock(tid, "new", 10)
    assert lease is not None
    await lease.release()
