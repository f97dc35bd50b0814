"""The built-ins pass the same contract suites third-party plugins use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from copilotkit_runtime.default_plugins.demo_agent import DemoAgentProvider, DemoOptions
from copilotkit_runtime.default_plugins.memory_store import MemoryStore
from copilotkit_runtime.default_plugins.sqlite_store import SQLiteOptions, SQLiteStore
from copilotkit_runtime.providers import ProviderContext
from copilotkit_runtime.testing import ProviderContract, StoreContract


class TestMemoryStore(StoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[MemoryStore]:
        store = MemoryStore()
        await store.open()
        yield store
        await store.close()


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SQLiteStore]:
        store = SQLiteStore(SQLiteOptions(path=str(tmp_path / "contract.sqlite3"), poll_interval=0.05))
        await store.open()
        yield store
        await store.close()


class TestDemoProvider(ProviderContract):
    """The demo agent: every ability (it calls a frontend action its message names, answers
    the action's result and keeps the frontend's state beside its own)."""

    tool_prompt = "please call contract_tool"
    starting_state = {"color": "red"}

    @pytest.fixture
    async def provider(self, tmp_path: Path) -> AsyncIterator[DemoAgentProvider]:
        context = ProviderContext(config_dir=tmp_path, store=MemoryStore(), actions={},
                                  data_dir=tmp_path)
        provider = DemoAgentProvider("demo", DemoOptions(chunk_delay=0), context)
        await provider.startup()
        yield provider
        await provider.shutdown()


async def test_the_memory_store_forgets_expired_threads_nobody_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    from copilotkit_runtime.default_plugins import memory_store
    from copilotkit_runtime.stores import ThreadRecord

    monkeypatch.setattr(memory_store, "SWEEP_EVERY", 10)
    store = MemoryStore()
    for i in range(10):
        await store.save_thread(ThreadRecord(f"old-{i}", "a"), ttl=0.001)
    import asyncio

    await asyncio.sleep(0.01)
    for i in range(10):
        await store.save_thread(ThreadRecord(f"new-{i}", "a"), ttl=60)
    assert sorted(t for t, _ in store._threads) == sorted(f"new-{i}" for i in range(10))


pytestmark = pytest.mark.anyio
