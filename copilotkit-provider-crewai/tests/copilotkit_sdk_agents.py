"""A flow written for the CopilotKit SDK (``from copilotkit.crewai import ...``), unchanged, the
way the SDK's docs write them (our own words): a streamed synchronous ``litellm.completion``
through ``copilotkit_stream``, ``copilotkit_predict_state`` for a tool argument,
``copilotkit_emit_state``. The model is the local fake server (``FAKE_LLM_BASE_URL``)."""

from __future__ import annotations

import json
import os
from typing import Any

from copilotkit.crewai import (
    CopilotKitState,
    copilotkit_emit_state,
    copilotkit_predict_state,
    copilotkit_stream,
)
from crewai.flow.flow import Flow, start
from litellm import completion

WRITE_DOCUMENT = {"type": "function", "function": {
    "name": "write_document", "description": "Write the whole document.",
    "parameters": {"type": "object", "properties": {"document": {"type": "string"}}}}}


class DocumentState(CopilotKitState):
    document: str | None = None
    progress: str | None = None


class SdkFlow(Flow[DocumentState]):
    """Chats, or writes a document with a predicted tool call, or calls a frontend action."""

    @start()
    async def chat(self) -> None:
        await copilotkit_emit_state({"progress": "thinking"})
        await copilotkit_predict_state(
            {"document": {"tool_name": "write_document", "tool_argument": "document"}})
        history = [{k: v for k, v in dict(m).items() if k != "id"} for m in self.state.messages]
        response = await copilotkit_stream(completion(
            model="openai/fake-model", api_base=os.environ["FAKE_LLM_BASE_URL"], api_key="fake",
            messages=[{"role": "system", "content": "Write."}, *history],
            tools=[*self.state.copilotkit.actions, WRITE_DOCUMENT], stream=True))
        message: Any = response.choices[0]["message"]
        self.state.messages.append(message)
        calls = message.get("tool_calls") or []
        if calls and calls[0]["function"]["name"] == "write_document":
            self.state.document = json.loads(calls[0]["function"]["arguments"])["document"]
            self.state.messages.append({"role": "tool", "content": "Document written.",
                                        "tool_call_id": calls[0]["id"]})
        self.state.progress = "done"
