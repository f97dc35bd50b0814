"""A fake LLM server for tests, benchmarks and offline demos: OpenAI- and Anthropic-compatible.

It speaks the wire formats the official SDKs read (``POST /v1/chat/completions`` streamed or
not, ``POST /v1/audio/transcriptions``, ``GET /v1/models``; Anthropic's ``POST /v1/messages``
streamed), on a real port, so the real SDKs run against it unchanged. No model: replies come
from a script, or from simple rules when the script is empty:

* a forced tool choice → that tool is called, with arguments made up from its JSON schema;
* the last message is a tool result → "The action returned: <result>";
* the last user message names an offered tool → that tool is called (its first string
  parameter gets the rest of the message);
* else → "You said: <message>", one word per chunk (``chunks=N``: exactly N chunks).

Script turns for the cases a test needs (:class:`Turn`)::

    with FakeLLMServer() as llm:                      # a thread serving on a free port
        llm.script(Turn(tool_calls=[("lookup_order", {"id": 7})]),
                   Turn(text="Order 7 ships today."))
        llm.script(Turn(status=429, headers={"retry-after": "0"}))
        llm.script(Turn(text="slow", chunk_delay=5))  # a slow stream
        llm.script(Turn(text="cut off", cut_after=2))  # ends mid-stream, no finish
        llm.script(Turn(stream_error="overloaded_error"))  # Anthropic: error inside the stream
        ... point the SDK at llm.openai_url / llm.anthropic_url ...
        llm.requests          # every request body received, in order
        llm.closed_early      # streams the client closed before they ended

From a shell (benchmarks, examples)::

    python -m copilotkit_runtime.testing.fake_llm --port 9911 [--chunks 200] [--chunk-delay 0]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..multipart import parse_form_data

__all__ = ["FakeLLMServer", "Turn", "example_for"]


@dataclass
class Turn:
    """One scripted model response."""

    text: str | None = None
    #: ``(name, arguments)`` pairs; arguments as a dict, or a str sent as is (e.g. bad JSON)
    tool_calls: list[tuple[str, Any]] = field(default_factory=list)
    #: an HTTP error instead of a reply (with ``body`` as the JSON error, ``headers``)
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: seconds between chunks, and before the first one
    chunk_delay: float = 0.0
    first_delay: float = 0.0
    #: end the body after this many frames, without a finish reason or ``[DONE]``
    cut_after: int | None = None
    #: send a line that is not JSON after this many chunks
    malformed_after: int | None = None
    #: split the text into exactly this many chunks
    chunks: int | None = None
    #: for /v1/audio/transcriptions
    transcript: str | None = None
    #: Anthropic only: an ``event: error`` of this type (e.g. ``overloaded_error``) right
    #: after ``message_start``, inside a 200 stream, as the real API does when overloaded
    stream_error: str | None = None


def example_for(schema: Any, hint: str = "") -> Any:
    """A value that fits a JSON schema (enough for tests): the first enum value, "..." for
    strings (or ``hint``), the number ``hint`` starts with for numbers (else 1 or 1.5), two
    items for arrays, every property for objects."""
    if not isinstance(schema, dict):
        return hint or "example"
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or "properties" in schema:
        return {name: example_for(spec, hint if i == 0 else "")
                for i, (name, spec) in enumerate((schema.get("properties") or {}).items())}
    if kind == "array":
        return [example_for(schema.get("items"), f"{hint or 'item'} {i + 1}") for i in range(2)]
    if kind in ("integer", "number"):
        # a number the message names ("lookup_order 7" -> 7), else 1 (integer) or 1.5
        try:
            value = float(hint.split()[0]) if hint.split() else None
        except ValueError:
            value = None
        if value is not None and (kind == "number" or value.is_integer()):
            return int(value) if value.is_integer() else value
        return 1 if kind == "integer" else 1.5
    if kind == "boolean":
        return True
    return hint or "example"


class FakeLLMServer:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, chunks: int | None = None,
                 chunk_delay: float = 0.0) -> None:
        self.host = host
        self.port = port or _free_port(host)
        self.default_chunks = chunks
        self.default_delay = chunk_delay
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.closed_early = 0
        self.completed = 0
        self._turns: collections.deque[Turn] = collections.deque()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self.app = Starlette(routes=[
            Route("/v1/chat/completions", self._openai_chat, methods=["POST"]),
            Route("/v1/audio/transcriptions", self._openai_transcribe, methods=["POST"]),
            Route("/v1/models", self._models, methods=["GET"]),
            Route("/v1/messages", self._anthropic_messages, methods=["POST"]),
        ])

    # -- control ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_url(self) -> str:
        return self.url

    def script(self, *turns: Turn) -> None:
        with self._lock:
            self._turns.extend(turns)

    def reset(self) -> None:
        with self._lock:
            self._turns.clear()
            self.requests.clear()
            self.headers.clear()
            self.closed_early = 0
            self.completed = 0

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> bool:
        """Poll until ``predicate(self)`` holds (for facts that arrive after a response)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.02)
        return bool(predicate(self))

    def start(self) -> FakeLLMServer:
        import uvicorn

        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning",
                                lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-llm", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake LLM server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- shared -------------------------------------------------------------------------------

    def _next(self, body: dict[str, Any], request: Request) -> Turn | None:
        with self._lock:
            self.requests.append(body)
            self.headers.append({k.lower(): v for k, v in request.headers.items()})
            return self._turns.popleft() if self._turns else None

    def _decide(self, conversation: list[dict[str, Any]], tools: list[dict[str, Any]],
                forced: str | None) -> Turn:
        by_name = {t["name"]: t for t in tools}
        if forced and forced in by_name:
            return Turn(tool_calls=[(forced, example_for(by_name[forced].get("parameters"),
                                                         "Tell me more"))])
        last = conversation[-1] if conversation else {"role": "user", "text": ""}
        if last["role"] == "tool":
            return Turn(text=f"The action returned: {last['text']}")
        text = last.get("text", "")
        lowered = text.lower()
        for name, tool in by_name.items():
            if name.lower() in lowered:
                rest = text[lowered.index(name.lower()) + len(name):].strip(" :,.-") or text
                schema = tool.get("parameters") or {}
                args = example_for(schema, rest)
                return Turn(tool_calls=[(name, args)])
        return Turn(text=f"You said: {text}" if text else "Hello from the fake model.")

    def _pieces(self, turn: Turn) -> list[str]:
        text = turn.text or ""
        count = turn.chunks or self.default_chunks
        if count:
            words = text.split(" ") or [""]
            out = [(" " if i else "") + words[i % len(words)] for i in range(count)]
            return out
        words = text.split(" ")
        return [w if i == 0 else " " + w for i, w in enumerate(words) if w or i == 0]

    async def _paced(self, turn: Turn, frames: Iterable[bytes], cut: int | None = None,
                     malformed: bytes = b"data: {not json\n\n") -> AsyncIterator[bytes]:
        """Yield frames with the turn's delays; cut or corrupt the stream when scripted."""
        finished = False
        try:
            if turn.first_delay:
                await asyncio.sleep(turn.first_delay)
            delay = turn.chunk_delay or self.default_delay
            for i, frame in enumerate(frames):
                if turn.cut_after is not None and i >= turn.cut_after:
                    finished = True  # the body ends here: no finish reason, no [DONE]
                    return
                if turn.malformed_after is not None and i == turn.malformed_after:
                    yield malformed
                if delay and i:
                    await asyncio.sleep(delay)
                yield frame
            finished = True
            with self._lock:
                self.completed += 1
        finally:
            if not finished:
                with self._lock:
                    self.closed_early += 1

    @staticmethod
    def _error(turn: Turn, default: dict[str, Any]) -> Response:
        return JSONResponse(turn.body if turn.body is not None else default,
                            status_code=turn.status or 500, headers=turn.headers)

    # -- OpenAI -------------------------------------------------------------------------------

    async def _models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [
            {"id": "fake-model", "object": "model", "created": 0, "owned_by": "fake"}]})

    async def _openai_chat(self, request: Request) -> Response:
        body = await request.json()
        turn = self._next(body, request)
        if turn is None:
            turn = self._decide(_openai_conversation(body.get("messages") or []),
                                [t.get("function", {}) for t in body.get("tools") or []],
                                _openai_forced(body.get("tool_choice")))
        if turn.status:
            return self._error(turn, {"error": {"message": f"scripted error {turn.status}",
                                                 "type": "fake_error", "code": None}})
        model = body.get("model", "fake-model")
        cid = "chatcmpl-" + uuid.uuid4().hex[:12]
        calls = [(f"call_{uuid.uuid4().hex[:10]}", name,
                  args if isinstance(args, str) else json.dumps(args))
                 for name, args in turn.tool_calls]
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": turn.text}
            if calls:
                message["tool_calls"] = [{"id": i, "type": "function",
                                          "function": {"name": n, "arguments": a}}
                                         for i, n, a in calls]
            return JSONResponse({"id": cid, "object": "chat.completion", "created": 0,
                                 "model": model, "choices": [{
                                     "index": 0, "message": message,
                                     "finish_reason": "tool_calls" if calls else "stop"}],
                                 "usage": {"prompt_tokens": 5, "completion_tokens": 5,
                                           "total_tokens": 10}})

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            payload = {"id": cid, "object": "chat.completion.chunk", "created": 0, "model": model,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            return b"data: " + json.dumps(payload).encode() + b"\n\n"

        frames = [chunk({"role": "assistant", "content": ""})]
        if turn.text:
            frames += [chunk({"content": piece}) for piece in self._pieces(turn)]
        for index, (call_id, name, args) in enumerate(calls):
            frames.append(chunk({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                                 "function": {"name": name, "arguments": ""}}]}))
            step = max(1, len(args) // 3)
            for start in range(0, len(args), step):
                frames.append(chunk({"tool_calls": [{"index": index, "function": {
                    "arguments": args[start:start + step]}}]}))
        frames.append(chunk({}, "tool_calls" if calls else "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            frames.append(b"data: " + json.dumps({
                "id": cid, "object": "chat.completion.chunk", "created": 0, "model": model,
                "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": len(frames),
                                         "total_tokens": 5 + len(frames)}}).encode() + b"\n\n")
        frames.append(b"data: [DONE]\n\n")
        return StreamingResponse(self._paced(turn, frames), media_type="text/event-stream")

    async def _openai_transcribe(self, request: Request) -> Response:
        raw = await request.body()
        try:
            form = parse_form_data(raw, request.headers.get("content-type", ""))
        except ValueError as exc:
            return JSONResponse({"error": {"message": str(exc)}}, status_code=400)
        audio = form.get("file")
        model = form.get("model")
        record = {"model": model.text if model else None,
                  "file_bytes": len(audio.data) if audio else 0,
                  "filename": audio.filename if audio else None}
        turn = self._next(record, request)
        if turn is not None and turn.status:
            return self._error(turn, {"error": {"message": f"scripted error {turn.status}"}})
        if audio is None:
            return JSONResponse({"error": {"message": "file is required"}}, status_code=400)
        text = turn.transcript if turn is not None and turn.transcript is not None else \
            f"transcribed {len(audio.data)} bytes"
        return JSONResponse({"text": text})

    # -- Anthropic ----------------------------------------------------------------------------

    async def _anthropic_messages(self, request: Request) -> Response:
        body = await request.json()
        turn = self._next(body, request)
        if turn is None:
            forced = body.get("tool_choice") or {}
            turn = self._decide(_anthropic_conversation(body.get("messages") or []),
                                [{"name": t.get("name"), "parameters": t.get("input_schema")}
                                 for t in body.get("tools") or []],
                                forced.get("name") if forced.get("type") == "tool" else None)
        if turn.status:
            kind = {401: "authentication_error", 429: "rate_limit_error",
                    400: "invalid_request_error"}.get(turn.status, "api_error")
            return self._error(turn, {"type": "error", "error": {
                "type": kind, "message": f"scripted error {turn.status}"}})
        model = body.get("model", "fake-model")
        mid = "msg_" + uuid.uuid4().hex[:12]

        def event(kind: str, data: dict[str, Any]) -> bytes:
            return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()

        frames = [event("message_start", {"message": {
            "id": mid, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 5, "output_tokens": 1}}})]
        if turn.stream_error:
            frames.append(event("error", {"error": {"type": turn.stream_error,
                                                    "message": f"scripted {turn.stream_error}"}}))
            return StreamingResponse(self._paced(turn, frames), media_type="text/event-stream")
        index = 0
        if turn.text:
            frames.append(event("content_block_start", {"index": index,
                                                        "content_block": {"type": "text", "text": ""}}))
            frames += [event("content_block_delta", {"index": index, "delta": {
                "type": "text_delta", "text": piece}}) for piece in self._pieces(turn)]
            frames.append(event("content_block_stop", {"index": index}))
            index += 1
        for name, args in turn.tool_calls:
            text = args if isinstance(args, str) else json.dumps(args)
            frames.append(event("content_block_start", {"index": index, "content_block": {
                "type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:10]}", "name": name,
                "input": {}}}))
            step = max(1, len(text) // 3)
            frames += [event("content_block_delta", {"index": index, "delta": {
                "type": "input_json_delta", "partial_json": text[s:s + step]}})
                for s in range(0, len(text), step)]
            frames.append(event("content_block_stop", {"index": index}))
            index += 1
        frames.append(event("message_delta", {
            "delta": {"stop_reason": "tool_use" if turn.tool_calls else "end_turn",
                      "stop_sequence": None}, "usage": {"output_tokens": len(frames)}}))
        frames.append(event("message_stop", {}))
        if not body.get("stream"):
            content: list[dict[str, Any]] = []
            if turn.text:
                content.append({"type": "text", "text": turn.text})
            content += [{"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:10]}", "name": n,
                         "input": a if isinstance(a, dict) else {}} for n, a in turn.tool_calls]
            return JSONResponse({"id": mid, "type": "message", "role": "assistant",
                                 "model": model, "content": content,
                                 "stop_reason": "tool_use" if turn.tool_calls else "end_turn",
                                 "stop_sequence": None,
                                 "usage": {"input_tokens": 5, "output_tokens": 5}})
        return StreamingResponse(self._paced(turn, frames, malformed=b"event: content_block_delta\n"
                                             b"data: {not json\n\n"),
                                 media_type="text/event-stream")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _openai_conversation(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"role": m.get("role", "user"), "text": _text_of(m.get("content"))}
            for m in messages if m.get("role") in ("user", "tool", "assistant")]


def _openai_forced(choice: Any) -> str | None:
    if isinstance(choice, dict):
        return (choice.get("function") or {}).get("name")
    return None


def _anthropic_conversation(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list) and content and all(
                isinstance(p, dict) and p.get("type") == "tool_result" for p in content):
            out.append({"role": "tool", "text": " ".join(_text_of(p.get("content")) for p in content)})
        else:
            out.append({"role": m.get("role", "user"), "text": _text_of(content)})
    return out


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake OpenAI/Anthropic-compatible LLM server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9911)
    parser.add_argument("--chunks", type=int, default=None, help="text chunks per reply")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between chunks")
    args = parser.parse_args(argv)
    server = FakeLLMServer(host=args.host, port=args.port, chunks=args.chunks,
                           chunk_delay=args.chunk_delay)
    import uvicorn

    print(f"fake LLM server on {server.url} (OpenAI: {server.openai_url}, Anthropic: "
          f"{server.anthropic_url})", flush=True)
    uvicorn.run(server.app, host=args.host, port=server.port, log_level="warning",
                access_log=False)


if __name__ == "__main__":
    main()
