"""Run leases name their store instance, and each instance heartbeats (issue 13, defect 3): a
lease whose process was killed (SIGKILL, no release) frees its thread once the instance's
heartbeat expires (``instance_ttl_seconds``), long before the lease's own expiry; a live holder
is never taken, however long it runs. Real redis-server, the holder in another OS process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis

from copilotkit_store_redis import RedisStore

pytestmark = pytest.mark.anyio

INSTANCE_TTL = 2.0
LEASE_TTL = 600  # the dead holder's lease would keep the thread this long without heartbeats

HOLDER = textwrap.dedent("""
    import asyncio, sys
    from copilotkit_store_redis import RedisOptions, RedisStore

    async def main(url, prefix, tid, instance_ttl):
        store = RedisStore(RedisOptions(url=url, key_prefix=prefix,
                                        instance_ttl_seconds=float(instance_ttl)))
        await store.open()
        lease = await store.acquire_run_lock(tid, "run-of-the-dead", 600)
        assert lease is not None
        print("holding", store.instance_id, flush=True)
        await asyncio.sleep(3600)  # holds, heartbeating, never renewing: the lease is 600 s

    asyncio.run(main(*sys.argv[1:]))
""")


def _tid() -> str:
    return f"thread-{uuid.uuid4().hex}"


async def _holder(redis_url: str, key_prefix: str, tid: str) -> tuple[subprocess.Popen[str], str]:
    holder = await asyncio.to_thread(
        subprocess.Popen, [sys.executable, "-c", HOLDER, redis_url, key_prefix, tid,
                           str(INSTANCE_TTL)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    line = await asyncio.to_thread(holder.stdout.readline)
    assert line.startswith("holding "), holder.stderr.read() if holder.stderr else ""
    return holder, line.split()[1]


async def test_a_killed_holders_lease_frees_within_its_heartbeat_and_a_live_one_never(
        redis_url: str, key_prefix: str, make_store: Callable[..., RedisStore]) -> None:
    tid = _tid()
    holder, instance = await _holder(redis_url, key_prefix, tid)
    store = make_store(instance_ttl_seconds=INSTANCE_TTL)
    await store.open()
    try:
        # Alive for several heartbeat periods: never taken, and a stop reaches it.
        for _ in range(3):
            assert await store.acquire_run_lock(tid, "intruder", 10) is None
            await asyncio.sleep(INSTANCE_TTL)
        assert await store.request_stop(tid) is True
        assert holder.poll() is None

        holder.kill()  # SIGKILL: no release, its lease has ~10 minutes left
        await asyncio.to_thread(holder.wait, 10)
        lease = None
        deadline = time.monotonic() + 30  # a bound far below the 600 s lease, not a timing
        while lease is None and time.monotonic() < deadline:
            lease = await store.acquire_run_lock(tid, "survivor", 10)
            if lease is None:
                await asyncio.sleep(0.05)
        assert lease is not None, "the killed holder's lease was not freed"
        client = aioredis.Redis.from_url(redis_url)
        try:
            assert await client.exists(f"{key_prefix}instance:{instance}") == 0
            left = await client.pttl(f"{key_prefix}lock:{tid}")
            assert 0 < left <= 10_000  # the survivor's lease now, not the dead one's
        finally:
            await client.aclose()
        assert await lease.renew() is True
        await lease.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        await store.close()


async def test_stop_for_a_dead_holders_run_says_no_run_and_frees_the_thread(
        redis_url: str, key_prefix: str, make_store: Callable[..., RedisStore]) -> None:
    tid = _tid()
    holder, _ = await _holder(redis_url, key_prefix, tid)
    holder.kill()
    await asyncio.to_thread(holder.wait, 10)
    store = make_store(instance_ttl_seconds=INSTANCE_TTL)
    await store.open()
    try:
        deadline = time.monotonic() + 30
        stopped = True
        while stopped and time.monotonic() < deadline:
            stopped = await store.request_stop(tid)
            if stopped:
                await asyncio.sleep(0.05)
        assert stopped is False  # a dead instance's lease is not a run
        client = aioredis.Redis.from_url(redis_url)
        try:
            assert await client.exists(f"{key_prefix}lock:{tid}") == 0
        finally:
            await client.aclose()
    finally:
        await store.close()


async def test_a_run_id_reused_by_another_instance_does_not_take_a_live_lease(
        make_store: Callable[..., RedisStore]) -> None:
    a, b = make_store(), make_store()
    await a.open()
    await b.open()
    tid = _tid()
    try:
        lease = await a.acquire_run_lock(tid, "same-id", 10)
        assert lease is not None
        # Before leases named their instance, the same run id took the lock again.
        assert await b.acquire_run_lock(tid, "same-id", 10) is None
        assert await a.acquire_run_lock(tid, "same-id", 10) is None
        await lease.release()
        again = await b.acquire_run_lock(tid, "same-id", 10)
        assert again is not None
        assert await lease.renew() is False  # the old lease is not the new one
        assert await again.renew() is True
        await again.release()
    finally:
        await a.close()
        await b.close()


async def test_a_closed_store_ends_its_heartbeat(make_store: Callable[..., RedisStore],
                                                 redis_url: str, key_prefix: str) -> None:
    store = make_store(instance_ttl_seconds=INSTANCE_TTL)
    await store.open()
    key = f"{key_prefix}instance:{store.instance_id}"
    client = aioredis.Redis.from_url(redis_url)
    try:
        await asyncio.sleep(INSTANCE_TTL * 2)  # refreshed, not expired
        assert await client.exists(key) == 1
        await store.close()
        assert await client.exists(key) == 0
    finally:
        await client.aclose()
