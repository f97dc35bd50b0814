"""Raw bytes on a real socket: malformed requests, slow senders and clients that go away
(issue 13, defect 6, and the malformed-bytes test)."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from copilotkit_runtime.testing import ServedRuntime, make_runtime, serve_runtime

HEADER_TIMEOUT = 0.5
BODY_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def served() -> Iterator[ServedRuntime]:
    runtime = make_runtime({
        "agents": {"demo": {"provider": "demo", "chunk_delay": 0}},
        "server": {"header_timeout": HEADER_TIMEOUT, "body_timeout": BODY_TIMEOUT},
        "limits": {"max_body_bytes": 100_000},
    }, load_entry_points=True)
    with serve_runtime(runtime) as served:
        yield served


def connect(served: ServedRuntime) -> socket.socket:
    sock = socket.create_connection((served.host, served.port), timeout=5)
    sock.settimeout(5)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """What the server sends until it closes the connection, or 5 s pass, or it has answered
    and then says nothing for 0.3 s (a kept-alive connection)."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
            sock.settimeout(0.3)
    except (TimeoutError, ConnectionResetError):
        pass
    return b"".join(chunks)


def healthy(served: ServedRuntime) -> bool:
    return httpx.get(served.origin + "/health", timeout=5).status_code == 200


MALFORMED = [
    b"\x00\xff\xfe garbage \r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"POST /api/copilotkit HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    b"POST /api/copilotkit HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nContent-Length: 3\r\n\r\nabc",
    b"POST /api/copilotkit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
    b"POST /api/copilotkit HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n{\"query\": 1}",
    b"POST /api/copilotkit HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n\xff\xfe\x00{\"a",
    b"POST /api/copilotkit/agent/demo/run HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n\xed\xa0\x80]",
    b"POST /api/copilotkit/agent/%ff%fe/run HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
    b"GET /api/copilotkit?query=%ff%fe&variables=%7B HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 200_000 + b"\r\n\r\n",
    b"POST /api/copilotkit HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n{",
]


@pytest.mark.parametrize("raw", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_bytes_get_a_4xx_or_a_closed_connection(served: ServedRuntime, raw: bytes) -> None:
    with connect(served) as sock:
        sock.sendall(raw)
        answer = read_all(sock)
    if answer:
        status = int(answer.split(b" ", 2)[1])
        assert 400 <= status < 500, answer[:300]
    assert healthy(served)


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(
        served: ServedRuntime) -> None:
    with connect(served) as sock:
        started = time.monotonic()
        assert read_all(sock) == b""  # closed by the server, not by our 5 s timeout
        assert time.monotonic() - started < 4


def test_partial_headers_are_not_held_forever(served: ServedRuntime) -> None:
    sockets = [connect(served) for _ in range(30)]
    try:
        for sock in sockets:
            sock.sendall(b"POST /api/copilotkit HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        for sock in sockets:
            assert read_all(sock) == b""
    finally:
        for sock in sockets:
            sock.close()
    assert healthy(served)


def test_a_slow_body_is_cut_and_logged_in_one_line(served: ServedRuntime,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with connect(served) as sock:
        sock.sendall(b"POST /api/copilotkit/agent/demo/run HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"thr")
        assert read_all(sock) == b""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(
            "went away" in r.getMessage() for r in caplog.records):
        time.sleep(0.05)
    lines = [r for r in caplog.records if "went away" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert any("did not arrive within" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_client_that_disconnects_mid_body_costs_one_log_line(
        served: ServedRuntime, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(3):
        with connect(served) as sock:
            sock.sendall(b"POST /api/copilotkit HTTP/1.1\r\nHost: x\r\nContent-Length: 9000\r\n"
                         b"\r\n" + b"{" * 100)
            time.sleep(0.05)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(
            [r for r in caplog.records if "went away" in r.getMessage()]) < 3:
        time.sleep(0.05)
    lines = [r for r in caplog.records if "went away" in r.getMessage()]
    assert len(lines) == 3
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert healthy(served)


def test_a_kept_alive_connection_still_serves_requests(served: ServedRuntime) -> None:
    with httpx.Client(base_url=served.origin) as client:
        for _ in range(3):
            assert client.get("/health").status_code == 200
            time.sleep(HEADER_TIMEOUT / 2)
