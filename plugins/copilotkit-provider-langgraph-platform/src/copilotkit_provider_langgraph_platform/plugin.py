"""Entry point ``langgraph_platform``: registers the provider type ``langgraph-platform``.

[agents.research]
provider = "langgraph-platform"
deployment_url = "https://my-deployment.us.langgraph.app"
graph_id = "research"                  # default: the section's name
api_key = "${LANGSMITH_API_KEY}"       # default: LANGGRAPH_/LANGSMITH_/LANGCHAIN_API_KEY
"""

from __future__ import annotations

from typing import Any

from copilotkit_runtime import hookimpl

from .provider import PlatformProvider


@hookimpl
def register_agent_providers(registry: Any) -> None:
    registry.add("langgraph-platform", PlatformProvider)
