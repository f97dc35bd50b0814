"""Fixtures: a real Redis (``REDIS_URL`` if set, else a ``redis-server`` started here) and
stores with a key prefix of their own, removed after each test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as sync_redis
from redis_store_helpers import REDIS_SERVER, RedisServer

from copilotkit_store_redis import RedisOptions, RedisStore


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer | None]:
    """The session's own ``redis-server``, or ``None`` when ``REDIS_URL`` points elsewhere."""
    if os.environ.get("REDIS_URL"):
        yield None
        return
    if REDIS_SERVER is None:
        pytest.skip("set REDIS_URL or install redis-server")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer | None) -> str:
    return os.environ["REDIS_URL"] if redis_server is None else redis_server.url


@pytest.fixture
def key_prefix(redis_url: str) -> Iterator[str]:
    """A prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = sync_redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def make_store(redis_url: str, key_prefix: str) -> Iterator[Callable[..., RedisStore]]:
    """``make_store(**options)``: an unopened store on the test Redis (closed afterwards)."""
    made: list[RedisStore] = []

    def make(**options: Any) -> RedisStore:
        options.setdefault("url", redis_url)
        options.setdefault("key_prefix", key_prefix)
        options.setdefault("stop_poll_interval", 0.1)
        store = RedisStore(RedisOptions(**options))
        made.append(store)
        return store

    yield make
    # Stores are opened and closed inside the tests' own event loops.


@pytest.fixture
async def store(make_store: Callable[..., RedisStore]) -> AsyncIterator[RedisStore]:
    store = make_store()
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A ``redis-server`` of this test alone (to kill and restart), whatever ``REDIS_URL`` says."""
    if REDIS_SERVER is None:
        pytest.skip("needs the redis-server binary")
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.close()
