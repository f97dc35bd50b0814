"""Serving the app with uvicorn: read timeouts for slow clients, and a graceful shutdown that
lets runs finish, then ends and stores the rest.

``copilotkit-runtime serve`` and :func:`copilotkit_runtime.testing.serve_runtime` both serve
through :func:`make_server`. Serving the app with your own uvicorn command works too, without
the two guarantees below (runs still end properly at shutdown: :meth:`Engine.close`).

**Slow senders.** uvicorn waits for a request's headers and body as long as the client likes,
so a few hundred sockets sending a byte now and then hold the server's memory and file
descriptors forever. Here each connection must deliver a request's headers within
``[server] header_timeout`` seconds (from the connection, or from the first byte of the next
request on a kept-alive one) and its body within ``body_timeout`` seconds after the headers;
otherwise it is closed, with one log line.

**SIGTERM.** uvicorn stops accepting connections, then waits for the open ones. Here the engine
is told at once (:meth:`Engine.drain`): new runs are refused, runs in progress have
``[server] shutdown_grace`` seconds to finish, then each is ended with a ``RUN_ERROR``
(``SERVER_SHUTTING_DOWN``) and stored, so its client sees a properly ended stream and
``/connect`` replays it after the restart. uvicorn's own deadline is set past ours.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    from .runtime import Runtime

log = logging.getLogger("copilotkit_runtime.server")

#: most bytes of one request's line and headers (uvicorn's httptools has no limit).
MAX_HEADER_BYTES = 65_536
#: seconds uvicorn waits past ``shutdown_grace`` for the ended runs' last bytes to be sent.
SHUTDOWN_MARGIN = 5.0


def _timed_protocol(header_timeout: float, body_timeout: float) -> type[asyncio.Protocol] | str:
    """uvicorn's httptools protocol with header and body read deadlines."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - httptools is a dependency of the core
        return "auto"

    class TimedHttpToolsProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None
        _in_headers = True  # between a request's first byte and the end of its headers
        _header_bytes = 0

        def data_received(self, data: bytes) -> None:
            if self._in_headers:
                self._header_bytes += len(data)
            super().data_received(data)
            # Still in the headers (the parser resets the count when they end) and too many.
            if self._in_headers and self._header_bytes > MAX_HEADER_BYTES \
                    and self.transport is not None and not self.transport.is_closing():
                self._refuse_headers()

        def _refuse_headers(self) -> None:
            log.info("refusing a request whose headers exceed %d bytes", MAX_HEADER_BYTES)
            self._disarm()
            self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                 b"content-length: 0\r\nconnection: close\r\n\r\n")
            self.transport.close()

        def _arm(self, seconds: float, what: str) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._expired, what, seconds)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expired(self, what: str, seconds: float) -> None:
            self._deadline = None
            if self.transport is not None and not self.transport.is_closing():
                client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
                log.info("closing the connection of %s: the request's %s did not arrive within "
                         "%.0f s", client, what, seconds)
                self.transport.close()

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm(header_timeout, "headers")

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_headers = True
            if self._deadline is None:  # a new request on a kept-alive connection
                self._arm(header_timeout, "headers")

        def on_headers_complete(self) -> None:
            self._in_headers = False
            self._header_bytes = 0
            super().on_headers_complete()
            self._arm(body_timeout, "body")

        def on_message_complete(self) -> None:
            self._disarm()
            self._in_headers = True  # until the next request's headers end
            super().on_message_complete()

    return TimedHttpToolsProtocol


class RuntimeServer(uvicorn.Server):
    """A uvicorn server that drains the runtime's runs before its own shutdown."""

    runtime: Runtime | None = None

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.runtime is not None:
            self.runtime.engine.drain(self.runtime.settings.server.shutdown_grace)
        await super().shutdown(sockets)


def make_server(app: Any, runtime: Runtime, *, host: str, port: int, log_level: str = "info",
                access_log: bool = False, **config: Any) -> RuntimeServer:
    """A :class:`RuntimeServer` for ``app`` (serving ``runtime``) with the runtime's timeouts."""
    server_settings = runtime.settings.server
    options: dict[str, Any] = {
        "host": host, "port": port, "log_level": log_level, "access_log": access_log,
        "lifespan": "on",
        "http": _timed_protocol(server_settings.header_timeout, server_settings.body_timeout),
        "timeout_graceful_shutdown": server_settings.shutdown_grace + SHUTDOWN_MARGIN,
    }
    if runtime.settings.logging.format == "json":
        options["log_config"] = None  # uvicorn's lines go through our JSON handler too
    options.update(config)
    server = RuntimeServer(uvicorn.Config(app, **options))
    server.runtime = runtime
    return server
