"""The provider passes the core's contract suite for agent providers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ag_ui.core import Tool
from lg_helpers import TODO_GRAPH

from copilotkit_provider_langgraph import LangGraphOptions, LangGraphProvider
from copilotkit_runtime.default_plugins.memory_store import MemoryStore
from copilotkit_runtime.providers import AgentProvider, ProviderContext
from copilotkit_runtime.testing import ProviderContract


def _provider(tmp_path: Path, graph: str, **options: object) -> LangGraphProvider:
    context = ProviderContext(config_dir=Path(__file__).parent, store=MemoryStore(MemoryStore.Options()),
                              actions={}, data_dir=tmp_path)
    return LangGraphProvider("agent", LangGraphOptions(graph=graph, **options), context,
                             "a test graph")


class TestChatGraphContract(ProviderContract):
    @pytest.fixture
    async def provider(self, tmp_path: Path) -> AsyncIterator[AgentProvider]:
        provider = _provider(tmp_path, "lg_test_graphs:make_chat_graph")
        await provider.startup()
        yield provider
        await provider.shutdown()


class TestTodoAgentContract(ProviderContract):
    """The CopilotKit SDK demo agent, unchanged, on a SQLite checkpointer."""

    prompt = "add buy milk"

    @pytest.fixture
    async def provider(self, tmp_path: Path) -> AsyncIterator[AgentProvider]:
        provider = _provider(tmp_path, TODO_GRAPH, checkpointer="sqlite")
        await provider.startup()
        yield provider
        await provider.shutdown()


class TestTodoAgentChatContract(ProviderContract):
    """The demo agent again, for the optional abilities: it calls the frontend action addTodo
    when asked "with the app", answers the action's result, and keeps the todos it is given."""

    prompt = "hello"
    tool_prompt = "add buy milk with the app"
    tool = Tool(name="addTodo", description="Add a todo in the app",
                parameters={"type": "object", "properties": {"title": {"type": "string"}}})
    starting_state = {"todos": [{"id": "todo-1", "title": "milk", "done": False}]}

    @pytest.fixture
    async def provider(self, tmp_path: Path) -> AsyncIterator[AgentProvider]:
        provider = _provider(tmp_path, TODO_GRAPH)
        await provider.startup()
        yield provider
        await provider.shutdown()
