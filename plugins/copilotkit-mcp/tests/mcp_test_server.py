"""A real MCP server (the ``mcp`` SDK's MCPServer) for the tests:
``python mcp_test_server.py stdio`` | ``http PORT`` | ``sse PORT``.

Tools: ``add(a, b)``, ``shout(text)``, ``whoami()`` (the env var MCP_TEST_USER), ``fail(reason)``
(reports an error), ``die()`` (the server process exits at once).
Resources: ``notes://today`` (text), ``notes://logo`` (binary), the template
``notes://day/{day}``, ``notes://visits`` (counts its reads). Prompts: ``review(code, focus?)``, ``standup()``.
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


NOTES = {"monday": "Call the bank", "tuesday": "Water the plants"}


@server.resource("notes://today", name="today", description="Today's note")
def today() -> str:
    return "Buy milk, then " + os.environ.get("MCP_TEST_USER", "nobody") + " calls Ada"


@server.resource("notes://logo", name="logo", mime_type="image/png")
def logo() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + bytes(40)


VISITS = [0]


@server.resource("notes://visits", name="visits", description="How often it was read")
def visits() -> str:
    VISITS[0] += 1
    return f"read {VISITS[0]} time(s)"


@server.resource("notes://day/{day}", name="day", description="The note of a weekday")
def day_note(day: str) -> str:
    return NOTES.get(day, f"nothing planned on {day}")


@server.prompt(description="Review a piece of code")
def review(code: str, focus: str = "bugs") -> str:
    return f"Please review this code, looking for {focus}:\n{code}"


@server.prompt(description="The daily standup questions")
def standup() -> list[dict[str, str]]:
    return [{"role": "user", "content": "What did you do yesterday?"},
            {"role": "assistant", "content": "I will ask what is planned today next."}]


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "stdio":
        server.run("stdio")
    elif mode == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("sse", host="127.0.0.1", port=int(sys.argv[2]))
