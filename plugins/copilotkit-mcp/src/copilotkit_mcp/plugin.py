"""Entry point ``mcp``: the tools of the ``[mcp.NAME]`` servers become backend actions.

    [mcp.files]
    command = "npx"
    args = ["-y", "@modelcontextprotocol/server-filesystem", "/data"]

    [mcp.search]
    url = "http://127.0.0.1:8931/mcp"
    headers = { authorization = "Bearer ${SEARCH_TOKEN}" }

The servers are started (or reached) when the runtime starts; their tools join the runtime's
backend actions, which LLM agents offer to their model.

Until the core has a way for plugins to add actions at startup, the ``startup`` hook adds
them to the runtime's action table and to the LLM agents that take every backend action
(``actions`` not set in their section); an agent that lists actions by name cannot name MCP
tools yet (its names are checked before any server is reached).
"""

from __future__ import annotations

import weakref
from typing import Any

from copilotkit_runtime import hookimpl

from .manager import McpManager, parse_servers

_MANAGERS: weakref.WeakKeyDictionary[Any, McpManager] = weakref.WeakKeyDictionary()


@hookimpl
async def startup(runtime: Any) -> None:
    sections = getattr(runtime.settings, "mcp", None) or {}
    if not sections:
        return
    manager = McpManager(parse_servers(sections))
    _MANAGERS[runtime] = manager
    await manager.start()
    added = manager.actions(runtime.actions)
    runtime.actions.update(added)
    for provider in runtime.providers.values():
        _offer(provider, added)


def _offer(provider: Any, added: dict[str, Any]) -> None:
    """Give the new actions to an LLM agent that takes every backend action."""
    if getattr(provider.options, "actions", "unset") is not None:
        return
    for table in (getattr(provider, "actions", None), getattr(getattr(provider, "loop", None),
                                                              "actions", None)):
        if isinstance(table, dict):
            table.update(added)


@hookimpl
async def shutdown(runtime: Any) -> None:
    manager = _MANAGERS.pop(runtime, None)
    if manager is not None:
        await manager.close()


def manager_of(runtime: Any) -> McpManager | None:
    """The runtime's MCP servers (for tests and tools)."""
    return _MANAGERS.get(runtime)
