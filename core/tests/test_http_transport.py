"""copilotkit_runtime.http: the lean httpx transport against a real local HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx
import pytest

from copilotkit_runtime.http import LeanHTTPTransport, lean_async_client

pytestmark = pytest.mark.anyio


@dataclass
class Server:
    """A raw asyncio HTTP/1.1 server whose answer per request a test scripts."""

    answer: Callable[[bytes, asyncio.StreamReader, asyncio.StreamWriter], object]
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                result = self.answer(request, reader, writer)
                if asyncio.iscoroutine(result):
                    await result
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed.set()
            writer.close()


@contextlib.asynccontextmanager
async def serve(answer: Callable[[bytes, asyncio.StreamReader, asyncio.StreamWriter], object]) -> AsyncIterator[Server]:
    server = Server(answer)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()


def fixed(body: bytes, extra: bytes = b"") -> Callable[[bytes, asyncio.StreamReader, asyncio.StreamWriter], None]:
    def answer(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n%s\r\n%s"
                     % (len(body), extra, body))
    return answer


async def test_a_keep_alive_connection_is_reused_for_the_next_request() -> None:
    async with serve(fixed(b"hello")) as server, lean_async_client() as client:
        for _ in range(3):
            response = await client.get(f"http://127.0.0.1:{server.port}/x?a=1")
            assert (response.status_code, response.text) == (200, "hello")
            assert response.headers["content-type"] == "text/plain"
        assert server.connections == 1
        assert server.requests[0].startswith(b"GET /x?a=1 HTTP/1.1\r\n")


async def test_a_chunked_stream_arrives_as_it_is_sent() -> None:
    go_on = asyncio.Event()

    async def answer(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        await go_on.wait()
        writer.write(b"6\r\nsecond\r\n0\r\n\r\n")

    async with serve(answer) as server, lean_async_client() as client:
        async with client.stream("POST", f"http://127.0.0.1:{server.port}/s",
                                 json={"q": 1}) as response:
            pieces = response.aiter_bytes()
            assert await pieces.__anext__() == b"first"  # before the rest is sent
            go_on.set()
            assert [piece async for piece in pieces] == [b"second"]
        body = server.requests[0]
        assert b"content-length: 7\r\n" in body.lower() and body.endswith(b'{"q":1}')
        again = await client.get(f"http://127.0.0.1:{server.port}/s")
        assert again.text == "firstsecond"
        assert server.connections == 1


async def test_a_streamed_request_body_is_sent_with_its_length() -> None:
    async def parts() -> AsyncIterator[bytes]:
        yield b"abc"
        yield b"def"

    async with serve(fixed(b"ok")) as server, lean_async_client() as client:
        response = await client.post(f"http://127.0.0.1:{server.port}/up", content=parts())
        assert response.text == "ok"
        request = server.requests[0].lower()
        assert b"transfer-encoding" not in request
        assert b"content-length: 6\r\n" in request and request.endswith(b"abcdef")


async def test_a_body_that_ends_with_the_connection() -> None:
    def answer(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil close")
        writer.close()

    async with serve(answer) as server, lean_async_client() as client:
        assert (await client.get(f"http://127.0.0.1:{server.port}/")).text == "until close"
        assert (await client.get(f"http://127.0.0.1:{server.port}/")).text == "until close"
        assert server.connections == 2


async def test_a_kept_connection_the_server_closed_is_retried_once_on_a_new_one() -> None:
    count = 0

    def answer(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        count += 1
        if count == 2:
            writer.close()  # as a server closing an idle connection as the request arrives
        else:
            fixed(b"n%d" % count)(request, reader, writer)

    async with serve(answer) as server, lean_async_client() as client:
        assert (await client.get(f"http://127.0.0.1:{server.port}/")).text == "n1"
        assert (await client.post(f"http://127.0.0.1:{server.port}/", json={})).text == "n3"
        assert server.connections == 2 and count == 3


async def test_a_fresh_connection_closed_without_an_answer_is_not_retried() -> None:
    def answer(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async with serve(answer) as server, lean_async_client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(f"http://127.0.0.1:{server.port}/")
        assert len(server.requests) == 1


async def test_a_silent_server_is_a_read_timeout_and_is_hung_up_on() -> None:
    async def answer(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client hangs up

    async with serve(answer) as server, lean_async_client(timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"http://127.0.0.1:{server.port}/")
        await asyncio.wait_for(server.closed.wait(), 5)


async def test_a_stalled_body_is_a_read_timeout() -> None:
    async def answer(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf")
        await reader.read()  # until the client hangs up

    async with (serve(answer) as server, lean_async_client(timeout=0.3) as client,
                client.stream("GET", f"http://127.0.0.1:{server.port}/") as response):
        with pytest.raises(httpx.ReadTimeout):
            await response.aread()


async def test_a_cut_off_body_is_a_protocol_error() -> None:
    def answer(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf")
        writer.close()

    async with serve(answer) as server, lean_async_client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(f"http://127.0.0.1:{server.port}/")


async def test_closing_a_response_early_closes_its_connection() -> None:
    async def answer(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        await writer.drain()
        await reader.read()  # until the client hangs up

    async with serve(answer) as server, lean_async_client() as client:
        async with client.stream("GET", f"http://127.0.0.1:{server.port}/") as response:
            async for _ in response.aiter_bytes():
                break
        await asyncio.wait_for(server.closed.wait(), 5)  # the server saw the client go


async def test_cancelling_a_request_closes_its_connection() -> None:
    asked = asyncio.Event()

    async def answer(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        asked.set()
        await reader.read()  # until the client hangs up

    async with serve(answer) as server, lean_async_client() as client:
        task = asyncio.create_task(client.get(f"http://127.0.0.1:{server.port}/"))
        await asyncio.wait_for(asked.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(server.closed.wait(), 5)


async def test_nobody_listening_is_a_connect_error() -> None:
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    async with lean_async_client() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_garbage_is_a_protocol_error() -> None:
    def answer(request: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")

    async with serve(answer) as server, lean_async_client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(f"http://127.0.0.1:{server.port}/")


class Recording(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.urls: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return httpx.Response(200, text="from the fallback")


async def test_https_head_and_upgrade_go_to_httpx_s_own_transport() -> None:
    fallback = Recording()
    async with serve(fixed(b"lean")) as server, httpx.AsyncClient(
            transport=LeanHTTPTransport(fallback=fallback)) as client:
        assert (await client.get("https://api.example.test/v1/x")).text == "from the fallback"
        await client.head(f"http://127.0.0.1:{server.port}/")
        await client.get(f"http://127.0.0.1:{server.port}/ws", headers={"upgrade": "websocket"})
        assert (await client.get(f"http://127.0.0.1:{server.port}/")).text == "lean"
        assert len(fallback.urls) == 3 and server.connections == 1


def test_a_proxy_from_the_environment_is_honoured_and_no_proxy_too(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY",
                 "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    lean = LeanHTTPTransport()
    via_proxy = lean._other_transport(httpx.Request("POST", "http://models.internal:8000/v1"))
    assert isinstance(via_proxy, httpx.AsyncHTTPTransport) and via_proxy is not lean._fallback
    assert lean._other_transport(httpx.Request("POST", "http://127.0.0.1:8000/v1")) is None
    assert lean._other_transport(httpx.Request("POST", "http://localhost:8000/v1")) is None
    # trust_env = false: no proxy
    assert LeanHTTPTransport(trust_env=False)._other_transport(
        httpx.Request("POST", "http://models.internal:8000/v1")) is None


async def test_the_transport_speaks_httpx2_for_sdks_built_on_it() -> None:
    httpx2 = pytest.importorskip("httpx2")  # the Anthropic SDK 2.x's httpx
    from copilotkit_runtime.http import httpx_flavour

    class SDKClient(httpx2.AsyncClient):
        pass

    assert httpx_flavour(SDKClient) is httpx2 and httpx_flavour(httpx.AsyncClient) is httpx
    async with serve(fixed(b"two")) as server, lean_async_client(flavour=httpx2) as client:
        assert isinstance(client, httpx2.AsyncClient)
        for _ in range(2):
            async with client.stream("GET", f"http://127.0.0.1:{server.port}/") as response:
                assert [piece async for piece in response.aiter_bytes()] == [b"two"]
        assert server.connections == 1
    async with lean_async_client(flavour=httpx2, timeout=0.3) as client:
        with pytest.raises(httpx2.ConnectError):
            await client.get("http://127.0.0.1:9/")


async def test_sse_events_name_each_event_however_the_bytes_are_cut() -> None:
    from copilotkit_runtime.http import sse_events

    stream = (b"event: message_start\r\ndata: {\"a\": 1}\r\n\r\n: a comment\n\n"
              b"data: plain\ndata: two lines\n\nevent: message_stop\ndata: {}")

    async def collect(*pieces: bytes) -> list[tuple[bytes, bytes]]:
        async def body() -> AsyncIterator[bytes]:
            for piece in pieces:
                yield piece
        return [event async for event in sse_events(body())]

    whole = await collect(stream)
    assert whole == [(b"message_start", b'{"a": 1}'), (b"", b"plain\ntwo lines"),
                     (b"message_stop", b"{}")]
    for cut in range(1, len(stream)):
        assert await collect(stream[:cut], stream[cut:]) == whole, cut
