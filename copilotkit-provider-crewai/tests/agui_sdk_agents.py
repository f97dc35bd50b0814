"""Flows written for ag-ui-crewai's endpoint, with its helpers (``ag_ui_crewai.sdk``), the way
the AG-UI dojo's CrewAI agents use them (our own words): ``copilotkit_stream`` over a streamed
litellm completion, ``copilotkit_predict_state`` for a tool argument, ``copilotkit_emit_state``.
The model is the local fake server (``FAKE_LLM_BASE_URL``)."""

from __future__ import annotations

import json
import os
from typing import Any

import feedback_agents
from ag_ui_crewai import agui_feedback_provider
from ag_ui_crewai.sdk import (
    CopilotKitState,
    copilotkit_emit_state,
    copilotkit_predict_state,
    copilotkit_stream,
)
from crewai.flow.flow import Flow, listen, start
from crewai.flow.human_feedback import human_feedback
from litellm import acompletion

WRITE_DOCUMENT = {"type": "function", "function": {
    "name": "write_document", "description": "Write the whole document.",
    "parameters": {"type": "object", "properties": {"document": {"type": "string"}}}}}


class DocumentState(CopilotKitState):
    document: str | None = None
    progress: str | None = None


async def _complete(messages: list[Any], tools: list[Any]) -> Any:
    return await copilotkit_stream(await acompletion(
        model="openai/fake-model", api_base=os.environ["FAKE_LLM_BASE_URL"], api_key="fake-key",
        messages=messages, tools=tools or None, stream=True))


class AguiSdkFlow(Flow[DocumentState]):
    """Chats, writes a document with a predicted tool call, or calls a frontend action."""

    @start()
    async def chat(self) -> None:
        await copilotkit_emit_state({"progress": "thinking"})
        await copilotkit_predict_state(
            {"document": {"tool_name": "write_document", "tool_argument": "document"}})
        history = [{k: v for k, v in dict(m).items() if k != "id"} for m in self.state.messages]
        response = await _complete([{"role": "system", "content": "Write."}, *history],
                                   [*self.state.copilotkit.actions, WRITE_DOCUMENT])
        message = response.choices[0].message
        self.state.messages.append(message)
        calls = message.get("tool_calls") or []
        if calls and calls[0]["function"]["name"] == "write_document":
            self.state.document = json.loads(calls[0]["function"]["arguments"])["document"]
            self.state.messages.append({"role": "tool", "content": "Document written.",
                                        "tool_call_id": calls[0]["id"]})
        self.state.progress = "done"


class ReviewState(CopilotKitState):
    draft: str = ""
    verdict: str = ""


class AguiReviewFlow(Flow[ReviewState]):
    """``@human_feedback`` with ag-ui-crewai's own provider, as its endpoint's docs prescribe."""

    @start()
    @human_feedback(message="Publish this draft?", provider=agui_feedback_provider)
    def write_draft(self) -> str:
        return feedback_agents.write(self.state)

    @listen(write_draft)
    def publish(self, result: Any) -> None:
        feedback_agents.publish(self.state, result)
