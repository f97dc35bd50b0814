"""The load client: the exact ``generateCopilotResponse`` request the real client sends, over
raw asyncio sockets, each multipart stream read to its end and checked.

Why raw sockets: the client shares a 2-core machine with the server it measures, so it must
cost little. An ``asyncio.Protocol`` whose ``data_received`` only appends bytes is about as
cheap as Python gets; its own CPU is measured and reported with every result.

The request is the body of ``fixtures/chat-request.json`` (captured from
``@copilotkit/runtime-client-gql`` 1.10.6, see ``transcripts-v1/chat.txt``) with the headers
the client sends, and a fresh ``threadId`` per request (a real client starts a new thread per
chat; a runtime may refuse two concurrent runs on one thread).

Checks on every response: status 200, ``multipart/mixed``, the closing delimiter, a last part
with ``"hasNext":false``, and every one of the ``tokens`` chunk texts present exactly once.
The first ``full_checks`` responses of a phase (and every 50th after) are also parsed part by
part the way urql merges them, and the reassembled reply must equal the expected text with
``Success`` statuses on the message and the response.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PATH = "/api/copilotkit"
#: the headers of the real client (undici fetch from runtime-client-gql 1.10.6), in its order.
CLIENT_HEADERS = [
    ("connection", "keep-alive"),
    ("accept", "application/graphql-response+json, application/graphql+json, application/json, "
               "text/event-stream, multipart/mixed"),
    ("x-copilotkit-runtime-client-gql-version", "1.10.6"),
    ("content-type", "application/json"),
    ("accept-language", "*"),
    ("sec-fetch-mode", "cors"),
    ("user-agent", "node"),
    ("accept-encoding", "gzip, deflate"),
]
_CHUNKED_END = b"\r\n0\r\n\r\n"
_FIRST_TEXT = b'"content",0]'


def chunk_text(i: int) -> str:
    return "Bench reply." if i == 0 else f" token{i}"


#: the user message of ``fixtures/chat-request.json``; the fake LLM answers "You said: " + it
FIXTURE_USER_TEXT = "Hello from the harness"


def llm_pieces(tokens: int, user_text: str = FIXTURE_USER_TEXT) -> list[str]:
    """The chunks ``copilotkit_runtime.testing.fake_llm --chunks N`` streams for that message:
    the words of "You said: <message>" repeated round-robin, one per chunk."""
    words = f"You said: {user_text}".split(" ")
    return [(" " if i else "") + words[i % len(words)] for i in range(tokens)]


def expected_pieces(tokens: int, mode: str = "chat") -> list[str]:
    if mode == "llm":
        return llm_pieces(tokens)
    return [chunk_text(i) for i in range(tokens)]


def expected_text(tokens: int, mode: str = "chat") -> str:
    return "".join(expected_pieces(tokens, mode))


@functools.lru_cache(maxsize=8)
def _llm_counts(tokens: int) -> dict[bytes, int]:
    counts: dict[bytes, int] = {}
    for piece in llm_pieces(tokens):
        key = json.dumps(piece).encode()
        counts[key] = counts.get(key, 0) + 1
    return counts


#: the v2 (AG-UI) modes: ``POST {base}/agent/bench/run`` and the single-route envelope
V2_MODES = ("v2", "v2-single")
V2_HEADERS = [
    # what @ag-ui/client's HttpAgent (under @copilotkit/core 1.75) sends with undici fetch
    ("connection", "keep-alive"),
    ("content-type", "application/json"),
    ("accept", "text/event-stream"),
    ("accept-language", "*"),
    ("sec-fetch-mode", "cors"),
    ("user-agent", "node"),
    ("accept-encoding", "gzip, deflate"),
]
_V2_FIRST_TEXT = b"Bench reply."
#: an SSE keep-alive comment (``agui/endpoints.py``; 13 bytes, so the 16-byte tail can hold it)
KEEPALIVE = b": keep-alive\n"
V2_USER_TEXT = "Hello from the harness"


#: bench/agent_paths.py: a LangGraph graph behind each runtime. The request is the ``agent`` mode's
#: (v1, ``agentSession`` "bench") or the ``v2`` mode's; the reply carries the graph's other events
#: too (state snapshots, steps, custom and raw events, which differ between servers), so the
#: checks look only at the text message: every chunk there once, reassembled to the reply.
AGENT_MODES = {"agents-v1": "agent", "agents-v2": "v2"}


def v2_body(agent: str, user_text: str, single: bool) -> str:
    """A RunAgentInput as the v2 client sends it (``threadId`` a placeholder uuid)."""
    run_input = {"threadId": "00000000-0000-4000-8000-000000000000",
                 "runId": "11111111-1111-4111-8111-111111111111", "state": {},
                 "messages": [{"id": "22222222-2222-4222-8222-222222222222", "role": "user",
                               "content": user_text}],
                 "tools": [], "context": [], "forwardedProps": {}}
    if single:
        return json.dumps({"method": "agent/run", "params": {"agentId": agent},
                           "body": run_input}, separators=(",", ":"))
    return json.dumps(run_input, separators=(",", ":"))


class RequestFactory:
    """Request bytes: the captured body with a fresh threadId (same length, so the same size)."""

    def __init__(self, host: str, port: int, *, mode: str = "chat", agent: str = "bench",
                 user_text: str | None = None) -> None:
        mode = AGENT_MODES.get(mode, mode)
        #: bytes that mark the first text chunk in a response
        self.marker = _V2_FIRST_TEXT if mode in V2_MODES else _FIRST_TEXT
        self._run_placeholder = b"11111111-1111-4111-8111-111111111111" if mode in V2_MODES else b""
        if mode in V2_MODES:
            body = v2_body(agent, user_text or V2_USER_TEXT, mode == "v2-single")
            path = PATH if mode == "v2-single" else f"{PATH}/agent/{agent}/run"
            self._init(host, port, path, V2_HEADERS, body,
                       "00000000-0000-4000-8000-000000000000")
            return
        name = "agent-request.json" if mode == "agent" else "chat-request.json"  # llm: chat
        body = (FIXTURES / name).read_text(encoding="utf-8")
        data = json.loads(body)
        thread_id = data["variables"]["data"]["threadId"]
        if mode == "agent":
            old = data["variables"]["data"]["agentSession"]["agentName"]
            body = body.replace(f'"agentName":"{old}"', f'"agentName":"{agent}"')
        if user_text is not None:
            old_text = data["variables"]["data"]["messages"][-1]["textMessage"]["content"]
            body = body.replace(json.dumps(old_text), json.dumps(user_text))
        self._init(host, port, PATH, CLIENT_HEADERS, body, thread_id)

    def _init(self, host: str, port: int, path: str, headers: list[tuple[str, str]], body: str,
              thread_id: str) -> None:
        before, sep, after = body.partition(thread_id)
        assert sep and thread_id not in after, "threadId must occur once in the fixture"
        self._before = before.encode()
        self._after = after.encode()
        length = len(self._before) + 36 + len(self._after)
        lines = [f"POST {path} HTTP/1.1", f"host: {host}:{port}"]
        lines += [f"{k}: {v}" for k, v in headers]
        lines.append(f"content-length: {length}")
        self._head = ("\r\n".join(lines) + "\r\n\r\n").encode()

    def make(self) -> bytes:
        after = self._after
        if self._run_placeholder:  # v2: a fresh runId too (the same length)
            after = after.replace(self._run_placeholder, str(uuid.uuid4()).encode(), 1)
        return b"".join((self._head, self._before, str(uuid.uuid4()).encode(), after))


@dataclass
class Response:
    ok: bool = False
    error: str | None = None
    status: int = 0
    ttfb: float = 0.0  # seconds from sending the request to its first response byte
    first_text: float = 0.0  # ... to the read that carried the first text chunk
    total: float = 0.0  # ... to the end of the stream
    nbytes: int = 0
    body: bytes = b""


class _Conn(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.marker = _FIRST_TEXT
        self._waiter: asyncio.Future[None] | None = None
        self._reset()

    def _reset(self) -> None:
        self.buf: list[bytes] = []
        self.nbytes = 0
        self.t_first = 0.0
        self.t_text = 0.0
        self.head: bytes | None = None
        self.body_start = 0
        self.chunked = False
        self.length = -1
        self.tail = b""
        self.done = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError(f"connection closed: {exc}"))

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if not self.t_first:
            self.t_first = now
        self.buf.append(data)
        self.nbytes += len(data)
        if not self.t_text and self.marker in (self.tail[-16:] + data):
            self.t_text = now
        if self.head is None:
            joined = b"".join(self.buf)
            end = joined.find(b"\r\n\r\n")
            if end < 0:
                return
            self.head = joined[:end]
            self.body_start = end + 4
            lower = self.head.lower()
            self.chunked = b"transfer-encoding: chunked" in lower
            m = re.search(rb"content-length:\s*(\d+)", lower)
            self.length = int(m.group(1)) if m else -1
            self.tail = joined[-16:]
        else:
            self.tail = (self.tail + data)[-16:]
        if self.chunked:
            finished = self.tail.endswith(_CHUNKED_END)
        else:
            finished = self.length >= 0 and self.nbytes - self.body_start >= self.length
        if finished and self._waiter is not None and not self._waiter.done():
            self.done = True
            self._waiter.set_result(None)

    async def request(self, raw: bytes, timeout: float,  # noqa: ASYNC109
                      marker: bytes = _FIRST_TEXT) -> Response:
        assert self.transport is not None
        self._reset()
        self.marker = marker
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        t0 = time.perf_counter()
        self.transport.write(raw)
        try:
            await asyncio.wait_for(self._waiter, timeout)
        except (TimeoutError, ConnectionError) as exc:
            return Response(error=f"{type(exc).__name__}: {exc}"[:200], nbytes=self.nbytes)
        finally:
            self._waiter = None
        t_end = time.perf_counter()
        joined = b"".join(self.buf)
        body = joined[self.body_start:]
        if self.chunked:
            body = dechunk(body)
        status = int(self.head.split(b" ", 2)[1]) if self.head else 0
        return Response(ok=True, status=status, ttfb=self.t_first - t0,
                        first_text=(self.t_text or t_end) - t0, total=t_end - t0,
                        nbytes=self.nbytes, body=body)


def dechunk(data: bytes) -> bytes:
    out: list[bytes] = []
    pos = 0
    find = data.find
    while True:
        eol = find(b"\r\n", pos)
        if eol < 0:
            raise ValueError("truncated chunked body")
        size = int(data[pos:eol].split(b";", 1)[0], 16)
        if size == 0:
            return b"".join(out)
        start = eol + 2
        out.append(data[start:start + size])
        pos = start + size + 2


def quick_check(resp: Response, tokens: int, mode: str = "chat") -> str | None:
    """Cheap completeness check on every response; an error message or None."""
    if resp.status != 200:
        return f"HTTP {resp.status}: {resp.body[:200]!r}"
    body = resp.body
    if mode == "agents-v2":
        return agent_v2_quick_check(body, tokens)
    if mode in V2_MODES:
        return v2_quick_check(body, tokens)
    if not body.endswith(b"-----\r\n") and not body.rstrip().endswith(b"-----"):
        return f"no closing delimiter: ...{body[-120:]!r}"
    last = body[body.rfind(b"\r\n---\r\n", 0, len(body) - 8):]
    if b'"hasNext":false' not in last:
        return f"last part has no hasNext:false: {last[-200:]!r}"
    if mode == "agents-v1":
        # chunk items are JSON strings '" tokenN"'; a state snapshot's copy of the whole reply
        # is inside an escaped string, where no quote comes before " token"
        found = body.count(b'" token') + (b'"Bench reply.' in body)
        if found != tokens:
            return f"expected {tokens} text chunks, found {found}"
        return None
    if mode == "llm":
        for key, n in _llm_counts(tokens).items():
            if body.count(key) != n:
                return f"expected {n} text chunks {key.decode()}, found {body.count(key)}"
        return None
    if body.count(b" token") != tokens - 1 or b'"Bench reply.' not in body:
        return f"expected {tokens} text chunks, found {body.count(b' token') + 1}"
    return None


def parse_multipart(body: bytes) -> list[dict[str, Any]]:
    """The JSON payloads of a multipart/mixed body, split the way urql splits it."""
    payloads = []
    for part in body.split(b"\r\n---")[1:]:
        if part.startswith(b"--"):
            break
        _, sep, payload = part.partition(b"\r\n\r\n")
        if sep:
            payloads.append(json.loads(payload))
    return payloads


def v2_quick_check(body: bytes, tokens: int) -> str | None:
    """An SSE reply: RUN_STARTED first, RUN_FINISHED last, every chunk there once."""
    if not body.startswith(b'data: {"type":"RUN_STARTED"'):
        return f"does not start with RUN_STARTED: {body[:120]!r}"
    last = body[body.rfind(b"data: ", 0, len(body) - 2):]
    if not last.startswith(b'data: {"type":"RUN_FINISHED"') or not body.endswith(b"\n\n"):
        return f"does not end with RUN_FINISHED: ...{body[-160:]!r}"
    if body.count(b'"TEXT_MESSAGE_CONTENT"') != tokens or body.count(b'" token') != tokens - 1:
        return f"expected {tokens} text chunks, found {body.count(b'TEXT_MESSAGE_CONTENT')}"
    return None


def agent_v2_quick_check(body: bytes, tokens: int) -> str | None:
    """An SSE reply of a LangGraph agent: RUN_STARTED first, RUN_FINISHED last, N text chunks.
    SSE comments (the TypeScript runtime 1.75's ``: keep-alive`` while a run is slow) are
    skipped."""
    while body.startswith(b":"):
        _, sep, rest = body.partition(b"\n\n")
        if not sep:
            break
        body = rest
    if not body.startswith(b'data: {"type":"RUN_STARTED"'):
        return f"does not start with RUN_STARTED: {body[:120]!r}"
    last = body[body.rfind(b"data: ", 0, len(body) - 2):]
    if not last.startswith(b'data: {"type":"RUN_FINISHED"') or not body.endswith(b"\n\n"):
        return f"does not end with RUN_FINISHED: ...{body[-160:]!r}"
    found = body.count(b'{"type":"TEXT_MESSAGE_CONTENT"')
    if found != tokens:
        return f"expected {tokens} text chunks, found {found}"
    return None


def agent_v2_full_check(body: bytes, tokens: int) -> str | None:
    """Parse every event: the text message's events in order, one id, the reassembled reply."""
    try:
        events = parse_sse(body)
    except ValueError as exc:
        return f"an event is not JSON: {exc}"
    kinds = [e.get("type") for e in events]
    if kinds[0] != "RUN_STARTED" or kinds[-1] != "RUN_FINISHED":
        return f"unexpected event order: {kinds[:3]} ... {kinds[-3:]}"
    text = [e for e in events if e.get("type", "").startswith("TEXT_MESSAGE_")]
    if ([e["type"] for e in text[:1] + text[-1:]] != ["TEXT_MESSAGE_START", "TEXT_MESSAGE_END"]
            or len({e.get("messageId") for e in text}) != 1):
        return f"not one text message: {[e['type'] for e in text[:2]]} ... {len(text)} events"
    content = [e["delta"] for e in text if e["type"] == "TEXT_MESSAGE_CONTENT"]
    if len(content) != tokens or "".join(content) != expected_text(tokens):
        return f"the reassembled text differs from the expected reply ({len(content)} chunks)"
    return None


def parse_sse(body: bytes) -> list[dict[str, Any]]:
    """The events of an SSE body, split the way the AG-UI client splits it."""
    events = []
    for frame in body.decode().split("\n\n"):
        data = "\n".join(line[5:].lstrip(" ") for line in frame.split("\n")
                         if line.startswith("data:"))
        if data:
            events.append(json.loads(data))
    return events


def v2_full_check(body: bytes, tokens: int) -> str | None:
    """Parse every event; check the order and the reassembled text."""
    try:
        events = parse_sse(body)
    except ValueError as exc:
        return f"an event is not JSON: {exc}"
    kinds = [e.get("type") for e in events]
    if kinds[:2] != ["RUN_STARTED", "TEXT_MESSAGE_START"] or kinds[-2:] != ["TEXT_MESSAGE_END",
                                                                          "RUN_FINISHED"]:
        return f"unexpected event order: {kinds[:3]} ... {kinds[-3:]}"
    content = [e for e in events if e.get("type") == "TEXT_MESSAGE_CONTENT"]
    if len(content) != tokens or len(events) != tokens + 4:
        return f"expected {tokens} content events, got {len(content)} of {len(events)}"
    ids = {e.get("messageId") for e in events[1:-1]}
    if len(ids) != 1 or None in ids:
        return f"events of more than one message: {ids}"
    started, finished = events[0], events[-1]
    if started.get("threadId") != finished.get("threadId") or not started.get("threadId"):
        return "RUN_STARTED and RUN_FINISHED name different threads"
    if "".join(e["delta"] for e in content) != expected_text(tokens):
        return "the reassembled text differs from the expected reply"
    return None


def full_check(resp: Response, tokens: int, mode: str = "chat") -> str | None:
    """Parse every part, merge as urql does, and compare with the expected reply."""
    if mode == "agents-v2":
        return agent_v2_full_check(resp.body, tokens)
    if mode in V2_MODES:
        return v2_full_check(resp.body, tokens)
    try:
        payloads = parse_multipart(resp.body)
    except ValueError as exc:
        return f"a part is not JSON: {exc}"
    if not payloads or "data" not in payloads[0]:
        return f"first part has no data: {payloads[:1]}"
    if payloads[0].get("errors") or any(p.get("errors") for p in payloads):
        return f"GraphQL errors: {[p.get('errors') for p in payloads if p.get('errors')][:1]}"
    if payloads[-1].get("hasNext") is not False:
        return "the stream ended without hasNext:false"
    root = payloads[0]["data"]["generateCopilotResponse"]
    messages: list[dict[str, Any]] = list(root.get("messages") or [])
    for p in payloads[1:]:
        for inc in p.get("incremental") or []:
            path = inc["path"]
            if "items" in inc:
                target: Any = {"generateCopilotResponse": root}
                for key in path[:-1]:
                    target = target[key]
                index = path[-1]
                for offset, item in enumerate(inc["items"]):
                    while len(target) <= index + offset:
                        target.append(None)
                    target[index + offset] = item
                if path[:-1] == ["generateCopilotResponse", "messages"]:
                    messages = target
            else:
                target = {"generateCopilotResponse": root}
                for key in path:
                    target = target[key]
                target.update(inc["data"])
    root["messages"] = messages
    status = (root.get("status") or {}).get("__typename")
    if status != "SuccessResponseStatus":
        return f"response status {status}"
    texts = [m for m in messages if m and m.get("__typename") == "TextMessageOutput"]
    if len(texts) != 1:
        return f"expected one text message, got {[m and m.get('__typename') for m in messages]}"
    for m in messages:
        if ((m or {}).get("status") or {}).get("__typename") != "SuccessMessageStatus":
            return f"message without a Success status: {str(m)[:200]}"
    content = texts[0].get("content") or []
    if len(content) != tokens or None in content:
        return f"expected {tokens} content items, got {len(content)}"
    if "".join(content) != expected_text(tokens, mode):
        return "the reassembled text differs from the expected reply"
    return None


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))  # nearest rank
    return ordered[k]


# -- process measurements --------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    # fields[0] is state (field 3); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / _TICK


def proc_mem_mb(pid: int) -> dict[str, float]:
    out = {}
    with open(f"/proc/{pid}/status", "rb") as f:
        for line in f:
            if line.startswith((b"VmRSS:", b"VmHWM:")):
                key, value = line.split(b":", 1)
                out[key.decode()] = int(value.split()[0]) / 1024
    return out


def machine_busy_seconds() -> float:
    with open("/proc/stat", "rb") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / _TICK


def self_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


class MemorySampler:
    """Samples a process's RSS every ``interval`` seconds; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0.0
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> float:
        rss = proc_mem_mb(self.pid).get("VmRSS", 0.0)
        self.peak = max(self.peak, rss)
        return rss

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval)

    def __enter__(self) -> MemorySampler:
        self.sample()
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._task is not None
        self._task.cancel()
        self.sample()


# -- a load phase ----------------------------------------------------------------------------


@dataclass
class PhaseConfig:
    host: str
    port: int
    concurrency: int
    total: int
    tokens: int = 200
    mode: str = "chat"
    timeout: float = 120.0
    full_checks: int = 20
    server_pid: int | None = None
    #: the fake LLM server's pid (mode llm): its CPU is reported too
    llm_pid: int | None = None
    #: other processes serving the requests (name -> pid, e.g. an agent server behind the
    #: runtime): their CPU and memory are reported under "otherProcesses"
    extra_pids: dict[str, int] = field(default_factory=dict)


@dataclass
class PhaseResult:
    data: dict[str, Any] = field(default_factory=dict)


async def _open(host: str, port: int) -> _Conn:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(_Conn, host, port)
    return proto


async def run_phase(cfg: PhaseConfig, *, on_progress: Callable[[int], None] | None = None
                    ) -> dict[str, Any]:
    """Send ``cfg.total`` requests over ``cfg.concurrency`` keep-alive connections."""
    factory = RequestFactory(cfg.host, cfg.port, mode=cfg.mode)
    counter = iter(range(cfg.total))
    ttfb: list[float] = []
    first_text: list[float] = []
    totals: list[float] = []
    nbytes: list[int] = []
    #: TTFB of each connection's first request (at c=500 the 500 of them arrive at once) and
    #: of the requests after it, to tell the opening burst from the steady state
    ttfb_first: list[float] = []
    ttfb_later: list[float] = []
    failures: list[str] = []
    ok = 0

    async def worker() -> None:
        nonlocal ok
        conn: _Conn | None = None
        for n in counter:
            fresh = False
            if conn is None or conn.closed:
                try:
                    conn = await _open(cfg.host, cfg.port)
                except OSError as exc:
                    failures.append(f"connect: {exc}")
                    continue
                fresh = True
            resp = await conn.request(factory.make(), cfg.timeout, factory.marker)
            problem = resp.error or quick_check(resp, cfg.tokens, cfg.mode)
            if problem is None and (n < cfg.full_checks or n % 50 == 0):
                problem = full_check(resp, cfg.tokens, cfg.mode)
            if problem is not None:
                failures.append(problem)
                if conn.transport is not None:
                    conn.transport.close()
                conn = None
                continue
            ok += 1
            ttfb.append(resp.ttfb)
            (ttfb_first if fresh else ttfb_later).append(resp.ttfb)
            first_text.append(resp.first_text)
            totals.append(resp.total)
            nbytes.append(resp.nbytes)
            if on_progress is not None:
                on_progress(ok)
        if conn is not None and conn.transport is not None:
            conn.transport.close()

    pid = cfg.server_pid
    cpu0 = proc_cpu_seconds(pid) if pid else 0.0
    mem0 = proc_mem_mb(pid) if pid else {}
    busy0, self0, t0 = machine_busy_seconds(), self_cpu_seconds(), time.perf_counter()
    llm_cpu0 = proc_cpu_seconds(cfg.llm_pid) if cfg.llm_pid else 0.0
    extra_cpu0 = {name: proc_cpu_seconds(p) for name, p in cfg.extra_pids.items()}
    sampler = MemorySampler(pid) if pid else None
    if sampler is not None:
        sampler.__enter__()
    try:
        await asyncio.gather(*(worker() for _ in range(cfg.concurrency)))
    finally:
        if sampler is not None:
            sampler.__exit__()
    wall = time.perf_counter() - t0
    client_cpu = self_cpu_seconds() - self0
    busy = machine_busy_seconds() - busy0
    ms = lambda xs, q: round(percentile(xs, q) * 1000, 2)  # noqa: E731
    result: dict[str, Any] = {
        "url": f"http://{cfg.host}:{cfg.port}{PATH}",
        "mode": cfg.mode,
        "tokens": cfg.tokens,
        "concurrency": cfg.concurrency,
        "total": cfg.total,
        "ok": ok,
        "failed": len(failures),
        "failureSamples": failures[:5],
        "wallSeconds": round(wall, 3),
        "requestsPerSecond": round(ok / wall, 1) if wall else 0.0,
        "ttfbMs": {"p50": ms(ttfb, 50), "p99": ms(ttfb, 99)},
        "ttfbMsFirstOnConnection": {"n": len(ttfb_first), "p50": ms(ttfb_first, 50),
                                    "p99": ms(ttfb_first, 99),
                                    "max": round(max(ttfb_first, default=0) * 1000, 2)},
        "ttfbMsLater": {"n": len(ttfb_later), "p50": ms(ttfb_later, 50),
                        "p99": ms(ttfb_later, 99),
                        "max": round(max(ttfb_later, default=0) * 1000, 2)},
        "firstTextChunkMs": {"p50": ms(first_text, 50), "p99": ms(first_text, 99)},
        "totalMs": {"p50": ms(totals, 50), "p99": ms(totals, 99)},
        "avgResponseBytes": round(sum(nbytes) / len(nbytes)) if nbytes else 0,
        "loadClientCpuSeconds": round(client_cpu, 2),
        "loadClientCpuMsPerRequest": round(client_cpu * 1000 / ok, 3) if ok else None,
        "machineBusyCpuSeconds": round(busy, 2),
    }
    if pid:
        cpu = proc_cpu_seconds(pid) - cpu0
        mem1 = proc_mem_mb(pid)
        assert sampler is not None
        result["server"] = {
            "pid": pid,
            "rssMB": {"before": round(mem0.get("VmRSS", 0), 1), "peakSampled": round(sampler.peak, 1),
                      "after": round(mem1.get("VmRSS", 0), 1), "hwm": round(mem1.get("VmHWM", 0), 1)},
            "cpuSeconds": round(cpu, 2),
            "cpuMsPerRequest": round(cpu * 1000 / ok, 3) if ok else None,
        }
        llm_cpu = proc_cpu_seconds(cfg.llm_pid) - llm_cpu0 if cfg.llm_pid else 0.0
        if cfg.llm_pid:
            result["fakeLlm"] = {"pid": cfg.llm_pid, "cpuSeconds": round(llm_cpu, 2),
                                 "cpuMsPerRequest": round(llm_cpu * 1000 / ok, 3) if ok else None}
        extra_cpu = 0.0
        if cfg.extra_pids:
            result["otherProcesses"] = {}
            for name, p in cfg.extra_pids.items():
                used = proc_cpu_seconds(p) - extra_cpu0[name]
                extra_cpu += used
                mem = proc_mem_mb(p)
                result["otherProcesses"][name] = {
                    "pid": p, "cpuSeconds": round(used, 2),
                    "cpuMsPerRequest": round(used * 1000 / ok, 3) if ok else None,
                    "rssMB": {"after": round(mem.get("VmRSS", 0), 1),
                              "hwm": round(mem.get("VmHWM", 0), 1)}}
        result["otherTenantsCpuSeconds"] = round(busy - cpu - client_cpu - llm_cpu - extra_cpu, 2)
    return result


# -- the scale test --------------------------------------------------------------------------


async def _http(host: str, port: int, method: str, path: str) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"{method} {path} HTTP/1.1\r\nhost: {host}:{port}\r\nconnection: close\r\n"
                 f"content-length: 0\r\n\r\n".encode())
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = dechunk(body)
    return json.loads(body)


async def run_scale(host: str, port: int, streams: int, *, tokens: int, server_pid: int,
                    mode: str = "chat", timeout: float = 180.0,  # noqa: ASYNC109
                    connect_parallelism: int = 100, hold_seconds: float = 0.0,
                    on_held: Callable[[], Awaitable[Any]] | None = None) -> dict[str, Any]:
    """Hold ``streams`` streams open at once (each has its first chunk and then waits), measure
    the server's memory, release them, and check each one still gets the whole reply.

    With ``hold_seconds``, the streams stay held until each has received a keep-alive
    (``KEEPALIVE`` bytes after its first chunk) or that many seconds have passed since the
    last one opened; how many got one is reported (an SSE server sends one after 15 s idle)."""
    factory = RequestFactory(host, port, mode=mode, user_text="hold on, bench")
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(connect_parallelism)
    all_held = asyncio.Event()
    all_kept = asyncio.Event()
    held = 0
    kept = 0  # streams that received a keep-alive while held
    rss_before = proc_mem_mb(server_pid)["VmRSS"]
    cpu0 = proc_cpu_seconds(server_pid)
    t0 = time.perf_counter()

    class Holder(_Conn):
        kept_alive = False

        def data_received(self, data: bytes) -> None:
            nonlocal held, kept
            had_text = bool(self.t_text)
            before = self.tail
            super().data_received(data)
            if self.t_text and not had_text:
                held += 1
                if held == streams:
                    all_held.set()
            elif had_text and not self.kept_alive and KEEPALIVE in before + data:
                self.kept_alive = True
                kept += 1
                if kept == streams:
                    all_kept.set()

    async def one() -> Response:
        async with gate:
            try:
                _, conn = await loop.create_connection(Holder, host, port)
            except OSError as exc:
                return Response(error=f"connect: {exc}")
        return await conn.request(factory.make(), timeout, factory.marker)

    tasks = [loop.create_task(one()) for _ in range(streams)]
    everything: asyncio.Future[list[Response]] = asyncio.gather(*tasks)
    sampler = MemorySampler(server_pid, 0.1)
    with sampler:
        # Until every stream holds, or every one has ended (a server that does not hold).
        waiter = loop.create_task(all_held.wait())
        await asyncio.wait([waiter, everything], timeout=timeout,  # type: ignore[type-var]
                           return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        t_held = time.perf_counter() - t0
        await asyncio.sleep(1.0)  # let the server settle with everything open
        rss_held = proc_mem_mb(server_pid)["VmRSS"]
        t_kept = None
        if hold_seconds > 0:
            waiter = loop.create_task(all_kept.wait())
            await asyncio.wait([waiter, everything], timeout=hold_seconds,  # type: ignore[type-var]
                               return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if all_kept.is_set():
                t_kept = round(time.perf_counter() - t0, 2)
        rss_kept = proc_mem_mb(server_pid)["VmRSS"]
        info = await _http(host, port, "GET", "/bench/info")
        extra = await on_held() if on_held is not None else None
        released = await _http(host, port, "POST", "/bench/release")
        t1 = time.perf_counter()
        results = await everything
        t_rest = time.perf_counter() - t1
    failures = []
    complete = 0
    for resp in results:
        problem = resp.error or quick_check(resp, tokens, mode)
        if problem is None:
            complete += 1
        else:
            failures.append(problem)
    for resp in results[:20]:
        if not resp.error:
            problem = full_check(resp, tokens, mode)
            if problem:
                failures.append(problem)
    await asyncio.sleep(0.5)
    rss_after = proc_mem_mb(server_pid)["VmRSS"]
    return {
        "streams": streams,
        "heldWithFirstChunk": held,
        "serverSaysHeld": info.get("held"),
        "serverTasksWhileHeld": info.get("tasks"),
        "onHeld": extra,
        "released": released.get("released"),
        "completeAfterRelease": complete,
        "failed": len(failures),
        "failureSamples": failures[:5],
        "holdSeconds": hold_seconds,
        "keptAliveWhileHeld": kept if hold_seconds > 0 else None,
        "secondsToAllKeptAlive": t_kept,
        "secondsToOpenAll": round(t_held, 2),
        "secondsToFinishAll": round(t_rest, 2),
        "rssMB": {"before": round(rss_before, 1), "allHeld": round(rss_held, 1),
                  "afterHold": round(rss_kept, 1),
                  "peakSampled": round(sampler.peak, 1), "after": round(rss_after, 1)},
        "memoryPerOpenStreamKB": round((rss_held - rss_before) * 1024 / streams, 1),
        "serverCpuSeconds": round(proc_cpu_seconds(server_pid) - cpu0, 2),
    }
