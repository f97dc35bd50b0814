"""The provider passes the core's ProviderContract, for a flow and for a crew."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from copilotkit_provider_crewai.provider import CrewAIOptions, CrewAIProvider
from fakellm import Reply, serve_fake_llm

from copilotkit_runtime.default_plugins.memory_store import MemoryStore
from copilotkit_runtime.providers import ProviderContext
from copilotkit_runtime.testing import ProviderContract


def _context(tmp_path: Path) -> ProviderContext:
    return ProviderContext(config_dir=tmp_path, store=MemoryStore(), actions={}, data_dir=tmp_path)


class TestFlowProvider(ProviderContract):
    """EchoFlow calls a frontend action its message names, and reports the action's result."""

    tool_prompt = "please call contract_tool"

    @pytest.fixture
    async def provider(self, tmp_path: Path) -> AsyncIterator[CrewAIProvider]:
        provider = CrewAIProvider("echo", CrewAIOptions(flow="sample_agents:EchoFlow"),
                                  _context(tmp_path))
        await provider.startup()
        yield provider
        await provider.shutdown()


class TestDictStateFlowProvider(ProviderContract):
    """A flow with plain dict state keeps the starting state it is given."""

    starting_state = {"color": "red", "todos": ["milk"]}

    @pytest.fixture
    async def provider(self, tmp_path: Path) -> AsyncIterator[CrewAIProvider]:
        provider = CrewAIProvider("counter", CrewAIOptions(flow="sample_agents:DictStateFlow"),
                                  _context(tmp_path))
        await provider.startup()
        yield provider
        await provider.shutdown()


@pytest.fixture
def chat_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with serve_fake_llm(lambda body: Reply(content="Which topic should I research?")) as fake:
        monkeypatch.setenv("FAKE_LLM_BASE_URL", fake.base_url)
        yield


class TestCrewProvider(ProviderContract):
    @pytest.fixture
    async def provider(self, tmp_path: Path, chat_model: None) -> AsyncIterator[CrewAIProvider]:
        provider = CrewAIProvider("research", CrewAIOptions(crew="sample_agents:make_crew"),
                                  _context(tmp_path))
        await provider.startup()
        yield provider
        await provider.shutdown()
