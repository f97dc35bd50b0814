"""The OpenAI provider passes the core's ProviderContract against the fake OpenAI server (the
real ``openai`` SDK on the wire): tool calls, the frontend-action round trip, cancellation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openai_helpers import SECRET

from copilotkit_provider_openai.plugin import OpenAIProvider
from copilotkit_runtime.testing import ProviderContract, make_provider
from copilotkit_runtime.testing.fake_llm import FakeLLMServer


class TestOpenAIContract(ProviderContract):
    # the fake model calls an offered tool the last user message names
    tool_prompt = "please call contract_tool"

    @pytest.fixture
    async def provider(self, fake: FakeLLMServer, tmp_path: Path) -> AsyncIterator[OpenAIProvider]:
        provider = make_provider(OpenAIProvider, {"model": "fake-gpt", "base_url": fake.openai_url,
                                                  "api_key": SECRET, "max_retry_wait": 2},
                                 tmp_path=tmp_path)
        await provider.startup()
        yield provider
        await provider.shutdown()
