"""The `template-echo` provider passes the contract suite and answers over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from copilotkit_runtime.testing import (
    ProviderContract,
    RuntimeClient,
    make_provider,
    make_runtime,
)
from copilotkit_plugin_template import plugin
from copilotkit_plugin_template.provider import TemplateProvider


class TestTemplateContract(ProviderContract):
    """Every ability of the contract: tool calls, the round trip, state."""

    tool_prompt = "please call contract_tool"
    starting_state = {"color": "red"}

    @pytest.fixture
    async def provider(self, tmp_path: Path) -> AsyncIterator[TemplateProvider]:
        provider = make_provider(TemplateProvider, {"prefix": "echo: "}, tmp_path=tmp_path)
        await provider.startup()
        yield provider
        await provider.shutdown()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_plugin_serves_the_agent_over_http(tmp_path: Path) -> None:
    config = {"agents": {"echo": {"provider": "template-echo", "prefix": "> "}}}
    runtime = make_runtime(config, plugins={"template": plugin}, tmp_path=tmp_path)
    async with RuntimeClient(runtime) as client:
        events = await client.run("echo", "hi there", thread_id="t-1", state={"n": 1})
        assert "echo" in (await client.info())["agents"]
    text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert text == "> hi there"
    snapshot = next(e["snapshot"] for e in events if e["type"] == "STATE_SNAPSHOT")
    assert snapshot == {"n": 1, "echoed": "hi there"}
    assert events[-1]["type"] == "RUN_FINISHED"


def test_unknown_options_fail(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="prefx"):
        make_provider(TemplateProvider, {"prefx": "x"}, tmp_path=tmp_path)
