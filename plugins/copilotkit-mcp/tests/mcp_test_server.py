"""A real MCP server (the ``mcp`` SDK's MCPServer) for the tests:
``python mcp_test_server.py stdio`` | ``http PORT`` | ``sse PORT``.

Tools: ``add(a, b)``, ``shout(text)``, ``whoami()`` (the env var MCP_TEST_USER), ``fail(reason)``
(reports an error), ``die()`` (the server process exits at once).
"""

from __future__ import annotations

import os
import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("copilotkit-test-tools")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def shout(text: str) -> str:
    """Repeat the text in capitals."""
    return text.upper() + "!"


@server.tool()
def whoami() -> str:
    """Who the server runs for."""
    return os.environ.get("MCP_TEST_USER", "nobody")


@server.tool()
def fail(reason: str) -> str:
    """Always fails."""
    raise ValueError(f"failed on purpose: {reason}")


@server.tool()
def die() -> str:
    """The server process exits."""
    os._exit(7)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "stdio":
        server.run("stdio")
    elif mode == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("sse", host="127.0.0.1", port=int(sys.argv[2]))
