"""Several instances sharing one Redis behave as one: no lost update between writers in other
processes, run locks that hold across instances and expire after a crash, stop requests that
reach the run wherever it is, and state written on one instance read on another."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from ag_ui.core import EventType

from copilotkit_runtime import Runtime
from copilotkit_runtime.errors import ThreadBusyError
from copilotkit_runtime.stores import ThreadRecord, update_thread
from copilotkit_runtime.testing import make_runtime, run_request
from copilotkit_store_redis import RedisStore

pytestmark = pytest.mark.anyio

LONG_TEXT = " ".join(f"word{i}" for i in range(400))


def _tid() -> str:
    return f"thread-{uuid.uuid4().hex}"


def _bump(record: ThreadRecord) -> ThreadRecord:
    return record.evolve(state={**record.state, "count": record.state.get("count", 0) + 1})


# -- concurrent writers ----------------------------------------------------------------------------

async def test_two_instances_updating_one_thread_lose_nothing(
        make_store: Callable[..., RedisStore]) -> None:
    a, b = make_store(), make_store()
    await a.open()
    await b.open()
    tid = _tid()
    try:
        await asyncio.gather(*(update_thread(store, tid, "agent", _bump, attempts=500)
                               for store in (a, b) for _ in range(25)))
        got = await a.get_thread(tid, "agent")
        assert got is not None and got.state["count"] == 50 and got.version == 50
    finally:
        await a.close()
        await b.close()


WRITER = textwrap.dedent("""
    import asyncio, sys
    from copilotkit_runtime.stores import update_thread
    from copilotkit_store_redis import RedisOptions, RedisStore

    async def main(url, prefix, tid, n):
        store = RedisStore(RedisOptions(url=url, key_prefix=prefix))
        await store.open()
        def bump(record):
            return record.evolve(state={"count": record.state.get("count", 0) + 1})
        try:
            await asyncio.gather(*(update_thread(store, tid, "agent", bump, attempts=1000)
                                   for _ in range(n)))
        finally:
            await store.close()

    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
""")


async def test_writers_in_separate_processes_lose_nothing(redis_url: str, key_prefix: str,
                                                          make_store: Callable[..., RedisStore]
                                                          ) -> None:
    tid = _tid()
    writers = [await asyncio.to_thread(
        subprocess.Popen, [sys.executable, "-c", WRITER, redis_url, key_prefix, tid, "40"],
        stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for writer in writers:
        _, err = await asyncio.to_thread(writer.communicate, timeout=120)
        assert writer.returncode == 0, err
    store = make_store()
    await store.open()
    try:
        got = await store.get_thread(tid, "agent")
        assert got is not None and got.state["count"] == 120 and got.version == 120
    finally:
        await store.close()


async def test_concurrent_appends_from_two_instances_get_distinct_sequence_numbers(
        make_store: Callable[..., RedisStore]) -> None:
    a, b = make_store(), make_store()
    await a.open()
    await b.open()
    tid = _tid()
    try:
        await asyncio.gather(*(store.append_events(tid, f"{name}{i}", [{"i": i}, {"i": i}])
                               for name, store in (("a", a), ("b", b)) for i in range(20)))
        events = await b.get_events(tid)
        assert [e.seq for e in events] == list(range(1, 81))
    finally:
        await a.close()
        await b.close()


# -- locks ---------------------------------------------------------------------------------------

async def test_a_run_lock_holds_across_instances(make_store: Callable[..., RedisStore]) -> None:
    a, b = make_store(), make_store()
    await a.open()
    await b.open()
    tid = _tid()
    try:
        lease = await a.acquire_run_lock(tid, "run-a", 10)
        assert lease is not None
        assert await b.acquire_run_lock(tid, "run-b", 10) is None
        assert await lease.renew() is True
        await lease.release()
        other = await b.acquire_run_lock(tid, "run-b", 10)
        assert other is not None
        assert await lease.renew() is False
        await other.release()
    finally:
        await a.close()
        await b.close()


HOLDER = textwrap.dedent("""
    import asyncio, sys
    from copilotkit_store_redis import RedisOptions, RedisStore

    async def main(url, prefix, tid):
        store = RedisStore(RedisOptions(url=url, key_prefix=prefix))
        await store.open()
        lease = await store.acquire_run_lock(tid, "crashing-run", 1.5)
        assert lease is not None
        while True:  # renew like the engine does, until killed
            assert await lease.renew()
            print("renewed", flush=True)
            await asyncio.sleep(0.3)

    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
""")


async def test_a_crashed_holder_does_not_lock_the_thread_forever(
        redis_url: str, key_prefix: str, make_store: Callable[..., RedisStore]) -> None:
    tid = _tid()
    holder = await asyncio.to_thread(
        subprocess.Popen, [sys.executable, "-c", HOLDER, redis_url, key_prefix, tid],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = make_store()
    await store.open()
    try:
        assert holder.stdout is not None
        line = await asyncio.to_thread(holder.stdout.readline)
        assert line.strip() == "renewed", holder.stderr.read() if holder.stderr else ""
        assert await store.acquire_run_lock(tid, "survivor", 10) is None
        holder.kill()  # SIGKILL: no release, no goodbye
        await asyncio.to_thread(holder.wait, 10)
        lease = None
        for _ in range(300):  # the lock expires 1.5 s after the last renewal
            lease = await store.acquire_run_lock(tid, "survivor", 10)
            if lease is not None:
                break
            await asyncio.sleep(0.05)
        assert lease is not None, "the crashed holder's lock never expired"
        await lease.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        await store.close()


async def test_stop_requested_on_one_instance_reaches_the_holder_on_another(
        make_store: Callable[..., RedisStore]) -> None:
    # A stop_poll_interval far longer than the test: only the pub/sub notification can do it.
    a, b = make_store(stop_poll_interval=3600), make_store()
    await a.open()
    await b.open()
    tid = _tid()
    try:
        await _subscribed(a)
        lease = await a.acquire_run_lock(tid, "run-a", 10)
        assert lease is not None
        waiter = asyncio.ensure_future(lease.wait_for_stop())
        assert await b.request_stop(tid, "another-run") is False
        assert await b.request_stop(tid) is True
        await asyncio.wait_for(waiter, timeout=10)
        await lease.release()
        assert await b.request_stop(tid) is False
    finally:
        await a.close()
        await b.close()


async def _pause_listener(store: RedisStore) -> None:
    """Stop the store's subscriber, as a lost connection would (until it resubscribes)."""
    listener = store._listener
    assert listener is not None
    listener.cancel()
    await asyncio.wait({listener})
    assert store.describe()["stop_notifications"] != "subscribed"


async def _subscribed(store: RedisStore) -> None:
    for _ in range(500):
        if store.describe()["stop_notifications"] == "subscribed":
            return
        await asyncio.sleep(0.02)
    raise TimeoutError("the store never subscribed to stop requests")


async def test_a_stop_missed_while_unsubscribed_is_polled_for(
        make_store: Callable[..., RedisStore]) -> None:
    a, b = make_store(stop_poll_interval=0.05), make_store()
    await a.open()
    await b.open()
    tid = _tid()
    try:
        await _subscribed(a)
        await _pause_listener(a)
        lease = await a.acquire_run_lock(tid, "run-a", 10)
        assert lease is not None
        waiter = asyncio.ensure_future(lease.wait_for_stop())
        assert await b.request_stop(tid) is True  # the notification goes nowhere
        await asyncio.wait_for(waiter, timeout=10)
        await lease.release()
    finally:
        await a.close()
        await b.close()


async def test_a_stop_missed_while_unsubscribed_is_found_on_resubscribing(
        make_store: Callable[..., RedisStore]) -> None:
    a, b = make_store(stop_poll_interval=3600), make_store()
    await a.open()
    await b.open()
    tid = _tid()
    try:
        await _subscribed(a)
        await _pause_listener(a)
        lease = await a.acquire_run_lock(tid, "run-a", 10)
        assert lease is not None
        waiter = asyncio.ensure_future(lease.wait_for_stop())
        assert await b.request_stop(tid) is True  # the notification goes nowhere
        await asyncio.sleep(0.2)
        assert not waiter.done()
        a._listener = asyncio.get_running_loop().create_task(a._listen())  # "reconnected"
        await asyncio.wait_for(waiter, timeout=10)
        await lease.release()
    finally:
        await a.close()
        await b.close()


# -- two runtimes, one Redis -------------------------------------------------------------------

def _config(redis_url: str, key_prefix: str, **store: Any) -> dict[str, Any]:
    return {
        "store": {"type": "redis", "lock_ttl_seconds": 5,
                  "redis": {"url": redis_url, "key_prefix": key_prefix, **store}},
        "agents": {"demo": {"provider": "demo", "chunk_delay": 0.05}},
    }


@pytest.fixture
async def two_runtimes(redis_url: str, key_prefix: str,
                       tmp_path: Path) -> AsyncIterator[tuple[Runtime, Runtime]]:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = make_runtime(_config(redis_url, key_prefix, stop_poll_interval=3600),
                     tmp_path=tmp_path / "a", load_entry_points=True)
    b = make_runtime(_config(redis_url, key_prefix), tmp_path=tmp_path / "b", load_entry_points=True)
    await a.startup()
    await b.startup()
    try:
        yield a, b
    finally:
        await a.shutdown()
        await b.shutdown()


async def test_state_of_a_run_on_one_runtime_is_loaded_on_the_other(
        two_runtimes: tuple[Runtime, Runtime]) -> None:
    a, b = two_runtimes
    tid = _tid()
    run = await a.engine.start(run_request("demo", "remember me", thread_id=tid))
    events = [e async for e in run.events()]
    assert events[-1].type is EventType.RUN_FINISHED
    snapshot = await b.engine.load_thread("demo", tid)
    assert snapshot.exists
    assert snapshot.state["last_message"] == "remember me"
    assert snapshot.state["turns"] == 1
    assert [m["role"] for m in snapshot.messages] == ["user", "assistant"]
    # and the next run, on the other instance, continues from it
    second = await b.engine.start(run_request("demo", "and again", thread_id=tid))
    assert [e async for e in second.events()][-1].type is EventType.RUN_FINISHED
    assert (await a.engine.load_thread("demo", tid)).state["turns"] == 2
    history = await a.store.get_events(tid)
    assert {e.run_id for e in history} == {run.request.run_id, second.request.run_id}


async def test_a_thread_running_on_one_runtime_is_busy_on_the_other_and_stops_from_it(
        two_runtimes: tuple[Runtime, Runtime]) -> None:
    a, b = two_runtimes
    tid = _tid()
    run = await a.engine.start(run_request("demo", LONG_TEXT, thread_id=tid))
    seen: list[Any] = []
    first_text = asyncio.Event()

    async def consume() -> None:
        async for event in run.events():
            seen.append(event)
            if event.type is EventType.TEXT_MESSAGE_CONTENT:
                first_text.set()

    consumer = asyncio.ensure_future(consume())
    await asyncio.wait_for(first_text.wait(), timeout=30)
    with pytest.raises(ThreadBusyError):
        await b.engine.start(run_request("demo", "me too", thread_id=tid))
    assert await b.engine.stop(tid) is True
    await asyncio.wait_for(consumer, timeout=30)
    assert run.outcome == "stopped"
    assert seen[-1].type is EventType.RUN_FINISHED
    words = sum(1 for e in seen if e.type is EventType.TEXT_MESSAGE_CONTENT)
    assert words < 400, "the run went on to the end instead of stopping"
    # the thread is free again, on either instance
    after = await b.engine.start(run_request("demo", "now me", thread_id=tid))
    assert [e async for e in after.events()][-1].type is EventType.RUN_FINISHED
