"""A demo agent that needs no LLM and no API key.

It shows the three things a CopilotKit frontend does with an agent:

* **a streamed reply**: it answers the last user message word by word;
* **shared state**: it keeps ``turns`` (a counter) and ``last_message`` in the thread's state,
  on top of whatever state the frontend sent;
* **a frontend action**: when the user's message names one of the actions the frontend offers
  (``useCopilotAction``), it calls that action, filling a single string parameter with the rest
  of the message, and ends the run so the frontend can execute it; on the next run it reports the
  action's result.

Config::

    [agents.demo]
    provider = "demo"
    chunk_delay = 0.02   # seconds between streamed words (0 for tests)
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from ag_ui.core import BaseEvent, StateSnapshotEvent, StepFinishedEvent, StepStartedEvent, Tool
from pydantic import Field

from copilotkit_runtime.events import new_id, text_message, tool_call
from copilotkit_runtime.hookspecs import hookimpl
from copilotkit_runtime.providers import AgentProvider, ProviderOptions, RunRequest


class DemoOptions(ProviderOptions):
    chunk_delay: float = Field(0.02, ge=0, description="seconds between streamed words")
    greeting: str = "Hello! I am the demo agent of copilotkit-runtime."


def _string_parameter(tool: Tool) -> str | None:
    params = tool.parameters if isinstance(tool.parameters, dict) else {}
    props = params.get("properties")
    if not isinstance(props, dict):  # a client's schema may be anything: ignore what is not one
        return None
    strings = [name for name, spec in props.items()
               if isinstance(spec, dict) and spec.get("type", "string") == "string"]
    return strings[0] if strings else None


def pick_action(text: str, tools: list[Tool]) -> tuple[Tool, dict[str, Any]] | None:
    """The first offered action named in ``text``, with arguments taken from the text."""
    lowered = text.lower()
    for tool in tools:
        if tool.name.lower() in lowered:
            rest = text[lowered.index(tool.name.lower()) + len(tool.name):].strip(" :,.-")
            param = _string_parameter(tool)
            return tool, ({param: rest or text} if param else {})
    return None


class DemoAgentProvider(AgentProvider[DemoOptions]):
    Options = DemoOptions

    def agents(self) -> list[Any]:
        infos = super().agents()
        return [type(i)(i.name, i.description or "A demo agent that needs no LLM", i.provider,
                        {"streaming": True, "state": True, "frontend_actions": True}) for i in infos]

    async def run(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        options = self.options
        state = dict(request.state)
        state["turns"] = int(state.get("turns", 0) or 0) + 1
        yield StepStartedEvent(step_name="reply")

        last = request.input.messages[-1] if request.input.messages else None
        if last is not None and last.role == "tool":
            words = f"The action returned: {last.content}".split(" ")
            state["last_action_result"] = last.content
            reply: list[str] | None = words
        else:
            text = request.last_user_text()
            state["last_message"] = text
            chosen = pick_action(text, request.tools) if text else None
            if chosen is not None:
                tool, arguments = chosen
                yield StateSnapshotEvent(snapshot=state)
                args = json.dumps(arguments)
                # Stream the arguments in a few fragments, as an LLM would.
                step = max(1, len(args) // 3)
                fragments = [args[i:i + step] for i in range(0, len(args), step)]
                message_id = new_id("msg_")
                for event in tool_call(tool.name, fragments, parent_message_id=message_id):
                    yield event
                    await self._pause(options)
                yield StepFinishedEvent(step_name="reply")
                return
            if text:
                reply = f"You said: {text}".split(" ")
                if request.tools:
                    names = ", ".join(t.name for t in request.tools)
                    reply += f"(Name one of these actions and I will call it: {names}.)".split(" ")
            else:
                reply = options.greeting.split(" ")

        chunks = [w if i == 0 else " " + w for i, w in enumerate(reply or [])]
        for event in text_message(chunks):
            yield event
            await self._pause(options)
        yield StateSnapshotEvent(snapshot=state)
        yield StepFinishedEvent(step_name="reply")

    @staticmethod
    async def _pause(options: DemoOptions) -> None:
        if options.chunk_delay:
            await asyncio.sleep(options.chunk_delay)


@hookimpl(trylast=True)
def register_agent_providers(registry: Any) -> None:
    registry.add("demo", DemoAgentProvider)
