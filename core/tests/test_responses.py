"""EventStream: sent from outside the routing when an outer layer offers it a place, and its
disconnect watcher (one task) still ends the stream when the client goes away."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from copilotkit_runtime.responses import EventStream, streaming_outside

pytestmark = pytest.mark.anyio

SCOPE = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}}


async def test_a_stream_is_sent_once_the_routing_inside_has_returned() -> None:
    order: list[str] = []
    sent: list[dict[str, Any]] = []

    async def body() -> AsyncIterator[bytes]:
        order.append("streaming")
        yield b"data: 1\n\n"

    async def routing(scope: Any, receive: Any, send: Any) -> None:
        await EventStream(body(), media_type="text/event-stream")(scope, receive, send)
        order.append("routing returned")

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # the client stays
        return {}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await streaming_outside(routing, dict(SCOPE), receive, send)
    assert order == ["routing returned", "streaming"]
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body",
                                         "http.response.body"]
    assert sent[1]["body"] == b"data: 1\n\n"

    # Without the outer layer it is sent in place, as any response.
    order.clear()
    await routing(dict(SCOPE), receive, send)
    assert order == ["streaming", "routing returned"]


async def test_a_client_that_goes_away_ends_an_idle_stream_and_runs_its_background() -> None:
    closed = asyncio.Event()
    background: list[str] = []
    gone = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        try:
            yield b"first"
            await asyncio.Event().wait()  # idle for ever
        finally:
            closed.set()

    async def receive() -> dict[str, Any]:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message.get("body") == b"first":
            gone.set()

    async def note() -> None:
        background.append("ran")

    from starlette.background import BackgroundTask

    stream = EventStream(body(), background=BackgroundTask(note))
    await asyncio.wait_for(streaming_outside(stream, dict(SCOPE), receive, send), 10)
    assert closed.is_set() and background == ["ran"]
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
