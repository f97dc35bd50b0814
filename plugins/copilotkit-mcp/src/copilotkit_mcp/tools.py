"""MCP tools as the runtime's backend actions."""

from __future__ import annotations

import re
from typing import Any

from mcp.types import CallToolResult, TextContent, Tool

from copilotkit_runtime import Action

from .connection import McpConnection, McpToolError

_INVALID = re.compile(r"[^A-Za-z0-9_\-]")


def action_name(prefix: str, tool: str) -> str:
    """A name every model API accepts (letters, digits, ``_``, ``-``; at most 64)."""
    return _INVALID.sub("_", f"{prefix}{tool}")[:64]


def result_value(result: CallToolResult) -> Any:
    """What the model reads: the text parts, else the structured result."""
    parts = []
    for block in result.content:
        if isinstance(block, TextContent):
            parts.append(block.text)
        else:
            kind = getattr(block, "type", "content")
            mime = getattr(block, "mime_type", None) or getattr(block, "mimeType", None)
            parts.append(f"[{kind}{': ' + mime if mime else ''}]")
    text = "\n".join(parts)
    if result.is_error:
        raise McpToolError(text or "the tool reported an error")
    if text:
        return text
    return result.structured_content if result.structured_content is not None else ""


def tool_action(connection: McpConnection, tool: Tool) -> Action:
    async def call_tool(**arguments: Any) -> Any:
        return result_value(await connection.call(tool.name, arguments))

    schema = dict(tool.input_schema or {}) or {"type": "object", "properties": {}}
    schema.setdefault("type", "object")
    return Action(name=action_name(connection.options.prefix, tool.name),
                  description=tool.description or f"{tool.name} (MCP server {connection.name})",
                  handler=call_tool, parameters=schema, timeout=connection.options.timeout)


def placeholder_action(connection: McpConnection, tool: str) -> Action:
    """A tool the config lists on a server that could not be started: calling it says why."""

    async def unavailable(**arguments: Any) -> Any:
        return result_value(await connection.call(tool, arguments))  # reconnects, or says why

    return Action(name=action_name(connection.options.prefix, tool),
                  description=f"{tool} (MCP server {connection.name}, not available yet)",
                  handler=unavailable, timeout=connection.options.timeout)
