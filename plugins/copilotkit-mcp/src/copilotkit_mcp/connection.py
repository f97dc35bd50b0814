"""One live connection to one MCP server.

The ``mcp`` client's transports are anyio task groups, which must be entered and left by the
same task. So each server gets its own task that opens the client and holds it open until
:meth:`McpConnection.close`; tool calls from any run go through that client.

When the server dies (the child process exits, the HTTP server goes away), calls fail and
the holding task ends; the next call starts (or reconnects to) the server again, once. A
server that cannot be reached fails the calls that need it with :class:`McpServerError`, a
clear message naming the server; nothing else is affected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError
from mcp.types import (
    CONNECTION_CLOSED,
    CallToolResult,
    GetPromptResult,
    Prompt,
    ReadResourceResult,
    Resource,
    ResourceTemplate,
    Tool,
)

from .options import McpServerOptions

log = logging.getLogger("copilotkit_mcp")

T = TypeVar("T")


class McpServerError(Exception):
    """The MCP server could not be used (the message names it and says why)."""


class McpToolError(Exception):
    """The tool ran and reported an error (``isError``); its text is the message."""


class McpConnection:
    def __init__(self, name: str, options: McpServerOptions) -> None:
        self.name = name
        self.options = options
        self.tools: list[Tool] = []
        self.resources: list[Resource] = []
        self.templates: list[ResourceTemplate] = []
        self.prompts: list[Prompt] = []
        self.client: Client | None = None
        self.error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._lock = asyncio.Lock()

    def describe(self) -> str:
        return f"MCP server '{self.name}' ({self.options.kind}: {self.options.where})"

    # -- lifecycle -----------------------------------------------------------------------------

    def _client(self) -> Client:
        opts = self.options
        timeout = opts.timeout
        if opts.command is not None:
            params = StdioServerParameters(command=opts.command, args=list(opts.args),
                                           env={**os.environ, **opts.env} if opts.env else None,
                                           cwd=opts.cwd)
            return Client(params, read_timeout_seconds=timeout)
        assert opts.url is not None
        if opts.kind == "sse":
            from mcp.client.sse import sse_client

            return Client(sse_client(opts.url, headers=dict(opts.headers) or None,
                                     timeout=opts.connect_timeout, sse_read_timeout=timeout + 300),
                          read_timeout_seconds=timeout)
        if opts.headers:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            http = httpx2.AsyncClient(headers=dict(opts.headers),
                                      timeout=httpx2.Timeout(timeout, connect=opts.connect_timeout))
            return Client(streamable_http_client(opts.url, http_client=http),
                          read_timeout_seconds=timeout)
        return Client(opts.url, read_timeout_seconds=timeout)

    async def connect(self) -> None:
        """Start or reach the server and list its tools; :class:`McpServerError` if not."""
        async with self._lock:
            if self._task is not None and not self._task.done() and self.client is not None:
                return
            ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._closing = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(
                self._hold(ready), name=f"copilotkit-mcp-{self.name}")
            try:
                await asyncio.wait_for(asyncio.shield(ready), self.options.connect_timeout)
            except TimeoutError:
                self._task.cancel()
                self.error = f"did not answer within {self.options.connect_timeout} s"
                raise McpServerError(f"{self.describe()} {self.error}") from None
            except McpServerError:
                raise

    async def _hold(self, ready: asyncio.Future[None]) -> None:
        try:
            async with self._client() as client:
                listed = await client.list_tools()
                tools = list(listed.tools)
                while listed.next_cursor:
                    listed = await client.list_tools(cursor=listed.next_cursor)
                    tools.extend(listed.tools)
                self.tools = tools
                await self._list_the_rest(client)
                self.client = client
                self.error = None
                ready.set_result(None)
                await self._closing.wait()
        except BaseException as exc:
            reason = _reason(exc)
            if not ready.done():
                self.error = reason
                ready.set_exception(McpServerError(f"{self.describe()} could not be started: {reason}"))
            elif not self._closing.is_set():
                self.error = f"stopped: {reason}"
                log.warning("%s stopped: %s", self.describe(), reason)
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self.client = None

    async def _list_the_rest(self, client: Client) -> None:
        """Resources, resource templates and prompts, when the server has them (and the
        section wants them). A list that fails is left empty (logged): tools still work."""
        caps = client.server_capabilities
        opts = self.options

        async def pages(fetch: Callable[[str | None], Awaitable[Any]], field: str) -> list[Any]:
            listed = await fetch(None)
            items = list(getattr(listed, field))
            while listed.next_cursor:
                listed = await fetch(listed.next_cursor)
                items.extend(getattr(listed, field))
            return items

        wanted = []
        if (opts.resources or opts.context_resources) and caps.resources is not None:
            wanted += [("resources", lambda c: client.list_resources(cursor=c), "resources"),
                       ("templates", lambda c: client.list_resource_templates(cursor=c),
                        "resource_templates")]
        if opts.prompts and caps.prompts is not None:
            wanted.append(("prompts", lambda c: client.list_prompts(cursor=c), "prompts"))
        for attribute, fetch, field in wanted:
            try:
                setattr(self, attribute, await pages(fetch, field))
            except (MCPError, ValueError) as exc:
                log.warning("%s: could not list its %s: %s", self.describe(), attribute, _reason(exc))

    async def close(self) -> None:
        self._closing.set()
        task = self._task
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), 5)
            except (TimeoutError, Exception):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    # -- calls ---------------------------------------------------------------------------------

    async def call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        """Call ``tool``, starting the server first when it is not running (it failed to
        start, or went away since the last call).

        A server that goes away *during* a call fails that call (it is not repeated: the tool
        may have done its work); the next call starts the server again.
        """
        return await self._request(f"tool '{tool}'", lambda c: c.call_tool(tool, arguments))

    async def read_resource(self, uri: str) -> ReadResourceResult:
        """Read the resource at ``uri`` now (never from a cache: the model asks for its
        current content)."""
        return await self._request(f"resource '{uri}'",
                                   lambda c: c.read_resource(uri, cache_mode="bypass"))

    async def get_prompt(self, name: str, arguments: dict[str, str]) -> GetPromptResult:
        return await self._request(f"prompt '{name}'", lambda c: c.get_prompt(name, arguments))

    async def _request(self, what: str, send: Callable[[Client], Awaitable[T]]) -> T:
        if self.client is None or self._task is None or self._task.done():
            try:
                await self.connect()
            except McpServerError as exc:
                raise McpServerError(f"{exc} (needed for {what})") from None
        client = self.client
        assert client is not None
        try:
            return await send(client)
        except MCPError as exc:
            if exc.error.code != CONNECTION_CLOSED:
                raise  # the server answered: the call's own failure
            failure: BaseException = exc
        except (OSError, EOFError, anyio.ClosedResourceError, anyio.BrokenResourceError,
                anyio.EndOfStream) as exc:
            failure = exc
        await self.close()
        raise McpServerError(f"{self.describe()} went away during {what} "
                             f"({_reason(failure)}); it is started again for the next call")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        leaves = [e for e in _leaves(exc) if not isinstance(e, asyncio.CancelledError)]
        if leaves:
            return "; ".join(_reason(e) for e in leaves[:3])
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _leaves(group: BaseExceptionGroup) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        out.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return out
