"""A CrewAI flow the apps can talk to: ``[agents.writer]`` in ``crewai.toml``.

``WriterFlow`` answers with a model it calls itself (``crewai.LLM``, streamed, so the reply
reaches the chat as it streams), offers the app's frontend actions to the model as tools, and
keeps shared state the app can render with ``useCoAgent``: ``topic`` (the last request),
``turns``, and ``status`` (``writing`` while the model runs, then ``done``).

Offline, ``serve.py --crewai`` points ``EXAMPLE_LLM_BASE_URL`` at the fake OpenAI-compatible
model; with ``OPENAI_API_KEY`` set the flow calls OpenAI (``OPENAI_MODEL``, default
``gpt-4o-mini``). It needs the CrewAI environment (``copilotkit-provider-crewai``'s own), see
``examples/README.md``.
"""

from __future__ import annotations

import os
from typing import Any

from copilotkit_provider_crewai.sdk import CopilotKitState, copilotkit_emit_state
from crewai import LLM
from crewai.flow.flow import Flow, listen, start

SYSTEM = "You are a writing assistant. Keep answers short; use the app's actions when asked."


class WriterState(CopilotKitState):
    topic: str = ""
    turns: int = 0
    status: str = "idle"


def model() -> LLM:
    base_url = os.environ.get("EXAMPLE_LLM_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
    return LLM(model="openai/" + os.environ.get("OPENAI_MODEL", "gpt-4o-mini"), base_url=base_url,
               api_key=os.environ.get("OPENAI_API_KEY") or "offline", stream=True)


def _wire(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message as the chat API takes it (no ids, no empty tool call lists)."""
    out = {k: v for k, v in message.items() if k not in {"id", "name"} and v is not None}
    if not out.get("tool_calls"):
        out.pop("tool_calls", None)
    return out


class WriterFlow(Flow[WriterState]):
    @start()
    async def begin(self) -> None:
        state = self.state
        state.turns += 1
        users = [m for m in state.messages if m.get("role") == "user"]
        if users:
            state.topic = str(users[-1].get("content") or "")
        state.status = "writing"
        await copilotkit_emit_state(state)

    @listen(begin)
    def write(self) -> None:
        state = self.state
        history = [_wire(m) for m in state.messages]
        reply = model().call(messages=[{"role": "system", "content": SYSTEM}, *history],
                             tools=state.copilotkit.actions or None)
        if isinstance(reply, list):  # the model called one of the app's actions
            state.messages.append({"role": "assistant", "content": "", "tool_calls": [
                {"id": c["id"], "type": "function", "function": c["function"]} for c in reply]})
        else:
            state.messages.append({"role": "assistant", "content": str(reply)})

    @listen(write)
    async def finish(self) -> None:
        self.state.status = "done"
        await copilotkit_emit_state(self.state)
