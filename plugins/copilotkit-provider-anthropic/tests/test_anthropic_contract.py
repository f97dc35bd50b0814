"""The Anthropic provider passes the core's ProviderContract against the fake Messages server
(the real ``anthropic`` SDK on the wire): tool calls, the frontend-action round trip,
cancellation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from anthropic_helpers import SECRET_KEY

from copilotkit_provider_anthropic.plugin import AnthropicProvider
from copilotkit_runtime.testing import ProviderContract, make_provider
from copilotkit_runtime.testing.fake_llm import FakeLLMServer


class TestAnthropicContract(ProviderContract):
    # the fake model calls an offered tool the last user message names
    tool_prompt = "please call contract_tool"

    @pytest.fixture
    async def provider(self, llm: FakeLLMServer, tmp_path: Path) -> AsyncIterator[AnthropicProvider]:
        provider = make_provider(AnthropicProvider, {
            "model": "claude-test", "base_url": llm.anthropic_url, "api_key": SECRET_KEY,
            "max_retries": 1, "max_retry_wait": 2}, tmp_path=tmp_path)
        await provider.startup()
        yield provider
        await provider.shutdown()
