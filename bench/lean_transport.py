"""EXPERIMENT (not used by the runtime): a lean HTTP/1.1 transport for httpx on asyncio + httptools.

Measured by ``bench/llm_client_cost.py`` (row ``plugin+lean``) to size what httpx's default
transport (httpcore + h11, several layers per socket read) costs a streamed LLM reply. It
handles what that measurement needs: keep-alive pooling per origin, Content-Length and chunked
bodies, read/connect timeouts as httpx exceptions, TLS through asyncio. No proxies, no HTTP/2,
no retries on a pooled connection the server has just closed.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httptools
import httpx

_HIGH_WATER = 256 * 1024


class _Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.waiter: asyncio.Future[None] | None = None
        self.paused = False
        self.reset()

    def reset(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_done = False
        self.complete = False
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.error: Exception | None = None
        self.status = 0

    # asyncio.Protocol
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.error = httpx.RemoteProtocolError(f"invalid HTTP response: {exc}")
        if self.buffered > _HIGH_WATER and self.transport is not None and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.complete and self.error is None:
            self.error = httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body")
        self._wake()

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)

    def on_message_complete(self) -> None:
        self.complete = True

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def wait(self, timeout: float | None) -> None:  # noqa: ASYNC109
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(self.waiter, timeout)
        except TimeoutError:
            raise httpx.ReadTimeout("timed out reading the response") from None
        finally:
            self.waiter = None

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        self.buffered = 0
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return data


class _Body(httpx.AsyncByteStream):
    def __init__(self, pool: LeanTransport, key: tuple[str, str, int], conn: _Conn,
                 timeout: float | None) -> None:
        self.pool, self.key, self.conn, self.timeout = pool, key, conn, timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self.conn
        while True:
            if conn.chunks:
                yield conn.take()
            elif conn.complete:
                return
            elif conn.error is not None:
                raise conn.error
            else:
                await conn.wait(self.timeout)

    async def aclose(self) -> None:
        conn = self.conn
        if conn.complete and not conn.closed and conn.parser.should_keep_alive():
            conn.reset()
            self.pool._idle.setdefault(self.key, []).append(conn)
        elif conn.transport is not None:
            conn.transport.close()


class LeanTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}
        self._ssl: ssl.SSLContext | None = None

    async def _connect(self, key: tuple[str, str, int], timeout: float | None  # noqa: ASYNC109
                       ) -> _Conn:
        scheme, host, port = key
        tls = None
        if scheme == "https":
            tls = self._ssl = self._ssl or ssl.create_default_context()
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(_Conn, host, port, ssl=tls,
                                       server_hostname=host if tls else None), timeout)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc)) from None
        return conn

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        key = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        timeouts = request.extensions.get("timeout") or {}
        idle = self._idle.get(key)
        conn = None
        while idle:
            candidate = idle.pop()
            if not candidate.closed:
                conn = candidate
                break
        if conn is None:
            conn = await self._connect(key, timeouts.get("connect"))
        body = b"".join([part async for part in request.stream])  # type: ignore[union-attr]
        lines = [b"%s %s HTTP/1.1" % (request.method.encode(), url.raw_path)]
        lines += [b"%s: %s" % (k, v) for k, v in request.headers.raw]
        assert conn.transport is not None
        conn.transport.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        read_timeout = timeouts.get("read")
        while not conn.headers_done:
            if conn.error is not None:
                conn.transport.close()
                raise conn.error
            await conn.wait(read_timeout)
        return httpx.Response(conn.status, headers=conn.headers,
                              stream=_Body(self, key, conn, read_timeout),
                              extensions={"http_version": b"HTTP/1.1"})

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                if conn.transport is not None:
                    conn.transport.close()
        self._idle.clear()
