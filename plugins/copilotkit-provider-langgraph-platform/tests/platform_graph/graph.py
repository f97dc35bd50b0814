"""The graph the LangGraph dev server (``langgraph dev``) serves to the platform provider's
tests. Only the chat model is a fake: a scripted model that streams like an OpenAI model.

The script, by the last user message:

* ``interrupt ...``: the ``approve`` node asks ``interrupt({"question": ...})``; the answer is
  written to ``state["approval"]``, and the model echoes it;
* ``color NAME``: a call of the frontend action ``setColor`` ``{"color": NAME}`` (the client
  runs it); after its result: ``Color <result> applied``;
* ``count``: increments ``state["counter"]`` (a node writes it) and says the new value;
* ``whoami``: who the runtime says asks (``config["configurable"]``: ``principal``,
  ``properties``, ``headers``) and who the deployment's auth says (``langgraph_auth_user``);
* ``slow``: 400 words, one every 50 ms (for stop tests);
* anything else: ``Hello from the platform: <text>``.

It runs in the dev server's own environment (langgraph-api); it imports nothing of ours.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt
from typing_extensions import TypedDict


class ScriptedModel(BaseChatModel):
    @property
    def _llm_type(self) -> str:
        return "scripted-platform-test-model"

    def _answer(self, messages: list[BaseMessage], state: dict[str, Any]) -> AIMessage:
        last = messages[-1] if messages else None
        if isinstance(last, ToolMessage):
            return AIMessage(content=f"Color {last.content} applied")
        text = last.content if last is not None and isinstance(last.content, str) else ""
        if text.startswith("color "):
            color = text.removeprefix("color ").strip()
            return AIMessage(
                content="",
                tool_calls=[
                    {
                        "name": "setColor",
                        "args": {"color": color},
                        "id": f"call_{uuid.uuid4().hex[:12]}",
                    }
                ],
            )
        if text.startswith("interrupt"):
            return AIMessage(content=f"You answered: {json.dumps(state.get('approval'))}")
        if text == "count":
            return AIMessage(content=f"The counter is {state.get('counter', 0)}")
        if text == "slow":
            return AIMessage(content=" ".join(f"w{i}" for i in range(400)))
        return AIMessage(content=f"Hello from the platform: {text}")

    def _chunks(self, answer: AIMessage) -> Iterator[AIMessageChunk]:
        text = answer.content if isinstance(answer.content, str) else ""
        for i, word in enumerate(text.split(" ") if text else []):
            yield AIMessageChunk(content=word if i == 0 else " " + word)
        for index, call in enumerate(answer.tool_calls):
            yield AIMessageChunk(
                content="",
                tool_call_chunks=[
                    {"name": call["name"], "args": "", "id": call["id"], "index": index}
                ],
            )
            args = json.dumps(call["args"])
            half = len(args) // 2
            for piece in (args[:half], args[half:]):
                yield AIMessageChunk(
                    content="",
                    tool_call_chunks=[{"name": None, "args": piece, "id": None, "index": index}],
                )

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._answer(messages, kwargs))])

    async def _astream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        state = kwargs.pop("state", {})
        answer = self._answer(messages, state)
        slow = bool(messages) and messages[-1].content == "slow"
        for chunk in self._chunks(answer):
            if slow:
                await asyncio.sleep(0.05)
            generation = ChatGenerationChunk(message=chunk)
            if run_manager is not None and isinstance(chunk.content, str) and chunk.content:
                await run_manager.on_llm_new_token(chunk.content, chunk=generation)
            yield generation


class State(TypedDict, total=False):
    messages: Annotated[list[BaseMessage], add_messages]
    copilotkit: dict[str, Any]
    counter: int
    approval: Any


MODEL = ScriptedModel()


def _last_user_text(state: State) -> str:
    for message in reversed(state.get("messages") or []):
        if message.type == "human":
            return message.content if isinstance(message.content, str) else ""
    return ""


def route(state: State) -> str:
    text = _last_user_text(state)
    last = (state.get("messages") or [None])[-1]
    if text.startswith("interrupt") and getattr(last, "type", None) == "human":
        return "approve"
    if text == "count" and getattr(last, "type", None) == "human":
        return "count"
    return "chat"


async def count(state: State) -> dict[str, Any]:
    return {"counter": int(state.get("counter") or 0) + 1}


async def approve(state: State) -> dict[str, Any]:
    answer = interrupt({"question": "Approve the plan?", "asked": _last_user_text(state)})
    return {"approval": answer}


async def chat(state: State, config: RunnableConfig) -> dict[str, Any]:
    if _last_user_text(state) == "whoami" and state["messages"][-1].type == "human":
        configurable = config.get("configurable") or {}
        user = configurable.get("langgraph_auth_user")
        facts = {
            "principal": configurable.get("principal"),
            "properties": configurable.get("properties"),
            "headers": configurable.get("headers"),
            "auth_user": getattr(user, "identity", None),
        }
        return {"messages": [AIMessage(content="whoami " + json.dumps(facts, sort_keys=True))]}
    actions = (state.get("copilotkit") or {}).get("actions") or []
    model = MODEL.bind(tools=actions) if actions else MODEL
    reply = await model.ainvoke(state["messages"], config, state=dict(state))
    return {"messages": [reply]}


def after_count(state: State) -> str:
    return "chat"


builder = StateGraph(State)
builder.add_node("chat", chat)
builder.add_node("count", count)
builder.add_node("approve", approve)
builder.add_conditional_edges(START, route, ["chat", "count", "approve"])
builder.add_edge("count", "chat")
builder.add_edge("approve", "chat")
builder.add_edge("chat", END)
graph = builder.compile()
