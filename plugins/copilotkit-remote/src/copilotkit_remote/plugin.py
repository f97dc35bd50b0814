"""Entry point ``copilotkit-remote``: registers the provider type ``copilotkit-remote``.

    [agents.sdk]
    provider = "copilotkit-remote"
    url = "http://127.0.0.1:8000/copilotkit"

One section serves every agent the endpoint lists (under their own names), and its actions
become backend actions. Until the core lets plugins add actions at startup, the ``startup``
hook offers them to the LLM agents that take every backend action and were created before
this section (those created after see them already).
"""

from __future__ import annotations

from typing import Any

from copilotkit_runtime import hookimpl

from .provider import RemoteEndpointProvider


@hookimpl
def register_agent_providers(registry: Any) -> None:
    registry.add("copilotkit-remote", RemoteEndpointProvider)


@hookimpl
def startup(runtime: Any) -> None:
    remote: dict[str, Any] = {}
    for provider in runtime.providers.values():
        if isinstance(provider, RemoteEndpointProvider):
            remote.update(provider.remote_actions)
    if not remote:
        return
    for provider in runtime.providers.values():
        if getattr(provider.options, "actions", "unset") is not None:
            continue
        for table in (getattr(provider, "actions", None),
                      getattr(getattr(provider, "loop", None), "actions", None)):
            if isinstance(table, dict):
                for name, action in remote.items():
                    table.setdefault(name, action)
