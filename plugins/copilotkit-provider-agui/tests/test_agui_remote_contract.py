"""The AG-UI remote provider passes the core's ProviderContract against a real remote AG-UI
server (ag-ui-langgraph serving a LangGraph graph, its own process): the frontend tool call,
the round trip after its result, cancellation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ag_ui.core import Tool
from agui_remote_helpers import RemoteServer

from copilotkit_provider_agui.provider import AguiRemoteProvider
from copilotkit_runtime.testing import ProviderContract, make_provider


class TestAguiRemoteContract(ProviderContract):
    # the remote graph calls setColor for "color NAME" and says "Color NAME applied" after it
    tool_prompt = "color blue"
    tool = Tool(name="setColor", description="Set the color",
                parameters={"type": "object", "properties": {"color": {"type": "string"}}})

    @pytest.fixture
    async def provider(self, remote: RemoteServer, tmp_path: Path) -> AsyncIterator[AguiRemoteProvider]:
        provider = make_provider(AguiRemoteProvider, {"url": remote.agent_url}, tmp_path=tmp_path)
        await provider.startup()
        yield provider
        await provider.shutdown()
