"""A lean HTTP/1.1 transport for httpx, for plain ``http://`` remotes.

httpx's default transport parses responses with h11 in pure Python, which costs a few
microseconds per chunk: an AG-UI stream is one small chunk per event, so that parser was the
largest single cost of relaying a remote run (measured in ``bench/bench_remote.py``). This
transport parses with ``httptools`` (the C parser uvicorn uses, already a core dependency) on
an asyncio protocol, and keeps idle connections per host for reuse. ``https://`` and anything
else go to httpx's own transport, so TLS, proxies and HTTP/2 behave as httpx's do.

Errors are httpx's: ``ConnectError``/``ConnectTimeout``, ``ReadTimeout`` (no byte for the read
timeout), ``RemoteProtocolError`` (the peer closed mid-response or sent something that is not
HTTP), ``ReadError``. Closing a response before its end closes its connection, so the peer sees
the client go away.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httptools
import httpx


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.chunks: collections.deque[bytes] = collections.deque()
        self.wakeup = asyncio.Event()
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_done = False
        self.complete = False
        self.lost: BaseException | None = None
        self.eof = False
        self._name = b""

    # -- asyncio.Protocol ----------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.lost = httpx.RemoteProtocolError("the server upgraded the connection")
        except httptools.HttpParserError as exc:
            self.lost = httpx.RemoteProtocolError(f"malformed HTTP response: {exc}")
        self.wakeup.set()

    def eof_received(self) -> bool:
        self.eof = True
        self.wakeup.set()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        if exc is not None and self.lost is None:
            self.lost = httpx.ReadError(f"{type(exc).__name__}: {exc}")
        self.wakeup.set()

    # -- httptools callbacks -------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.complete = True

    # -- use -----------------------------------------------------------------------------------
    @property
    def usable(self) -> bool:
        return self.transport is not None and not self.transport.is_closing() and not self.eof

    def reset(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.chunks.clear()
        self.headers = []
        self.headers_done = self.complete = False

    async def wait(self, timeout: float | None) -> None:  # noqa: ASYNC109 - httpx hands us seconds
        self.wakeup.clear()
        if self.chunks or self.complete or self.eof or self.lost:
            return
        try:
            await asyncio.wait_for(self.wakeup.wait(), timeout)
        except TimeoutError:
            raise httpx.ReadTimeout(f"no data from the server for {timeout} s") from None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class _Body(httpx.AsyncByteStream):
    def __init__(self, transport: LeanHTTPTransport, key: tuple[str, int],
                 connection: _Connection, timeout: float | None) -> None:
        self._owner = transport
        self._key = key
        self._connection = connection
        self._timeout = timeout
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._connection
        while True:
            while conn.chunks:
                yield conn.chunks.popleft()
            if conn.complete:
                self._done = True
                return
            if conn.lost is not None:
                raise conn.lost
            if conn.eof:
                raise httpx.RemoteProtocolError("the server closed the connection before the "
                                                "response was complete")
            await conn.wait(self._timeout)

    async def aclose(self) -> None:
        conn = self._connection
        if self._done and conn.usable and conn.parser.should_keep_alive():
            conn.reset()
            self._owner._release(self._key, conn)
        else:
            conn.close()


class LeanHTTPTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, max_idle_per_host: int = 64) -> None:
        self._fallback = httpx.AsyncHTTPTransport()
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._max_idle = max_idle_per_host

    def _release(self, key: tuple[str, int], conn: _Connection) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) < self._max_idle:
            idle.append(conn)
        else:
            conn.close()

    def _take(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if conn.usable:
                return conn
            conn.close()
        return None

    async def _open(self, key: tuple[str, int], timeout: float | None) -> _Connection:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(_Connection, key[0], key[1]), timeout)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"could not connect within {timeout} s") from None
        except OSError as exc:
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from None
        return conn

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http":
            return await self._fallback.handle_async_request(request)
        timeouts = request.extensions.get("timeout") or {}
        key = (url.host, url.port or 80)
        body = b"".join([part async for part in request.stream])  # type: ignore[union-attr]
        target = url.raw_path or b"/"
        head = [request.method.encode(), b" ", target, b" HTTP/1.1\r\n"]
        for name, value in request.headers.raw:
            head += [name, b": ", value, b"\r\n"]
        if body and "content-length" not in request.headers:
            head += [b"content-length: ", str(len(body)).encode(), b"\r\n"]
        payload = b"".join([*head, b"\r\n", body])
        for attempt in (1, 2):
            conn = self._take(key)
            reused = conn is not None
            if conn is None:
                conn = await self._open(key, timeouts.get("connect"))
            assert conn.transport is not None
            conn.transport.write(payload)
            try:
                while not conn.headers_done:
                    if conn.lost is not None:
                        raise conn.lost
                    if conn.eof:
                        raise httpx.RemoteProtocolError("the server closed the connection "
                                                        "without answering")
                    await conn.wait(timeouts.get("read"))
            except (httpx.RemoteProtocolError, httpx.ReadError):
                conn.close()
                if reused and attempt == 1:
                    continue  # an idle keep-alive connection the server had closed: once more
                raise
            except BaseException:
                conn.close()
                raise
            status = conn.parser.get_status_code()
            return httpx.Response(status, headers=conn.headers,
                                  stream=_Body(self, key, conn, timeouts.get("read")),
                                  extensions={"http_version": b"HTTP/1.1"})
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
        with contextlib.suppress(Exception):
            await self._fallback.aclose()
