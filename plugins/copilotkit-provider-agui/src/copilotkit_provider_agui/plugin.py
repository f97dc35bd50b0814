"""Entry point ``agui``: registers the provider type ``agui``.

    [agents.research]
    provider = "agui"
    url = "http://127.0.0.1:8123/agent"
"""

from __future__ import annotations

from typing import Any

from copilotkit_runtime import hookimpl

from .provider import AguiRemoteProvider


@hookimpl
def register_agent_providers(registry: Any) -> None:
    registry.add("agui", AguiRemoteProvider)
