"""The "floor" of the v2 benchmark: the least work a Python server can do for the same bytes.

A bare ASGI app on uvicorn (no FastAPI, no runtime, no agent, no store) that answers
``POST /api/copilotkit/agent/bench/run`` (and the single-route ``POST /api/copilotkit``
envelope) with the same SSE reply as the runtime's bench agent: ``RUN_STARTED`` (with the
input), ``TEXT_MESSAGE_START``, ``tokens`` ``TEXT_MESSAGE_CONTENT`` events, ``TEXT_MESSAGE_END``,
``RUN_FINISHED``, one ASGI ``send`` per event, yielding to the event loop after each (as the
agents do). Two variants:

* ``--encode parts`` (side ``floor``): the per-chunk frames are precomputed once at startup
  (with a placeholder message id of the same length, replaced per request by one bytes
  ``replace``); the request's JSON body is parsed, and only the frames carrying its ids are
  built per request;
* ``--encode json`` (side ``floor-json``): every event is a dict ``json.dumps``-ed per request
  (compact separators), the way a hand-written server without pydantic would do it.

    python bench/floor_server.py [--port 4030] [--tokens 200] [--encode parts|json]
                                 [--loop uvloop] [--http httptools]

A last user message starting with ``"hold"`` makes a reply send its first chunk and wait until
``POST /bench/release`` (the scale test); ``GET /bench/info`` says what this is. The frames of
a reply are built as they are sent (a generator), so a held stream keeps only what a stream
needs (the first runs built all 204 frames up front: about 26 KB per held stream of the
floor's memory was its own frames).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import uvicorn

BASE = "/api/copilotkit"
RUN_PATH = f"{BASE}/agent/bench/run"
SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"),
               (b"connection", b"keep-alive"), (b"x-accel-buffering", b"no")]
PLACEHOLDER = "00000000-0000-4000-8000-000000000000"  # the length of a uuid4


def chunk_text(i: int) -> str:
    return "Bench reply." if i == 0 else f" token{i}"


def _dumps(event: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"


class Hold:
    held = 0
    event: asyncio.Event | None = None


def make_app(tokens: int, encode: str) -> Any:
    chunk_frames = [_dumps({"type": "TEXT_MESSAGE_CONTENT", "messageId": PLACEHOLDER,
                            "delta": chunk_text(i)}) for i in range(tokens)]
    start_frame = _dumps({"type": "TEXT_MESSAGE_START", "messageId": PLACEHOLDER,
                          "role": "assistant"})
    end_frame = _dumps({"type": "TEXT_MESSAGE_END", "messageId": PLACEHOLDER})
    placeholder = PLACEHOLDER.encode()

    def frames_parts(run_input: dict[str, Any], message_id: str) -> Iterator[bytes]:
        mid = message_id.encode()
        base = {"threadId": run_input.get("threadId"), "runId": run_input.get("runId")}
        yield _dumps({"type": "RUN_STARTED", **base, "input": run_input})
        yield start_frame.replace(placeholder, mid)
        for f in chunk_frames:
            yield f.replace(placeholder, mid)
        yield end_frame.replace(placeholder, mid)
        yield _dumps({"type": "RUN_FINISHED", **base})

    def frames_json(run_input: dict[str, Any], message_id: str) -> Iterator[bytes]:
        base = {"threadId": run_input.get("threadId"), "runId": run_input.get("runId")}
        yield _dumps({"type": "RUN_STARTED", **base, "input": run_input})
        yield _dumps({"type": "TEXT_MESSAGE_START", "messageId": message_id, "role": "assistant"})
        for i in range(tokens):
            yield _dumps({"type": "TEXT_MESSAGE_CONTENT", "messageId": message_id,
                          "delta": chunk_text(i)})
        yield _dumps({"type": "TEXT_MESSAGE_END", "messageId": message_id})
        yield _dumps({"type": "RUN_FINISHED", **base})

    frames_of = frames_parts if encode == "parts" else frames_json

    async def reply_json(send: Any, status: int, data: Any) -> None:
        body = json.dumps(data).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path, method = scope["path"], scope["method"]
        if path == "/bench/info":
            await reply_json(send, 200, {"runtime": "floor", "encode": encode, "tokens": tokens,
                                         "held": Hold.held, "pid": os.getpid(),
                                         "tasks": len(asyncio.all_tasks())})
            return
        if path == "/bench/release" and method == "POST":
            held, event = Hold.held, Hold.event
            Hold.event = None
            if event is not None:
                event.set()
            await reply_json(send, 200, {"released": held})
            return
        if method != "POST" or path not in (RUN_PATH, BASE, BASE + "/"):
            await reply_json(send, 404, {"error": "not found"})
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        try:
            body = json.loads(b"".join(chunks))
            run_input = body["body"] if path != RUN_PATH else body
            messages = run_input.get("messages") or []
        except (ValueError, KeyError, TypeError, AttributeError):
            await reply_json(send, 400, {"error": "invalid body"})
            return
        last = next((m.get("content") for m in reversed(messages)
                     if isinstance(m, dict) and m.get("role") == "user"), "")
        hold = isinstance(last, str) and last.startswith("hold")
        frames = frames_of(run_input, str(uuid.uuid4()))
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        for i, frame in enumerate(frames):
            await send({"type": "http.response.body", "body": frame, "more_body": True})
            # Yield between chunks, as the agents on the other sides do (an agent reading an
            # LLM's socket): the same bytes at the same pacing.
            await asyncio.sleep(0)
            if hold and i == 2:  # the first text chunk is out
                if Hold.event is None:
                    Hold.event = asyncio.Event()
                Hold.held += 1
                try:
                    await Hold.event.wait()
                finally:
                    Hold.held -= 1
        await send({"type": "http.response.body", "body": b""})

    return app


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=4030)
    p.add_argument("--tokens", type=int, default=200)
    p.add_argument("--encode", choices=["parts", "json"], default="parts")
    p.add_argument("--loop", default="uvloop", choices=["asyncio", "uvloop"])
    p.add_argument("--http", default="httptools", choices=["h11", "httptools"])
    args = p.parse_args()
    print(f"bench floor server ({args.encode}): http://{args.host}:{args.port}{RUN_PATH} "
          f"(pid {os.getpid()})", file=sys.stderr, flush=True)
    uvicorn.run(make_app(args.tokens, args.encode), host=args.host, port=args.port,
                loop=args.loop, http=args.http, log_level="warning", access_log=False,
                lifespan="on", backlog=4096, timeout_keep_alive=65)


if __name__ == "__main__":
    main()
