"""A real CopilotKit SDK remote endpoint serving CrewAI flows (``copilotkit.crewai.CrewAIAgent``),
run as a subprocess from its own environment (``.crewai-sdk-venv``, made by
``scripts/test.sh --setup-only``): CrewAI pins versions the workspace does not use.

    python server.py PORT LLM_BASE_URL

The flows call the model through ``litellm`` (as the SDK's examples do), pointed at the fake
OpenAI-compatible server the test runs (``LLM_BASE_URL``, e.g. ``http://127.0.0.1:9/v1``).
It imports nothing of the runtime's.

* ``chat_flow``: one ``chat`` method: counts its turns in ``state.turns``, streams the model's
  answer with ``copilotkit_stream`` (text or a call of a frontend action the request offers),
  and on ``bye`` calls ``copilotkit_exit()``.
* ``emit_flow``: ``copilotkit_emit_state`` / ``copilotkit_emit_message`` /
  ``copilotkit_emit_tool_call`` from a flow method, no model.
* ``broken_flow``: a method that raises.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")

import uvicorn
from copilotkit import CopilotKitRemoteEndpoint
from copilotkit.crewai import (
    CopilotKitState,
    CrewAIAgent,
    copilotkit_emit_message,
    copilotkit_emit_state,
    copilotkit_emit_tool_call,
    copilotkit_exit,
    copilotkit_stream,
)
from copilotkit.integrations.fastapi import add_fastapi_endpoint
from crewai.flow.flow import Flow, start
from fastapi import FastAPI
from litellm import completion

LLM_BASE_URL = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:9/v1"


class ChatState(CopilotKitState):
    turns: int = 0
    mood: str = "calm"


class ChatFlow(Flow[ChatState]):
    @start()
    async def chat(self) -> None:
        self.state.turns += 1
        last = self.state.messages[-1] if self.state.messages else {}
        actions = self.state.copilotkit.actions
        response = await copilotkit_stream(completion(
            model="openai/fake-gpt", api_base=LLM_BASE_URL, api_key="sk-test",
            messages=[{"role": "system", "content": "You are a test flow."},
                      *self.state.messages],
            tools=actions or None, stream=True))
        message = response.choices[0]["message"]
        self.state.messages.append(message)
        if isinstance(last, dict) and last.get("content") == "bye":
            await copilotkit_exit()


class EmitState(CopilotKitState):
    step: str = "none"


class EmitFlow(Flow[EmitState]):
    @start()
    async def work(self) -> None:
        self.state.step = "searching"
        await copilotkit_emit_state({"step": "searching"})
        await copilotkit_emit_message("Working on it")
        await copilotkit_emit_tool_call(name="showProgress", args={"percent": 50})
        self.state.step = "done"


class BrokenFlow(Flow[CopilotKitState]):
    @start()
    async def explode(self) -> None:
        raise RuntimeError("the flow exploded")


def build() -> FastAPI:
    sdk = CopilotKitRemoteEndpoint(agents=[
        CrewAIAgent(name="chat_flow", description="A CrewAI chat flow", flow=ChatFlow()),
        CrewAIAgent(name="emit_flow", description="Emits by hand", flow=EmitFlow()),
        CrewAIAgent(name="broken_flow", description="Always fails", flow=BrokenFlow()),
    ])
    app = FastAPI()
    add_fastapi_endpoint(app, sdk, "/copilotkit")
    return app


if __name__ == "__main__":
    uvicorn.run(build(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
