"""copilotkit-mcp: the tools of MCP servers (stdio, streamable HTTP, SSE) as backend actions
of the runtime, offered by its LLM agents to their model."""

from __future__ import annotations

from .connection import McpConnection, McpServerError, McpToolError
from .manager import McpManager, parse_servers
from .options import McpServerOptions

__version__ = "0.1.0"

__all__ = ["McpConnection", "McpManager", "McpServerError", "McpServerOptions", "McpToolError",
           "__version__", "parse_servers"]
