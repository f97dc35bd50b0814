"""All the ``[mcp.*]`` servers of one runtime: started together, their tools made actions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from ag_ui.core import Context
from pydantic import ValidationError

from copilotkit_runtime import Action, ConfigError, RunRequest

from .connection import McpConnection, McpServerError
from .options import McpServerOptions
from .tools import (
    action_name,
    placeholder_action,
    prompt_action,
    resource_action,
    resource_text,
    tool_action,
)

log = logging.getLogger("copilotkit_mcp")


def parse_servers(sections: Mapping[str, Mapping[str, Any]]) -> dict[str, McpServerOptions]:
    servers = {}
    for name, section in sections.items():
        try:
            servers[name] = McpServerOptions.model_validate(dict(section))
        except ValidationError as exc:
            problems = "; ".join(f"mcp.{name}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                                 if e["loc"] else f"mcp.{name}: {e['msg']}" for e in exc.errors())
            raise ConfigError(problems) from None
    return servers


class McpManager:
    def __init__(self, servers: Mapping[str, McpServerOptions]) -> None:
        self.connections = {name: McpConnection(name, opts) for name, opts in servers.items()}

    async def start(self) -> None:
        """Start every server at once. One that fails is logged, not raised: the runs that
        call its tools get the error (and the next call tries again)."""
        results = await asyncio.gather(*(c.connect() for c in self.connections.values()),
                                       return_exceptions=True)
        for connection, result in zip(self.connections.values(), results, strict=True):
            if isinstance(result, McpServerError):
                log.error("%s", result)
            elif isinstance(result, BaseException):
                log.error("%s could not be started: %r", connection.describe(), result)
            else:
                log.info("%s: %d tool(s), %d resource(s), %d resource template(s), %d prompt(s)",
                         connection.describe(), len(connection.tools), len(connection.resources),
                         len(connection.templates), len(connection.prompts))

    def actions(self, taken: Mapping[str, Any]) -> dict[str, Action]:
        """Each server's tools as actions (those ``tools`` lists, if it does), and one action
        for its resources and one for its prompts (when it has them). A name already taken (by
        another action or server) is skipped with an error in the log."""
        out: dict[str, Action] = {}
        for connection in self.connections.values():
            wanted = connection.options.tools
            listed = {tool.name: tool for tool in connection.tools}
            if wanted is not None:
                missing = [t for t in wanted if t not in listed]
                if missing and connection.client is not None:
                    log.error("%s does not offer tool(s) %s (it offers: %s)", connection.describe(),
                              ", ".join(missing), ", ".join(sorted(listed)) or "none")
            names = wanted if wanted is not None else list(listed)
            candidates: list[tuple[str, Action | None]] = [
                (f"tool '{tool}'", tool_action(connection, listed[tool]) if tool in listed
                 else placeholder_action(connection, tool) if connection.client is None
                 else None)
                for tool in names]
            if connection.options.resources and (connection.resources or connection.templates):
                candidates.append(("its resources", resource_action(connection)))
            if connection.prompts:
                candidates.append(("its prompts", prompt_action(connection)))
            for what, action in candidates:
                if action is None:
                    continue
                if action.name in taken or action.name in out:
                    log.error("%s: %s not offered: the action name '%s' is already "
                              "taken (set prefix in [mcp.%s])", connection.describe(), what,
                              action.name, connection.name)
                    continue
                out[action.name] = action
        return out

    @property
    def gives_context(self) -> bool:
        return any(c.options.context_resources for c in self.connections.values())

    async def run_context(self, request: RunRequest) -> list[Context]:
        """The ``context_resources`` of every server, read now (all at once), as context
        entries for this run. A resource that cannot be read is an entry saying so (the model
        is told it is missing rather than left guessing); the run goes on."""
        reads = []
        missing: list[Context] = []
        for connection in self.connections.values():
            opts = connection.options
            if not opts.context_resources:
                continue
            if opts.context_agents is not None and request.agent not in opts.context_agents:
                continue
            if opts.context_resources == "all":
                if connection.client is None:  # not started: try now, to list them
                    try:
                        await connection.connect()
                    except McpServerError as exc:
                        log.warning("%s; its resources are not in the context of run %s",
                                    exc, request.run_id)
                        missing.append(_unavailable(connection, "all", str(exc)))
                        continue
                uris = [str(r.uri) for r in connection.resources]
            else:
                uris = list(opts.context_resources)
            reads += [self._read(connection, uri) for uri in uris]
        return [*await asyncio.gather(*reads), *missing]

    async def _read(self, connection: McpConnection, uri: str) -> Context:
        listed = {str(r.uri): r for r in connection.resources}
        resource = listed.get(uri)
        about = f"MCP resource {uri} of the server '{connection.name}'"
        if resource is not None and (resource.title or resource.name or resource.description):
            label = resource.title or resource.name
            about += f" ({label}{': ' + resource.description if resource.description else ''})"
        try:
            text = resource_text(await connection.read_resource(uri))
        except Exception as exc:
            log.warning("%s: could not read %s for a run's context: %s", connection.describe(),
                        uri, exc)
            return _unavailable(connection, uri, f"{type(exc).__name__}: {exc}")
        limit = connection.options.context_max_chars
        if len(text) > limit:
            text = f"{text[:limit]}\n[... cut: {len(text) - limit} more characters]"
        return Context(description=about, value=text)

    def failures(self) -> list[str]:
        """Why servers are not available (for the runs of agents that name their tools)."""
        return [f"{c.describe()} could not be started: {c.error}"
                for c in self.connections.values() if c.client is None and c.error]

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.connections.values()),
                             return_exceptions=True)


def _unavailable(connection: McpConnection, uri: str, reason: str) -> Context:
    what = "resources" if uri == "all" else f"resource {uri}"
    return Context(description=f"MCP {what} of the server '{connection.name}'",
                   value=f"[not available: {reason}]")


__all__ = ["McpManager", "action_name", "parse_servers"]
