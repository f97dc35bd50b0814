"""Test providers with scripted behaviour, registered as a plugin object in tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from pydantic import Field

from copilotkit_runtime import AgentProvider, ProviderOptions, RunRequest, hookimpl
from copilotkit_runtime.events import (
    BaseEvent,
    StateSnapshotEvent,
    TextMessageChunkEvent,
    TextMessageContentEvent,
    ToolCallChunkEvent,
    text_message,
)

# Observations the tests read: which runs started, which were cleaned up.
STARTED: list[str] = []
CLEANED_UP: list[str] = []
GATES: dict[str, asyncio.Event] = {}


class ScriptOptions(ProviderOptions):
    mode: str = "reply"
    chunks: int = Field(3, ge=0)


class ScriptedProvider(AgentProvider):
    Options = ScriptOptions

    async def run(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        mode = self.options.mode  # type: ignore[attr-defined]
        STARTED.append(request.run_id)
        try:
            if mode == "reply":
                for event in text_message([f"w{i} " for i in range(self.options.chunks)]):  # type: ignore[attr-defined]
                    yield event
                yield StateSnapshotEvent(snapshot={**request.state, "done": True})
            elif mode == "raise_midway":
                for event in text_message(["partial"])[:2]:
                    yield event
                raise RuntimeError("the agent broke")
            elif mode == "wait":
                for event in text_message(["first"])[:2]:
                    yield event
                gate = GATES.setdefault(request.thread_id, asyncio.Event())
                await gate.wait()
                yield TextMessageContentEvent(message_id=event.message_id, delta=" second")  # type: ignore[attr-defined]
            elif mode == "bad_stream":
                yield TextMessageContentEvent(message_id="never-started", delta="x")
            elif mode == "chunks":
                yield TextMessageChunkEvent(message_id="m1", delta="a")
                yield TextMessageChunkEvent(message_id="m1", delta="b")
                yield ToolCallChunkEvent(tool_call_id="t1", tool_call_name="act", delta='{"x":')
                yield ToolCallChunkEvent(tool_call_id="t1", delta="1}")
            elif mode == "say":
                for event in text_message(request.last_user_text()):
                    yield event
        finally:
            CLEANED_UP.append(request.run_id)


@hookimpl
def register_agent_providers(registry: Any) -> None:
    registry.add("scripted", ScriptedProvider)
