"""Providers for the AG-UI protocol tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from copilotkit_runtime import AgentProvider, ProviderOptions, RunRequest, hookimpl
from copilotkit_runtime.events import BaseEvent, StateSnapshotEvent, text_message

RELEASE: dict[str, asyncio.Event] = {}


class Options(ProviderOptions):
    mode: str = "slow"


class TestProvider(AgentProvider):
    Options = Options

    async def run(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        mode = self.options.mode  # type: ignore[attr-defined]
        if mode == "fail":
            for event in text_message(["half"])[:2]:
                yield event
            raise ValueError("model exploded")
        # "slow": a first chunk, then wait for the test (or a stop), then finish.
        events = text_message(["first", " second"])
        yield events[0]
        yield events[1]
        await RELEASE.setdefault(request.thread_id, asyncio.Event()).wait()
        yield events[2]
        yield events[3]
        yield StateSnapshotEvent(snapshot={"finished": True})


@hookimpl
def register_agent_providers(registry: Any) -> None:
    registry.add("agui-test", TestProvider)
