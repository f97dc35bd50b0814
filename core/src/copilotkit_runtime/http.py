"""A lean HTTP/1.1 client transport for ``httpx``: asyncio + ``httptools``.

Streamed upstream replies (an LLM's server-sent events, a remote AG-UI agent's events) arrive
as one small socket read per token or event. httpx's default transport takes each read through
httpcore, h11 (a pure-Python parser) and anyio: about 40 µs per read, 8-9 ms of CPU for a
200-chunk LLM reply, the largest single cost of serving one (``bench/README.md``, "The LLM
path"). This transport parses with ``httptools`` (the C parser uvicorn uses, a core dependency)
on an asyncio protocol, and hands the body on as it arrives, every read since the last one
joined. Plugins give it to their SDK's client: ``httpx.AsyncClient(transport=LeanHTTPTransport())``,
or :func:`lean_async_client`.

What it does itself: ``http://`` requests of HTTP/1.1, keep-alive connections reused per host
(a reused connection that the server had closed while idle is retried once on a fresh one),
Content-Length, chunked and close-delimited bodies, the connect and read timeouts of httpx's
``Timeout`` (read: the most time between two reads, as httpx), back-pressure on a body nobody
reads. Closing a response before its end closes its connection, so the server sees the client
go away (a cancelled run hangs up on its model).

What it hands to httpx's own transport (``fallback``), unchanged: ``https://`` (TLS, certifi,
``SSL_CERT_FILE``), any URL a proxy from the environment applies to (``HTTP_PROXY``,
``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``: an ``httpx.AsyncClient`` given a transport no
longer reads them, so this transport does), ``HEAD`` and ``Upgrade`` requests. So nothing that
worked through httpx stops working; only plain-http upstreams (a local model server, vLLM,
Ollama, a sidecar, the tests' fakes) get the cheaper path.

Errors are httpx's: ``ConnectError``/``ConnectTimeout``, ``ReadTimeout``, ``RemoteProtocolError``
(the server closed mid-response, or sent something that is not HTTP), ``ReadError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
import urllib.request
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from types import ModuleType
from typing import Any, ClassVar

import httptools
import httpx

__all__ = ["LeanHTTPTransport", "httpx_flavour", "lean_async_client", "lean_transport",
           "sse_events"]

#: a body nobody reads stops being read from the socket past this many buffered bytes
_HIGH_WATER = 256 * 1024


class _Connection(asyncio.Protocol):
    def __init__(self, hx: ModuleType) -> None:
        self.hx = hx
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.eof = False
        self.paused = False
        self.lost: Exception | None = None
        self.reset()

    def reset(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        #: neither Content-Length nor chunked: the body ends when the server closes
        self.until_close = False

    # -- asyncio.Protocol ----------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.lost = self.hx.RemoteProtocolError("the server upgraded the connection")
        except httptools.HttpParserError as exc:
            self.lost = self.hx.RemoteProtocolError(f"malformed HTTP response: {exc}")
        if self.buffered > _HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        if exc is not None and self.lost is None:
            self.lost = self.hx.ReadError(f"{type(exc).__name__}: {exc}")
        self._wake()

    # -- httptools callbacks -------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_done = True
        names = {name.lower() for name, _ in self.headers}
        self.until_close = b"content-length" not in names and b"transfer-encoding" not in names

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)

    def on_message_complete(self) -> None:
        self.complete = True
        # asked here: the parser forgets it once the message is over
        self.keep_alive = self.parser.should_keep_alive()

    # -- use -----------------------------------------------------------------------------------
    @property
    def usable(self) -> bool:
        return (self.transport is not None and not self.transport.is_closing() and not self.eof
                and self.lost is None)

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, timeout: float | None) -> None:  # noqa: ASYNC109 - httpx hands us seconds
        """Until the next read (or the end of the connection), at most ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        waiter = self.waiter = loop.create_future()
        timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        finally:
            self.waiter = None
            if timer is not None:
                timer.cancel()

    def take(self) -> bytes:
        chunks = self.chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self.buffered = 0
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return data

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class _Body:
    """A response body (a subclass of the flavour's ``AsyncByteStream``: see :func:`_body_type`)."""

    def __init__(self, owner: LeanHTTPTransport, key: tuple[str, int], conn: _Connection,
                 timeout: float | None, reusable: bool) -> None:
        self._owner = owner
        self._key = key
        self._conn = conn
        self._timeout = timeout
        self._reusable = reusable

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        while True:
            if conn.chunks:
                yield conn.take()
            elif conn.complete:
                return
            elif conn.lost is not None:
                raise conn.lost
            elif conn.eof:
                if conn.until_close:
                    conn.complete = True
                    self._reusable = False
                    return
                raise conn.hx.RemoteProtocolError(
                    "the server closed the connection before the response was complete")
            else:
                try:
                    await conn.wait(self._timeout)
                except TimeoutError:
                    raise conn.hx.ReadTimeout(
                        f"no data from the server for {self._timeout:g} s") from None

    async def aclose(self) -> None:
        conn = self._conn
        if self._reusable and conn.complete and conn.keep_alive and not conn.chunks and conn.usable:
            conn.reset()
            self._owner._release(self._key, conn)
        else:
            conn.close()


class LeanHTTPTransport(httpx.AsyncBaseTransport):
    """An httpx transport: plain-http HTTP/1.1 on asyncio + httptools, the rest to ``fallback``
    (by default ``httpx.AsyncHTTPTransport`` with the limits the OpenAI SDK uses).

    For an SDK on another build of httpx's API (``httpx2``: the Anthropic SDK 2.x), make it with
    :func:`lean_transport` or :func:`lean_async_client` and ``flavour=`` that module."""

    #: the httpx module whose types this transport's requests, responses and errors are
    _hx: ClassVar[ModuleType] = httpx

    def __init__(self, *, fallback: Any = None, trust_env: bool = True,
                 max_idle_per_host: int = 64) -> None:
        hx = self._hx
        limits = hx.Limits(max_connections=1000, max_keepalive_connections=100)
        self._fallback = fallback or hx.AsyncHTTPTransport(limits=limits, trust_env=trust_env)
        self._body_type = _body_type(hx)
        self._proxies: dict[str, str] = (
            urllib.request.getproxies_environment() if trust_env else {})
        self._proxy_transports: dict[str, Any] = {}
        self._limits = limits
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._max_idle = max_idle_per_host

    # -- what goes where -----------------------------------------------------------------------
    def _proxy_for(self, url: Any) -> str | None:
        proxies = self._proxies
        if not proxies:
            return None
        proxy = proxies.get(url.scheme) or proxies.get("all")
        if not proxy:
            return None
        host = url.host if url.port is None else f"{url.host}:{url.port}"
        if urllib.request.proxy_bypass_environment(host, proxies):  # type: ignore[attr-defined]
            return None
        return proxy if "://" in proxy else f"http://{proxy}"

    def _other_transport(self, request: Any) -> Any:
        """The transport for a request this one does not serve itself, or None."""
        url = request.url
        proxy = self._proxy_for(url)
        if proxy is not None:
            transport = self._proxy_transports.get(proxy)
            if transport is None:
                transport = self._proxy_transports[proxy] = self._hx.AsyncHTTPTransport(
                    proxy=proxy, limits=self._limits)
            return transport
        if url.scheme != "http" or request.method == "HEAD" or "upgrade" in request.headers:
            return self._fallback
        return None

    # -- the pool ------------------------------------------------------------------------------
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
        hx = self._hx
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(lambda: _Connection(hx), key[0], key[1])
        except TimeoutError:
            raise hx.ConnectTimeout(f"could not connect to {key[0]}:{key[1]} within "
                                       f"{timeout:g} s") from None
        except OSError as exc:
            raise hx.ConnectError(f"{type(exc).__name__}: {exc}") from None
        return conn

    # -- httpx.AsyncBaseTransport --------------------------------------------------------------
    async def handle_async_request(self, request: Any) -> Any:
        other = self._other_transport(request)
        if other is not None:
            return await other.handle_async_request(request)
        url = request.url
        timeouts: Mapping[str, float | None] = request.extensions.get("timeout") or {}
        read_timeout = timeouts.get("read")
        key = (url.host, url.port or 80)
        hx = self._hx
        payload, keep_alive = await _serialize(hx, request)
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
                        raise hx.RemoteProtocolError(
                            "the server closed the connection without answering")
                    try:
                        await conn.wait(read_timeout)
                    except TimeoutError:
                        raise hx.ReadTimeout(
                            f"no answer from the server within {read_timeout:g} s") from None
            except (hx.RemoteProtocolError, hx.ReadError):
                conn.close()
                if reused and attempt == 1 and not conn.headers:
                    continue  # an idle keep-alive connection the server had closed: once more
                raise
            except BaseException:
                conn.close()  # cancelled or timed out: the server sees us go
                raise
            return hx.Response(
                conn.parser.get_status_code(), headers=conn.headers,
                stream=self._body_type(self, key, conn, read_timeout, keep_alive),
                extensions={"http_version": b"HTTP/1.1"})
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
        for transport in (self._fallback, *self._proxy_transports.values()):
            with contextlib.suppress(Exception):
                await transport.aclose()


async def _serialize(hx: ModuleType, request: Any) -> tuple[bytes, bool]:
    """The request's bytes (a streamed body sent with a Content-Length), and whether the
    connection may be kept."""
    try:
        body = request.content  # an in-memory body (json=, content=, data=): read already
    except hx.RequestNotRead:
        body = b"".join([part async for part in request.stream])
    head = [request.method.encode(), b" ", request.url.raw_path or b"/", b" HTTP/1.1\r\n"]
    keep_alive = True
    has_length = False
    for name, value in request.headers.raw:
        lower = name.lower()
        if lower == b"transfer-encoding":
            continue  # the whole body is in hand: sent with its length instead
        if lower == b"content-length":
            has_length = True
        elif lower == b"connection" and value.lower() == b"close":
            keep_alive = False
        head += [name, b": ", value, b"\r\n"]
    if not has_length and (body or request.method in ("POST", "PUT", "PATCH")):
        head += [b"content-length: ", str(len(body)).encode(), b"\r\n"]
    head += [b"\r\n", body]
    return b"".join(head), keep_alive


@functools.cache
def _body_type(hx: ModuleType) -> type[Any]:
    return type("_Body", (_Body, hx.AsyncByteStream), {})


@functools.cache
def _transport_type(hx: ModuleType) -> type[LeanHTTPTransport]:
    if hx is httpx:
        return LeanHTTPTransport
    return type("LeanHTTPTransport", (LeanHTTPTransport, hx.AsyncBaseTransport), {"_hx": hx})


def httpx_flavour(client_type: type[Any]) -> ModuleType:
    """The httpx module (``httpx``, ``httpx2``) an SDK's client class is built on, e.g.
    ``httpx_flavour(openai.DefaultAsyncHttpxClient)``; ``httpx`` when none is found."""
    for base in client_type.__mro__:
        root = base.__module__.partition(".")[0]
        if base.__name__ == "AsyncClient" and root.startswith("httpx"):
            return sys.modules[root]
    return httpx


def lean_transport(*, flavour: ModuleType = httpx, **kwargs: Any) -> LeanHTTPTransport:
    """A :class:`LeanHTTPTransport` of the given httpx module's types."""
    return _transport_type(flavour)(**kwargs)


def lean_async_client(*, flavour: ModuleType = httpx, **kwargs: Any) -> Any:
    """``flavour.AsyncClient(**kwargs)`` on a :class:`LeanHTTPTransport` (``trust_env`` is
    passed on), e.g. an SDK's ``http_client``."""
    transport = lean_transport(flavour=flavour, trust_env=kwargs.get("trust_env", True))
    return flavour.AsyncClient(transport=transport, **kwargs)


async def sse_events(pieces: AsyncIterable[bytes]) -> AsyncIterator[tuple[bytes, bytes]]:
    """The server-sent events of a byte stream cut anywhere, as ``(event, data)``: ``event``
    the event's name (``b""`` when it has none), ``data`` its data lines joined by newlines.
    Comments and other fields are skipped; lines end in LF or CRLF; an event the stream ends
    in without its blank line still counts."""
    rest = b""
    data: list[bytes] = []
    event = b""
    async for piece in pieces:
        lines = (rest + piece).split(b"\n")
        rest = lines.pop()
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if line:
                if line.startswith(b"data:"):
                    data.append(line[6:] if line.startswith(b"data: ") else line[5:])
                elif line.startswith(b"event:"):
                    event = line[6:].strip()
                continue
            if data:
                yield event, b"\n".join(data)
            data, event = [], b""
    if rest.endswith(b"\r"):
        rest = rest[:-1]
    if rest.startswith(b"data:"):
        data.append(rest[6:] if rest.startswith(b"data: ") else rest[5:])
    elif rest.startswith(b"event:"):
        event = rest[6:].strip()
    if data:
        yield event, b"\n".join(data)
