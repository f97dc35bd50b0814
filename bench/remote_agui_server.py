"""The remote AG-UI agent both runtimes call in ``bench_remote.py``: a raw-ASGI SSE endpoint
(uvicorn) that answers any ``RunAgentInput`` with RUN_STARTED, one assistant text message of
TOKENS chunks (yielding to the loop between chunks, never sleeping) and RUN_FINISHED.

    python bench/remote_agui_server.py PORT [TOKENS]
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import uvicorn

TOKENS = int(sys.argv[2]) if len(sys.argv) > 2 else 200


def chunk_text(i: int) -> str:
    return "Bench reply." if i == 0 else f" token{i}"


def frame(event: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    run = json.loads(body or b"{}")
    thread_id, run_id = run.get("threadId", "t"), run.get("runId", "r")
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
    mid = f"msg-{run_id}"
    await send({"type": "http.response.body", "more_body": True, "body":
                frame({"type": "RUN_STARTED", "threadId": thread_id, "runId": run_id})
                + frame({"type": "TEXT_MESSAGE_START", "messageId": mid, "role": "assistant"})})
    for i in range(TOKENS):
        await asyncio.sleep(0)
        await send({"type": "http.response.body", "more_body": True, "body": frame(
            {"type": "TEXT_MESSAGE_CONTENT", "messageId": mid, "delta": chunk_text(i)})})
    await send({"type": "http.response.body", "more_body": False, "body":
                frame({"type": "TEXT_MESSAGE_END", "messageId": mid})
                + frame({"type": "RUN_FINISHED", "threadId": thread_id, "runId": run_id})})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                loop="uvloop", http="httptools", access_log=False)
