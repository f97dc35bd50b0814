"""A local OpenAI-compatible chat completions server with scripted replies, for tests.

A real HTTP server on a free loopback port. ``POST /v1/chat/completions`` answers with what the
test's ``responder(request_json)`` returns: a :class:`Reply` with text and/or tool calls,
streamed as server-sent events when the request says ``"stream": true``, else one JSON body.
Every request body is kept in ``requests``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (name, args)


Responder = Callable[[dict[str, Any]], Reply]


def tool_names(body: dict[str, Any]) -> list[str]:
    return [t.get("function", {}).get("name", "") for t in body.get("tools") or []]


def last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


class FakeLLM:
    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                self._json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                with fake.lock:
                    fake.requests.append(body)
                try:
                    reply = fake.responder(body)
                except Exception as exc:  # a scripting error: tell the client clearly
                    self._json(500, {"error": {"message": f"fake responder failed: {exc!r}"}})
                    return
                if body.get("stream"):
                    self._stream(body, reply)
                else:
                    self._json(200, _completion(body, reply))

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict[str, Any], reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                for chunk in _chunks(body, reply):
                    self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        return Handler


def _words(text: str) -> list[str]:
    parts = text.split(" ")
    return [p if i == 0 else " " + p for i, p in enumerate(parts)]


def _base(body: dict[str, Any], cid: str) -> dict[str, Any]:
    return {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()),
            "model": body.get("model", "fake-model"), "system_fingerprint": "fake"}


def _chunks(body: dict[str, Any], reply: Reply) -> Iterator[dict[str, Any]]:
    cid = f"chatcmpl-{uuid.uuid4().hex[:12]}"
    yield {**_base(body, cid), "choices": [{"index": 0, "delta": {"role": "assistant"},
                                           "finish_reason": None}]}
    if reply.content:
        for word in _words(reply.content):
            yield {**_base(body, cid), "choices": [{"index": 0, "delta": {"content": word},
                                                   "finish_reason": None}]}
    for index, (name, args) in enumerate(reply.tool_calls):
        arguments = json.dumps(args)
        yield {**_base(body, cid), "choices": [{"index": 0, "finish_reason": None, "delta": {
            "tool_calls": [{"index": index, "id": f"call_{uuid.uuid4().hex[:10]}", "type": "function",
                            "function": {"name": name, "arguments": ""}}]}}]}
        step = max(1, len(arguments) // 3)
        for start in range(0, len(arguments), step):
            yield {**_base(body, cid), "choices": [{"index": 0, "finish_reason": None, "delta": {
                "tool_calls": [{"index": index,
                                "function": {"arguments": arguments[start:start + step]}}]}}]}
    finish = "tool_calls" if reply.tool_calls else "stop"
    yield {**_base(body, cid), "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
    if (body.get("stream_options") or {}).get("include_usage"):
        yield {**_base(body, cid), "choices": [],
               "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


def _completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content or None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": f"call_{uuid.uuid4().hex[:10]}", "type": "function",
             "function": {"name": name, "arguments": json.dumps(args)}}
            for name, args in reply.tool_calls]
    return {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion",
            "created": int(time.time()), "model": body.get("model", "fake-model"),
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if reply.tool_calls else "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


@contextmanager
def serve_fake_llm(responder: Responder) -> Iterator[FakeLLM]:
    fake = FakeLLM(responder)
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    server.daemon_threads = True
    fake.server = server
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="fake-llm", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
