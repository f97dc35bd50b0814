"""A plugin whose provider, store and guardrail types fail in their constructors (test_cli)."""

from __future__ import annotations

from typing import Any

from copilotkit_runtime import AgentProvider, Guardrail, hookimpl
from copilotkit_runtime.default_plugins.memory_store import MemoryStore


class ExplodingProvider(AgentProvider):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("no model key")

    async def run(self, request: Any) -> Any:  # pragma: no cover - never built
        yield None


class ExplodingStore(MemoryStore):
    def __init__(self, options: Any = None) -> None:
        raise OSError("the disk is gone")


class ExplodingGuardrail(Guardrail):
    def __init__(self, name: str, options: Any = None) -> None:
        raise ValueError("no policy file")


@hookimpl
def register_agent_providers(registry: Any) -> None:
    registry.add("exploding", ExplodingProvider)


@hookimpl
def register_stores(registry: Any) -> None:
    registry.add("exploding", ExplodingStore)


@hookimpl
def register_guardrails(registry: Any) -> None:
    registry.add("exploding", ExplodingGuardrail)


