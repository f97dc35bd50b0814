"""``[mcp.NAME]`` sections: one MCP server each."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class McpServerOptions(BaseModel):
    """How to reach one MCP server, and which of its tools to offer.

    Either ``command`` (stdio: the runtime starts the server as a child process) or ``url``
    (``transport`` ``"streamable-http"``, the default, or ``"sse"``).
    """

    model_config = ConfigDict(extra="forbid")

    command: str | None = None
    args: list[str] = Field(default_factory=list)
    #: extra environment variables for the child process (``"${VAR}"`` from ours)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None

    url: str | None = None
    transport: Literal["streamable-http", "sse"] | None = None
    #: HTTP headers for ``url`` servers (``"${TOKEN}"`` from the environment)
    headers: dict[str, str] = Field(default_factory=dict)

    #: offer only these tools (default: every tool the server lists)
    tools: list[str] | None = None
    #: put before each tool's name as an action name (e.g. ``"github_"``)
    prefix: str = ""
    resources: bool = Field(
        True, description="offer the model an action that reads the server's resources "
                          "(<prefix or NAME_>read_resource), when the server has any")
    prompts: bool = Field(
        True, description="offer the model an action that renders the server's prompts "
                          "(<prefix or NAME_>get_prompt), when the server has any")
    context_resources: list[str] | Literal["all"] | None = Field(
        None, description="resources read at the start of every run and given to the agent as "
                          "context (LLM agents: in the system prompt; graphs: copilotkit.context): "
                          "a list of URIs (a template's URI filled in works too), or \"all\" for "
                          "every resource the server lists")
    context_agents: list[str] | None = Field(
        None, description="the agents whose runs get context_resources (default: every agent)")
    context_max_chars: int = Field(
        20_000, gt=0, description="most characters of one resource given as context (the rest "
                                  "is cut, saying so)")
    #: seconds one tool call may take
    timeout: float = Field(default=60.0, gt=0)
    #: seconds to start (or reach) the server and list its tools
    connect_timeout: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _one_way_in(self) -> McpServerOptions:
        if (self.command is None) == (self.url is None):
            raise ValueError("give either command (a stdio server) or url (an HTTP server)")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must be http:// or https://, got {self.url!r}")
        if self.command is not None and self.transport is not None:
            raise ValueError("transport applies to url servers only")
        return self

    @property
    def kind(self) -> str:
        if self.command is not None:
            return "stdio"
        if self.transport is not None:
            return self.transport
        return "sse" if self.url is not None and self.url.rstrip("/").endswith("/sse") else "streamable-http"

    @property
    def where(self) -> str:
        if self.command is not None:
            return " ".join([self.command, *self.args])
        return str(self.url)
