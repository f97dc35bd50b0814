"""Entry point ``mcp``: the tools of the ``[mcp.NAME]`` servers become backend actions.

    [mcp.files]
    command = "npx"
    args = ["-y", "@modelcontextprotocol/server-filesystem", "/data"]

    [mcp.search]
    url = "http://127.0.0.1:8931/mcp"
    headers = { authorization = "Bearer ${SEARCH_TOKEN}" }

The servers are started (or reached) when the runtime starts; their tools join the runtime's
backend actions (``Runtime.add_actions``), which LLM agents offer to their model: every one
when the agent's section sets no ``actions``, else the ones its list names. A listed name no
server offers stops the runtime, unless a server could not be started (then the agent's runs
say which names are missing and why).
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
    runtime.add_actions(manager.actions(runtime.actions), unavailable=manager.failures())
    if manager.gives_context:
        runtime.add_context_source(manager.run_context)


@hookimpl
async def shutdown(runtime: Any) -> None:
    manager = _MANAGERS.pop(runtime, None)
    if manager is not None:
        await manager.close()


def manager_of(runtime: Any) -> McpManager | None:
    """The runtime's MCP servers (for tests and tools)."""
    return _MANAGERS.get(runtime)
