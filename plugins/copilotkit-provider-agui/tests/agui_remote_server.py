"""A real remote AG-UI server for the tests, run in its own process:
``python agui_remote_server.py PORT``.

``/agent`` is ``ag_ui_langgraph.add_langgraph_fastapi_endpoint`` serving a real LangGraph graph
(MemorySaver checkpoints) whose only fake is the chat model, scripted by the last user message:

- ``color NAME``: calls the frontend tool ``setColor`` and ends the run; after the tool result,
  says ``Color NAME applied``;
- ``remember X``: appends X to the state key ``notes`` and says so;
- ``approve``: ``interrupt("Approve the plan?")``, then says ``You answered <resume value>``;
- ``hold``: streams ``Holding`` and then waits until the run is stopped (``/_release`` frees it);
- ``die``: streams ``Dying`` and the process exits at once (a remote that dies mid-run);
- anything else: ``Hello from the remote graph``.

``/bad/{kind}`` answers like a broken AG-UI server (``status``, ``not-sse``, ``not-json``,
``bad-event``, ``bad-order``, ``truncated``, ``error``). An ASGI wrapper records every POST
(headers, body, whether the client disconnected before the answer ended): ``GET /_seen``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from ag_ui_langgraph import LangGraphAgent, add_langgraph_fastapi_endpoint
from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import MemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import interrupt

HOLDS: list[asyncio.Event] = []  # runs holding on (``hold``), freed by /_release
SEEN: list[dict[str, Any]] = []


def last_human(messages: list[BaseMessage]) -> str:
    for message in reversed(messages):
        if message.type == "human":
            return str(message.content)
    return ""


def script(messages: list[BaseMessage]) -> AIMessage:
    last = messages[-1] if messages else None
    if last is not None and last.type == "tool":
        return AIMessage(content=f"Color {last.content} applied")
    text = last_human(messages)
    if text.startswith("color "):
        return AIMessage(content="", tool_calls=[{"name": "setColor", "args": {"color": text[6:]},
                                                  "id": f"call_{uuid.uuid4().hex[:10]}"}])
    if text.startswith("remember "):
        return AIMessage(content=f"I will remember {text[9:]}")
    if text == "hold":
        return AIMessage(content="Holding on until stopped")
    if text == "die":
        return AIMessage(content="Dying now for real")
    return AIMessage(content="Hello from the remote graph")


class ScriptedModel(BaseChatModel):
    @property
    def _llm_type(self) -> str:
        return "scripted-remote-model"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=script(messages))])

    async def _astream(self, messages: list[BaseMessage], stop: Any = None,
                       run_manager: Any = None, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        answer = script(messages)
        text = str(answer.content)
        for i, word in enumerate(text.split(" ") if text else []):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word if i == 0 else " " + word))
            if i == 0 and text.startswith("Holding"):
                gate = asyncio.Event()
                HOLDS.append(gate)
                await gate.wait()
            if i == 0 and text.startswith("Dying"):
                await asyncio.sleep(0.3)  # let the first words leave the process
                os._exit(3)
        for index, call in enumerate(answer.tool_calls):
            args = json.dumps(call["args"])
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[
                {"name": call["name"], "args": "", "id": call["id"], "index": index}]))
            half = len(args) // 2
            for piece in (args[:half], args[half:]):
                yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[
                    {"name": None, "args": piece, "id": None, "index": index}]))


class State(MessagesState):
    notes: list[str]


def build_graph() -> Any:
    model = ScriptedModel()

    async def chat(state: State, config: RunnableConfig) -> dict[str, Any]:
        text = last_human(state["messages"])
        update: dict[str, Any] = {}
        if text == "approve" and state["messages"][-1].type == "human":
            answer = interrupt("Approve the plan?")
            return {"messages": [AIMessage(id=f"ans-{uuid.uuid4().hex[:8]}",
                                           content=f"You answered {answer}")]}
        if text.startswith("remember "):
            update["notes"] = [*(state.get("notes") or []), text[9:]]
        return {**update, "messages": [await model.ainvoke(state["messages"], config)]}

    builder = StateGraph(State)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    builder.add_edge("chat", END)
    return builder.compile(checkpointer=MemorySaver())


app = FastAPI()
add_langgraph_fastapi_endpoint(app, LangGraphAgent(name="remote", graph=build_graph()), "/agent")


@app.get("/_seen")
async def seen() -> JSONResponse:
    return JSONResponse(SEEN)


@app.post("/_release")
async def release() -> JSONResponse:
    while HOLDS:
        HOLDS.pop().set()
    return JSONResponse({"ok": True})


def _frames(*events: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)


@app.post("/bad/{kind}")
async def bad(kind: str, body: dict[str, Any]) -> Any:
    started = {"type": "RUN_STARTED", "threadId": body["threadId"], "runId": body["runId"]}
    finished = {"type": "RUN_FINISHED", "threadId": body["threadId"], "runId": body["runId"]}
    msg = {"type": "TEXT_MESSAGE_START", "messageId": "m1", "role": "assistant"}
    if kind == "status":
        return PlainTextResponse("upstream exploded", status_code=502)
    if kind == "not-sse":
        return JSONResponse({"hello": "world"})
    payload = {
        "not-json": _frames(started) + b"data: {this is not json\n\n",
        "bad-event": _frames(started, {"type": "TEXT_MESSAGE_CONTENT", "delta": "no id"}),
        "bad-order": _frames(started, {"type": "TEXT_MESSAGE_CONTENT", "messageId": "ghost",
                                       "delta": "x"}),
        "truncated": _frames(started, msg, {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1",
                                            "delta": "half a"}),
        "error": _frames(started, {"type": "RUN_ERROR", "message": "remote says no",
                                   "code": "REMOTE_NO"}),
        "ok": _frames({**started, "threadId": "theirs", "runId": "theirs"}, msg,
                      {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "fine"},
                      {"type": "TEXT_MESSAGE_END", "messageId": "m1"},
                      {**finished, "threadId": "theirs", "runId": "theirs"}),
    }[kind]

    async def chunks() -> AsyncIterator[bytes]:
        # split mid-line to exercise the reader's buffering
        yield payload[:7]
        yield payload[7:]

    return StreamingResponse(chunks(), media_type="text/event-stream")


class Recorder:
    """Records each POST and whether its client went away before the answer was complete."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].startswith("/_"):
            await self.inner(scope, receive, send)
            return
        entry: dict[str, Any] = {"path": scope["path"], "disconnected": False, "completed": False,
                                 "headers": {k.decode(): v.decode() for k, v in scope["headers"]}}
        SEEN.append(entry)
        chunks: list[bytes] = []

        async def receive_wrapper() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    entry["body"] = json.loads(b"".join(chunks) or b"null")
            elif message["type"] == "http.disconnect" and not entry["completed"]:
                entry["disconnected"] = True
            return message

        async def send_wrapper(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                entry["completed"] = True

        try:
            await self.inner(scope, receive_wrapper, send_wrapper)
        finally:
            entry["app_returned"] = True


if __name__ == "__main__":
    uvicorn.run(Recorder(app), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
