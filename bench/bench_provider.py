"""The Python side of the benchmark's scripted agent: a provider plugin, no LLM, no sleeps.

It does the same work as ``bench/ts/server.mjs``: one assistant text message of ``tokens``
chunks (chunk 0 is ``"Bench reply."``, chunk i is ``" token<i>"``), yielding to the event loop
between chunks (as a provider reading an LLM's socket would) but never sleeping, plus a
``STATE_SNAPSHOT`` every ``state_every`` chunks (0: none).

A last user message starting with ``"hold"`` makes a run send its first chunk and then wait
until :func:`release_held` is called (the scale test: many open, idle streams).

Register it with ``Runtime(settings, plugins={"bench": bench_provider})`` and configure::

    [agents.bench]
    provider = "bench"
    tokens = 200
    state_every = 0
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

from ag_ui.core import (
    BaseEvent,
    StateSnapshotEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
)
from pydantic import Field

from copilotkit_runtime.hookspecs import hookimpl
from copilotkit_runtime.providers import AgentProvider, ProviderOptions, RunRequest


class BenchOptions(ProviderOptions):
    tokens: int = Field(200, ge=1, description="text chunks per reply")
    state_every: int = Field(0, ge=0, description="a STATE_SNAPSHOT every N chunks (0: none)")


def chunk_text(i: int) -> str:
    return "Bench reply." if i == 0 else f" token{i}"


class _Hold:
    """Streams told to hold wait on ``event``; :func:`release_held` sets it and makes a new one."""

    event: asyncio.Event | None = None
    held = 0


def _hold_event() -> asyncio.Event:
    if _Hold.event is None:
        _Hold.event = asyncio.Event()
    return _Hold.event


def release_held() -> int:
    """Let every held stream go on; returns how many were held."""
    held = _Hold.held
    event = _hold_event()
    _Hold.event = asyncio.Event()
    event.set()
    return held


def held_count() -> int:
    return _Hold.held


class BenchProvider(AgentProvider):
    Options = BenchOptions

    async def run(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        options: BenchOptions = self.options
        hold = request.last_user_text().startswith("hold")
        every = options.state_every
        state: dict[str, Any] = {"chunks": 0}
        if every:
            yield StateSnapshotEvent(snapshot=dict(state))
        message_id = str(uuid.uuid4())
        yield TextMessageStartEvent(message_id=message_id, role="assistant")
        for i in range(options.tokens):
            yield TextMessageContentEvent(message_id=message_id, delta=chunk_text(i))
            if every and (i + 1) % every == 0:
                state["chunks"] = i + 1
                yield StateSnapshotEvent(snapshot=dict(state))
            if hold and i == 0:
                _Hold.held += 1
                try:
                    await _hold_event().wait()
                finally:
                    _Hold.held -= 1
            await asyncio.sleep(0)
        yield TextMessageEndEvent(message_id=message_id)


@hookimpl
def register_agent_providers(registry: Any) -> None:
    registry.add("bench", BenchProvider)
