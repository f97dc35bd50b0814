"""Fixtures: a real PostgreSQL (see pg_store_helpers) and stores in a schema of their own,
dropped after each test, so runs never collide."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from pg_store_helpers import PostgresServer, can_run_private_server, drop_schema, shared_url

from copilotkit_store_postgres import PostgresOptions, PostgresStore


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = shared_url()
    if url is not None:
        yield url
        return
    if not can_run_private_server():
        pytest.skip("needs PostgreSQL on 127.0.0.1:5432, TEST_DATABASE_URL or initdb/pg_ctl")
    server = PostgresServer().start()
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[str]:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    yield schema
    drop_schema(pg_url, schema)


@pytest.fixture
def make_store(pg_url: str, pg_schema: str) -> Callable[..., PostgresStore]:
    def make(**options: Any) -> PostgresStore:
        options.setdefault("url", pg_url)
        options.setdefault("schema", pg_schema)
        options.setdefault("stop_poll_interval", 0.1)
        options.setdefault("live_poll_interval", 0.2)
        return PostgresStore(PostgresOptions(**options))

    return make


@pytest.fixture
async def store(make_store: Callable[..., PostgresStore]) -> AsyncIterator[PostgresStore]:
    store = make_store()
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test alone (to restart), whatever the machine has."""
    if not can_run_private_server():
        pytest.skip("needs initdb and pg_ctl")
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.close()
