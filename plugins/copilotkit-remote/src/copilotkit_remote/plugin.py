"""Entry point ``copilotkit-remote``: registers the provider type ``copilotkit-remote``.

    [agents.sdk]
    provider = "copilotkit-remote"
    url = "http://127.0.0.1:8000/copilotkit"

One section serves every agent the endpoint lists (under their own names), and its actions
become backend actions (read from ``/info`` when the runtime is built): the LLM agents offer
them to their model like any backend action, all of them when the agent's section sets no
``actions``, else the ones its list names (wherever the sections are in the file).
"""

from __future__ import annotations

from typing import Any

from copilotkit_runtime import hookimpl

from .provider import RemoteEndpointProvider


@hookimpl
def register_agent_providers(registry: Any) -> None:
    registry.add("copilotkit-remote", RemoteEndpointProvider)
