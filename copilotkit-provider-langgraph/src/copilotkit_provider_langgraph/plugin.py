"""Entry point module: registers the ``langgraph`` provider type with copilotkit-runtime."""

from __future__ import annotations

from typing import Any

from copilotkit_runtime import hookimpl

from .provider import LangGraphProvider


@hookimpl
def register_agent_providers(registry: Any) -> None:
    registry.add("langgraph", LangGraphProvider)
