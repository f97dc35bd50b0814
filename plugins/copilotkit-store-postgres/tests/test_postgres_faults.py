"""Faults of the PostgreSQL store against a private server: unreachable at open, restarted
under open stores (clear ``StoreError``s while it is down, everything back once it is up, stop
notifications resumed), secrets never in messages, migrations idempotent."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import psycopg
import pytest
from pg_store_helpers import PostgresServer, free_port

from copilotkit_runtime.errors import StoreError, VersionConflictError
from copilotkit_runtime.stores import ThreadRecord
from copilotkit_store_postgres import PostgresOptions, PostgresStore
from copilotkit_store_postgres.schema import SCHEMA_VERSION

pytestmark = pytest.mark.anyio


def _with_password(url: str, password: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{password}@")


async def test_an_unreachable_database_is_a_clear_error_without_the_password() -> None:
    url = f"postgresql://app:hunter2-secret@127.0.0.1:{free_port()}/app"
    store = PostgresStore(PostgresOptions(url=url, connect_timeout=1))
    with pytest.raises(StoreError) as caught:
        await store.open()
    message = str(caught.value)
    assert "hunter2-secret" not in message
    assert "postgresql://app:***@127.0.0.1" in message and "[store.postgres] url" in message
    assert "hunter2-secret" not in str(store.describe())


async def test_fail_fast_off_starts_and_migrates_once_the_database_is_up() -> None:
    server = PostgresServer()
    try:
        store = PostgresStore(PostgresOptions(url=server.url, fail_fast=False, connect_timeout=1,
                                              pool_timeout=1))
        await store.open()  # nothing listens yet
        try:
            with pytest.raises(StoreError):
                await store.ping()
            server.start()
            for _ in range(100):
                try:
                    await store.ping()
                    break
                except StoreError:
                    await asyncio.sleep(0.1)
            saved = await store.save_thread(ThreadRecord("t", "agent", state={"up": True}))
            assert saved.version == 1
        finally:
            await store.close()
    finally:
        server.close()


async def test_migrations_are_recorded_and_idempotent(make_store: Callable[..., PostgresStore],
                                                      pg_url: str, pg_schema: str) -> None:
    first, second = make_store(), make_store()
    await asyncio.gather(first.open(), second.open())  # two instances starting together
    try:
        await first.save_thread(ThreadRecord("t", "agent"))
        again = make_store()
        await again.open()
        await again.close()
        assert (await second.get_thread("t", "agent")) is not None
    finally:
        await first.close()
        await second.close()
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(f'SELECT version FROM "{pg_schema}"."copilotkit_schema_version"'
                            ).fetchall()
    assert [r[0] for r in rows] == list(range(1, SCHEMA_VERSION + 1))


async def test_a_newer_schema_is_refused(make_store: Callable[..., PostgresStore], pg_url: str,
                                         pg_schema: str) -> None:
    store = make_store()
    await store.open()
    await store.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'INSERT INTO "{pg_schema}"."copilotkit_schema_version" VALUES (999)')
    with pytest.raises(StoreError, match="newer than this plugin"):
        await make_store().open()


async def test_a_restart_costs_clear_errors_only_and_everything_resumes(
        own_postgres: PostgresServer) -> None:
    url = _with_password(own_postgres.url, "pw-never-shown")
    options = PostgresOptions(url=url, schema="faults", connect_timeout=1, pool_timeout=1,
                              stop_poll_interval=0.1)
    holder, other = PostgresStore(options), PostgresStore(options)
    await holder.open()
    await other.open()
    try:
        tid = f"t-{uuid.uuid4().hex}"
        saved = await holder.save_thread(ThreadRecord(tid, "agent", state={"n": 1}))
        await holder.append_events(tid, "r1", [{"type": "A"}])
        lease = await holder.acquire_run_lock(tid, "r1", 30)
        assert lease is not None

        own_postgres.stop("immediate")
        with pytest.raises(StoreError) as caught:
            await other.get_thread(tid, "agent")
        assert "pw-never-shown" not in str(caught.value)
        assert "postgres:***@127.0.0.1" in str(caught.value)
        with pytest.raises(StoreError):
            await other.save_thread(saved.evolve(state={"n": 2}), expected_version=1)
        own_postgres.start()

        async def back() -> ThreadRecord | None:
            for _ in range(100):
                try:
                    return await other.get_thread(tid, "agent")
                except StoreError:
                    await asyncio.sleep(0.1)
            raise AssertionError("the store did not come back")

        got = await back()
        assert got is not None and (got.state, got.version) == ({"n": 1}, 1)  # nothing torn
        assert await lease.renew() is True  # the lock row survived the restart
        updated = await other.save_thread(got.evolve(state={"n": 2}), expected_version=1)
        assert updated.version == 2
        with pytest.raises(VersionConflictError):
            await holder.save_thread(got.evolve(state={"n": 3}), expected_version=1)
        assert [e.event for e in await other.get_events(tid)] == [{"type": "A"}]

        # the holder's LISTEN connection came back: a stop from the other store reaches it
        waiter = asyncio.ensure_future(lease.wait_for_stop())
        for _ in range(100):
            if holder._listening:
                break
            await asyncio.sleep(0.1)
        assert await other.request_stop(tid) is True
        await asyncio.wait_for(waiter, timeout=10)
        await lease.release()
        assert "pw-never-shown" not in str(holder.describe())
    finally:
        await holder.close()
        await other.close()


async def test_history_rows_from_before_agents_were_recorded_are_every_agents(
        make_store: Callable[..., PostgresStore], pg_url: str, pg_schema: str) -> None:
    """Schema 3 adds events.agent: rows written before have none and every agent sees them."""
    store = make_store()
    await store.open()
    try:
        await store.append_events("t-old", "old", [{"i": 0}])  # no agent, as before
        await store.append_events("t-old", "r-b", [{"i": 1}], agent="b")
        await store.append_events("t-old", "r-a", [{"i": 2}], agent="a")
        mine = await store.get_events("t-old", agent="a")
        assert [(e.seq, e.run_id, e.agent) for e in mine] == [(1, "old", None), (3, "r-a", "a")]
        assert [e.run_id for e in await store.get_events("t-old")] == ["old", "r-b", "r-a"]
    finally:
        await store.close()
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(f'SELECT seq, agent FROM "{pg_schema}"."copilotkit_events" '
                            "WHERE thread_id = 't-old' ORDER BY seq").fetchall()
    assert rows == [(1, None), (2, "b"), (3, "a")]
