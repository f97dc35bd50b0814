"""What the contract does not cover: the PostgreSQL store between two store instances (as two
processes use it), data fidelity, isolation, bad input and housekeeping."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable

import psycopg
import pytest

from copilotkit_runtime.errors import StoreError
from copilotkit_runtime.stores import LiveBatch, ThreadRecord
from copilotkit_store_postgres import PostgresStore

pytestmark = pytest.mark.anyio


def _tid() -> str:
    return f"thread-{uuid.uuid4().hex}"


async def test_state_keeps_its_key_order_and_odd_characters(store: PostgresStore) -> None:
    tid = _tid()
    state = {"zeta": 1, "alpha": {"b": 2, "a": "nul\u0000 and ü 🙂"}, "": [None, 1.5]}
    await store.save_thread(ThreadRecord(tid, "agent", state=state))
    got = await store.get_thread(tid, "agent")
    assert got is not None
    assert json.dumps(got.state) == json.dumps(state)  # same keys in the same order
    await store.append_events(tid, "r1", [{"type": "X", "delta": "\u0000\u2028"}])
    assert (await store.get_events(tid))[0].event == {"type": "X", "delta": "\u0000\u2028"}


async def test_appends_at_once_from_two_instances_take_distinct_seqs(
        store: PostgresStore, make_store: Callable[..., PostgresStore]) -> None:
    """An append is one statement: its seqs are taken and its rows written atomically, so
    appends racing from two store instances interleave whole and leave no gap or duplicate."""
    other = make_store()
    await other.open()
    try:
        tid = _tid()
        events = [{"z": 1, "a": [1.0, 2**70, "é\\\"\u2028🙂"], "type": "X"}, {}, {"type": "Y"}]
        await asyncio.gather(*(s.append_events(tid, f"run-{i}", events, agent="agent")
                               for i, s in enumerate([store, other] * 10)))
        got = await other.get_events(tid, agent="agent")
        assert [e.seq for e in got] == list(range(1, 61))
        for i in range(0, 60, 3):  # each append's three events together, in order
            assert len({e.run_id for e in got[i:i + 3]}) == 1
            assert [e.event for e in got[i:i + 3]] == events
        assert json.dumps(got[0].event) == json.dumps(events[0])  # key order as written
        assert isinstance(got[0].event["a"][0], float)
        assert [e.seq for e in await store.get_events(tid, after=58)] == [59, 60]
        assert [e.seq for e in await store.get_events(tid, after=10, limit=2)] == [11, 12]
        assert await store.get_events(tid, agent="someone else") == []
        assert await store.get_events(_tid()) == []
    finally:
        await other.close()


async def test_ids_that_are_not_plain_words(store: PostgresStore) -> None:
    tid = "t'; DROP TABLE x; --\"ü"
    await store.save_thread(ThreadRecord(tid, "a:b", state={"ok": 1}))
    got = await store.get_thread(tid, "a:b")
    assert got is not None and got.state == {"ok": 1}
    assert await store.get_thread(tid, "a") is None


async def test_an_id_postgresql_cannot_hold_is_a_store_error(store: PostgresStore) -> None:
    with pytest.raises(StoreError, match="save thread"):
        await store.save_thread(ThreadRecord("bad\x00id", "agent"))
    await store.ping()  # the store is still usable


async def test_schemas_keep_apps_apart(make_store: Callable[..., PostgresStore], pg_url: str
                                       ) -> None:
    other_schema = f"test_{uuid.uuid4().hex[:12]}"
    one, two = make_store(), make_store(schema=other_schema)
    await one.open()
    await two.open()
    try:
        tid = _tid()
        await one.save_thread(ThreadRecord(tid, "agent"))
        assert await two.get_thread(tid, "agent") is None
        lease = await one.acquire_run_lock(tid, "r1", 10)
        assert lease is not None
        other = await two.acquire_run_lock(tid, "r2", 10)
        assert other is not None
        await lease.release()
        await other.release()
    finally:
        await one.close()
        await two.close()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{other_schema}" CASCADE')


async def test_two_instances_share_locks_stops_and_the_live_relay(
        make_store: Callable[..., PostgresStore]) -> None:
    a, b = make_store(live_poll_interval=30.0), make_store(live_poll_interval=30.0)
    await a.open()
    await b.open()
    try:
        for store in (a, b):
            for _ in range(100):
                if store._listening:
                    break
                await asyncio.sleep(0.05)
        tid = _tid()
        lease = await a.acquire_run_lock(tid, "r1", 10)
        assert lease is not None
        assert await b.acquire_run_lock(tid, "r2", 10) is None
        await a.publish_live(tid, "r1", [{"n": 0}], final=False)
        follow = b.follow_live(tid)
        first = await asyncio.wait_for(anext(follow), timeout=10)
        assert first == LiveBatch("r1", [{"n": 0}], False)
        # with a 30 s poll interval only the NOTIFY can bring the next batch this soon
        await a.publish_live(tid, "r1", [{"n": 1}], final=False)
        second = await asyncio.wait_for(anext(follow), timeout=10)
        assert second.events == [{"n": 1}]
        await a.publish_live(tid, "r1", [{"n": 2}], final=True)
        last = await asyncio.wait_for(anext(follow), timeout=10)
        assert last.final and last.events == [{"n": 2}]
        await follow.aclose()

        waiter = asyncio.ensure_future(lease.wait_for_stop())
        await asyncio.sleep(0.05)
        assert not waiter.done()
        assert await b.request_stop(tid, "r1") is True
        await asyncio.wait_for(waiter, timeout=5)
        await lease.release()
        assert await b.request_stop(tid) is False
    finally:
        await a.close()
        await b.close()


async def test_a_run_that_lost_its_lock_cannot_disturb_its_successor_s_relay(
        store: PostgresStore) -> None:
    tid = _tid()
    old = await store.acquire_run_lock(tid, "old", 0.2)
    assert old is not None
    await store.publish_live(tid, "old", [{"n": "old"}], final=False)
    await asyncio.sleep(0.6)
    new = await store.acquire_run_lock(tid, "new", 10)
    assert new is not None
    await store.publish_live(tid, "new", [{"n": "new"}], final=False)
    await store.publish_live(tid, "old", [{"n": "late"}], final=True)  # ignored
    follow = store.follow_live(tid)
    first = await asyncio.wait_for(anext(follow), timeout=10)
    assert first == LiveBatch("new", [{"n": "new"}], False)
    await follow.aclose()
    await store.publish_live(tid, "new", [], final=True)
    await new.release()


async def test_the_sweep_removes_expired_threads_and_finished_relays(
        make_store: Callable[..., PostgresStore], pg_url: str, pg_schema: str) -> None:
    store = make_store(sweep_interval=0.2, live_relay_linger_seconds=0.1)
    await store.open()
    try:
        tid = _tid()
        await store.save_thread(ThreadRecord(tid, "agent"), ttl=0.1)
        await store.save_thread(ThreadRecord(tid, "kept"))
        lease = await store.acquire_run_lock(tid, "r1", 10)
        assert lease is not None
        await store.publish_live(tid, "r1", [{"n": 0}], final=True)
        await lease.release()

        def count(table: str) -> int:
            with psycopg.connect(pg_url) as conn:
                row = conn.execute(f'SELECT count(*) FROM "{pg_schema}"."copilotkit_{table}"'
                                   ).fetchone()
            assert row is not None
            return int(row[0])

        for _ in range(100):
            if (count("threads"), count("live"), count("live_batches")) == (1, 0, 0):
                break
            await asyncio.sleep(0.1)
        assert (count("threads"), count("live"), count("live_batches")) == (1, 0, 0)
        assert await store.get_thread(tid, "kept") is not None
    finally:
        await store.close()


async def test_describe_is_what_health_shows(make_store: Callable[..., PostgresStore],
                                             pg_url: str) -> None:
    url = pg_url.replace("postgresql://postgres@", "postgresql://postgres:topsecret@")
    store = make_store(url=url)
    info = store.describe()
    assert info["type"] == "postgres" and info["live_relay"] is True
    assert info["url"].startswith("postgresql://postgres:***@")
    assert "topsecret" not in str(info)
