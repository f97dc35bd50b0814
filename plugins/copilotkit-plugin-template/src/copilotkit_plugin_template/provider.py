"""The `template-echo` provider: replace ``run`` with your agent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from pydantic import Field

from copilotkit_runtime import AgentProvider, ProviderOptions, RunRequest
from copilotkit_runtime.events import BaseEvent, StateSnapshotEvent, text_message, tool_call


class TemplateOptions(ProviderOptions):
    """The keys of ``[agents.NAME]`` (unknown keys fail at start-up)."""

    prefix: str = Field("You said: ", description="put before the echoed user message")


class TemplateProvider(AgentProvider[TemplateOptions]):
    """Echoes the user; calls a frontend action the user names; answers its result."""

    Options = TemplateOptions

    async def run(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        last = request.messages[-1] if request.messages else None
        if last is not None and last.role == "tool":
            # The round trip: the frontend ran the action and started this run with its result.
            for event in text_message(f"The action returned: {last.content}"):
                yield event
            return
        text = request.last_user_text() or ""
        named = next((t for t in request.tools if t.name and t.name in text), None)
        if named is not None:
            # Call the frontend action and end the run; the frontend runs it.
            for event in tool_call(named.name, json.dumps({})):
                yield event
            return
        for event in text_message(self.options.prefix + text):
            yield event
        yield StateSnapshotEvent(snapshot={**request.state, "echoed": text})
