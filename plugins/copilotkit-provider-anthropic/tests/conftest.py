"""A fake Anthropic Messages server on a real port, and a runtime whose agents point the real
``anthropic`` SDK at it, served over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic_helpers
import pytest
from anthropic_helpers import SECRET_KEY

import copilotkit_provider_anthropic.plugin as anthropic_plugin
from copilotkit_runtime.testing import make_runtime, serve_runtime
from copilotkit_runtime.testing.fake_llm import FakeLLMServer


@pytest.fixture(scope="session")
def llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_llm(llm: FakeLLMServer) -> None:
    llm.reset()


def agent(llm: FakeLLMServer, **options: Any) -> dict[str, Any]:
    return {"provider": "anthropic", "model": "claude-test", "base_url": llm.anthropic_url,
            "api_key": SECRET_KEY, "max_retries": 1, "max_retry_wait": 2, **options}


@pytest.fixture(scope="session")
def served(llm: FakeLLMServer) -> Iterator[Any]:
    runtime = make_runtime({
        "agents": {
            "claude": agent(llm, system_prompt="You are the shop's assistant."),
            "claude-slow": agent(llm, timeout=0.5),
            "claude-lookup": agent(llm, actions=["lookup_order"]),
        },
        "default_agent": "claude",
    }, plugins={"anthropic": anthropic_plugin, "anthropic-test-actions": anthropic_helpers},
        load_entry_points=False)  # the other installed plugins would only slow start-up
    with serve_runtime(runtime) as served:
        yield served
