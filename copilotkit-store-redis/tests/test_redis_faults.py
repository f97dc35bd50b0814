"""Faults: Redis unreachable at startup, Redis killed (SIGKILL) and restarted mid-run.

Expected: a clear startup error (``fail_fast = true``) or a not-ready ``/health``
(``fail_fast = false``); runs that were going when Redis went away end with one RUN_ERROR; the
process keeps serving; everything works again once Redis is back; the thread is as it was
before the fault (writes are atomic scripts, so there is nothing half-written)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ag_ui.core import EventType
from redis_store_helpers import (
    GQL_HEADERS,
    RedisServer,
    RuntimeProcess,
    generate_body,
    graphql_available,
    iter_parts,
    load_agent_state,
    runtime_env,
    text_of,
    wait_until,
    write_config,
)

from copilotkit_runtime import Runtime
from copilotkit_runtime.errors import StoreError
from copilotkit_runtime.testing import make_runtime, run_request
from copilotkit_store_redis import RedisStore

pytestmark = pytest.mark.anyio

LONG_TEXT = " ".join(f"word{i}" for i in range(400))


def _tid() -> str:
    return f"thread-{uuid.uuid4().hex}"


def _config(url: str, **store: Any) -> dict[str, Any]:
    return {
        "store": {"type": "redis", "lock_ttl_seconds": 1.5,
                  "redis": {"url": url, "connect_timeout": 0.5, "socket_timeout": 1.0,
                            "stop_poll_interval": 3600, **store}},
        "agents": {"demo": {"provider": "demo", "chunk_delay": 0.05}},
    }


async def _wait_for(condition: Any, what: str, within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _ready(store: Any) -> bool:
    try:
        await store.ping()
    except StoreError:
        return False
    return True


@pytest.fixture
async def runtime(own_redis: RedisServer, tmp_path: Path) -> AsyncIterator[Runtime]:
    runtime = make_runtime(_config(own_redis.url), tmp_path=tmp_path, load_entry_points=True)
    await runtime.startup()
    try:
        yield runtime
    finally:
        await runtime.shutdown()


# -- startup -------------------------------------------------------------------------------------

async def test_unreachable_redis_at_startup_is_a_clear_error(own_redis: RedisServer,
                                                             tmp_path: Path) -> None:
    own_redis.kill()
    runtime = make_runtime(_config(own_redis.url), tmp_path=tmp_path, load_entry_points=True)
    with pytest.raises(StoreError) as caught:
        await runtime.startup()
    message = caught.value.message
    assert f"Cannot connect to the Redis store at redis://127.0.0.1:{own_redis.port}/0" in message
    assert "fail_fast" in message
    assert not runtime.started


def test_serve_exits_with_the_startup_error(own_redis: RedisServer, tmp_path: Path) -> None:
    own_redis.kill()
    config = write_config(tmp_path / "copilotkit.toml", own_redis.url, key_prefix="t:")
    server = RuntimeProcess(config, env=runtime_env(TEST_REDIS_URL=own_redis.url))
    server.start(wait=False)
    assert server.wait(60) != 0
    assert f"Cannot connect to the Redis store at redis://127.0.0.1:{own_redis.port}/0" in server.log()


async def test_without_fail_fast_startup_waits_for_redis(own_redis: RedisServer,
                                                         tmp_path: Path) -> None:
    own_redis.kill()
    runtime = make_runtime(_config(own_redis.url, fail_fast=False), tmp_path=tmp_path, load_entry_points=True)
    await runtime.startup()
    try:
        with pytest.raises(StoreError, match="unavailable"):
            await runtime.store.ping()
        with pytest.raises(StoreError):
            await runtime.engine.start(run_request("demo", "hi"))
        own_redis.start()
        await _wait_for(lambda: _ready(runtime.store), "the store to become ready")
        run = await runtime.engine.start(run_request("demo", "hi"))
        assert [e async for e in run.events()][-1].type is EventType.RUN_FINISHED
        store = runtime.store
        assert isinstance(store, RedisStore)
        await _wait_for(lambda: _subscribed(store), "stop notifications to be subscribed")
    finally:
        await runtime.shutdown()


async def _subscribed(store: RedisStore) -> bool:
    return bool(store.describe()["stop_notifications"] == "subscribed")


def test_health_is_not_ready_until_redis_is_up(own_redis: RedisServer, tmp_path: Path) -> None:
    own_redis.kill()
    config = write_config(tmp_path / "copilotkit.toml", own_redis.url, key_prefix="t:",
                          extra_store="fail_fast = false")
    server = RuntimeProcess(config, env=runtime_env(TEST_REDIS_URL=own_redis.url)).start()
    try:
        health = httpx.get(server.origin + "/health", timeout=10)
        assert health.status_code == 503
        assert health.json()["store"]["ready"] is False
        assert "redis store is not reachable" in health.json()["store"]["error"]
        own_redis.start()
        wait_until(lambda: httpx.get(server.origin + "/health", timeout=10).status_code == 200,
                   what="/health to report ready")
    finally:
        server.stop()


# -- Redis lost mid-run ------------------------------------------------------------------------

async def test_redis_killed_mid_run_fails_the_run_cleanly_and_everything_recovers(
        runtime: Runtime, own_redis: RedisServer) -> None:
    engine, store = runtime.engine, runtime.store
    assert isinstance(store, RedisStore)
    tid = _tid()
    first = await engine.start(run_request("demo", "keep this", thread_id=tid))
    assert [e async for e in first.events()][-1].type is EventType.RUN_FINISHED
    before = await store.get_thread(tid, "demo")
    assert before is not None and before.state["last_message"] == "keep this"

    run = await engine.start(run_request("demo", LONG_TEXT, thread_id=tid))
    events = []
    async for event in run.events():
        events.append(event)
        if event.type is EventType.TEXT_MESSAGE_CONTENT and own_redis.process is not None:
            own_redis.kill()
    terminal = [e for e in events if e.type in (EventType.RUN_FINISHED, EventType.RUN_ERROR)]
    assert len(terminal) == 1 and events[-1] is terminal[0]
    assert terminal[0].type is EventType.RUN_ERROR
    assert terminal[0].code in ("THREAD_LOCK_LOST", "STORE_ERROR"), terminal[0]
    assert run.outcome == "error"

    # while Redis is away: clear errors, no hang
    with pytest.raises(StoreError, match="Redis store at redis://127.0.0.1"):
        await store.ping()
    with pytest.raises(StoreError):
        await engine.start(run_request("demo", "not now", thread_id=_tid()))
    with pytest.raises(StoreError):
        await engine.load_thread("demo", tid)

    own_redis.start()  # same port and directory: the append-only file is replayed
    await _wait_for(lambda: _ready(store), "the store to become ready")
    after = await store.get_thread(tid, "demo")
    assert after is not None
    assert (after.version, after.state, after.messages) == (before.version, before.state,
                                                            before.messages)

    again = await engine.start(run_request("demo", "back again", thread_id=tid))
    assert [e async for e in again.events()][-1].type is EventType.RUN_FINISHED
    snapshot = await engine.load_thread("demo", tid)
    assert snapshot.state["last_message"] == "back again"
    assert snapshot.state["turns"] == before.state["turns"] + 1

    # stop notifications are back too: a stop from another instance reaches a new run here
    await _wait_for(lambda: _subscribed(store), "stop notifications to be subscribed again")
    other = RedisStore(store.options.model_copy())
    await other.open()
    try:
        long_run = await engine.start(run_request("demo", LONG_TEXT, thread_id=tid))
        stopped = False
        async for event in long_run.events():
            if event.type is EventType.TEXT_MESSAGE_CONTENT and not stopped:
                stopped = await other.request_stop(tid)
        assert stopped and long_run.outcome == "stopped"
    finally:
        await other.close()


def test_a_served_runtime_keeps_serving_while_redis_is_down(own_redis: RedisServer,
                                                            tmp_path: Path) -> None:
    config = write_config(tmp_path / "copilotkit.toml", own_redis.url, key_prefix="t:")
    server = RuntimeProcess(config, env=runtime_env(TEST_REDIS_URL=own_redis.url)).start()
    gql = graphql_available(server.url)
    try:
        assert httpx.get(server.origin + "/health", timeout=10).status_code == 200
        tid = _tid()
        if gql:
            parts = _graphql_run(server.url, tid, "before the outage")
            assert "SuccessResponseStatus" in str(parts)
            before = load_agent_state(server.url, "demo", tid)

        own_redis.kill()
        health = httpx.get(server.origin + "/health", timeout=10)
        assert health.status_code == 503 and health.json()["store"]["ready"] is False
        info = httpx.get(server.url, timeout=10)  # the process still answers
        assert info.status_code == 200 and "demo" in info.json()["agents"]
        if gql:
            # a run is refused with the store's error, as a proper GraphQL response
            refused = httpx.post(server.url, json=generate_body("demo", tid, "during"),
                                 headers=GQL_HEADERS, timeout=30)
            assert refused.status_code == 200 and "Redis store" in refused.text, refused.text
            loading = httpx.post(server.url, json={
                "query": "query($data: LoadAgentStateInput!) { loadAgentState(data: $data) "
                         "{ threadExists } }",
                "variables": {"data": {"agentName": "demo", "threadId": tid}}},
                headers=GQL_HEADERS, timeout=30)
            assert loading.json().get("errors"), loading.text

        own_redis.start()
        wait_until(lambda: httpx.get(server.origin + "/health", timeout=10).status_code == 200,
                   what="/health to report ready again")
        assert server.process is not None and server.process.poll() is None
        if gql:
            assert load_agent_state(server.url, "demo", tid) == before
            assert "SuccessResponseStatus" in str(_graphql_run(server.url, tid, "after"))
            assert load_agent_state(server.url, "demo", tid)["state"]["turns"] == 2
    finally:
        server.stop()


def _graphql_run(url: str, thread_id: str, text: str) -> list[dict[str, Any]]:
    with httpx.stream("POST", url, json=generate_body("demo", thread_id, text),
                      headers=GQL_HEADERS, timeout=60) as response:
        return list(iter_parts(response))


def test_a_graphql_run_cut_by_the_outage_ends_its_stream_with_a_failure(
        own_redis: RedisServer, tmp_path: Path) -> None:
    config = write_config(tmp_path / "copilotkit.toml", own_redis.url, key_prefix="t:",
                          chunk_delay=0.05, lock_ttl=1.5)
    server = RuntimeProcess(config, env=runtime_env(TEST_REDIS_URL=own_redis.url)).start()
    try:
        if not graphql_available(server.url):
            pytest.skip("the runtime's GraphQL layer is not built yet")
        parts: list[dict[str, Any]] = []
        with httpx.stream("POST", server.url, json=generate_body("demo", _tid(), LONG_TEXT),
                          headers=GQL_HEADERS, timeout=60) as response:
            for part in iter_parts(response):
                parts.append(part)
                if own_redis.process is not None and text_of(parts):
                    own_redis.kill()
        assert parts[-1].get("hasNext") is False  # the stream was completed, not cut
        failure = str(parts)
        assert "FailedResponseStatus" in failure or "errors" in failure, parts[-3:]
        assert "lock" in failure or "Redis store" in failure, parts[-3:]
        assert "word399" not in failure
        assert server.process is not None and server.process.poll() is None
    finally:
        server.stop()
