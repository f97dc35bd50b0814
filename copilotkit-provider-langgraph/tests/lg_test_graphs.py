"""Real LangGraph graphs for the provider's tests. Only the LLMs are fakes.

Each ``make_*`` function is a graph factory, the way a config names one
(``graph = "lg_test_graphs:make_chat_graph"``): every provider instance gets a fresh graph and
fresh fake models.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any

from langchain_core.callbacks import adispatch_custom_event
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import (
    FakeMessagesListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import interrupt
from typing_extensions import TypedDict

# ---------------------------------------------------------------------------------------------
# A fake chat model that streams tool calls (langchain-core's fakes stream text only)
# ---------------------------------------------------------------------------------------------

Script = Callable[[list[BaseMessage], dict[str, Any]], AIMessage]


class ScriptedChatModel(BaseChatModel):
    """Answers with ``script(messages, kwargs)`` and streams it like an OpenAI model does: text
    word by word, each tool call as a chunk with name and id followed by argument slices.

    ``gate`` (an ``asyncio.Event``), when set, holds the stream after its first chunk until the
    event is set: tests use it to see tokens arrive while the model is still producing.
    """

    script: Any
    gate: Any = None
    pieces: int = 3

    @property
    def _llm_type(self) -> str:
        return "scripted-test-model"

    def bind_tools(self, tools: list[Any], **kwargs: Any) -> Any:  # type: ignore[override]
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _answer(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        answer = self.script(messages, kwargs)
        return AIMessage(content=answer) if isinstance(answer, str) else answer

    def _chunks(self, answer: AIMessage) -> Iterator[AIMessageChunk]:
        text = answer.content if isinstance(answer.content, str) else ""
        words = text.split(" ") if text else []
        for i, word in enumerate(words):
            yield AIMessageChunk(content=word if i == 0 else " " + word)
        for index, call in enumerate(answer.tool_calls):
            call_id = call.get("id") or f"call_{uuid.uuid4().hex[:12]}"
            yield AIMessageChunk(content="", tool_call_chunks=[
                {"name": call["name"], "args": "", "id": call_id, "index": index}])
            args = json.dumps(call["args"])
            size = -(-len(args) // self.pieces)
            for start in range(0, len(args), size):
                yield AIMessageChunk(content="", tool_call_chunks=[
                    {"name": None, "args": args[start:start + size], "id": None, "index": index}])
        reason = "tool_calls" if answer.tool_calls else "stop"
        yield AIMessageChunk(content="", response_metadata={"finish_reason": reason})

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._answer(messages, kwargs))])

    async def _astream(self, messages: list[BaseMessage], stop: Any = None,
                       run_manager: Any = None, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        for i, chunk in enumerate(self._chunks(self._answer(messages, kwargs))):
            if i == 1 and self.gate is not None:
                await self.gate.wait()
            yield ChatGenerationChunk(message=chunk)


def last_human_text(messages: list[BaseMessage]) -> str:
    for message in reversed(messages):
        if message.type == "human":
            return str(message.content)
    return ""


# ---------------------------------------------------------------------------------------------
# Plain chat (GenericFakeChatModel): token streaming, the contract suite
# ---------------------------------------------------------------------------------------------


def make_chat_graph() -> Any:
    model = GenericFakeChatModel(messages=iter(
        f"Hello from the graph, answer number {i}." for i in range(1, 10_000)))

    async def chat(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"], config)]}

    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    builder.add_edge("chat", END)
    return builder.compile()


def make_chat_builder() -> StateGraph:
    """An uncompiled StateGraph (the provider compiles it)."""
    return make_chat_graph().builder


async def make_chat_graph_async(config: RunnableConfig) -> Any:
    """An async factory that takes the config, as LangGraph Platform factories may."""
    await asyncio.sleep(0)
    return make_chat_graph()


# ---------------------------------------------------------------------------------------------
# Gated streaming: tokens observable before the model is done; cancellation
# ---------------------------------------------------------------------------------------------

GATES: dict[str, asyncio.Event] = {}
STARTED: dict[str, asyncio.Event] = {}


def make_gated_graph() -> Any:
    """The model streams its first word, then waits for ``GATES[<last user text>]``."""

    class GatedModel(ScriptedChatModel):
        async def _astream(self, messages: list[BaseMessage], stop: Any = None,
                           run_manager: Any = None, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
            key = last_human_text(messages)
            gate = GATES.setdefault(key, asyncio.Event())
            for i, chunk in enumerate(self._chunks(self._answer(messages, kwargs))):
                if i == 1:
                    STARTED.setdefault(key, asyncio.Event()).set()
                    await gate.wait()
                yield ChatGenerationChunk(message=chunk)

    model = GatedModel(script=lambda messages, kw: "one two three four")

    async def chat(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"], config)]}

    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    builder.add_edge("chat", END)
    return builder.compile()


# ---------------------------------------------------------------------------------------------
# Tools: a backend tool run by ToolNode, frontend actions ending the run
# ---------------------------------------------------------------------------------------------


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}"


class AgentState(MessagesState):
    copilotkit: dict[str, Any]


def _tools_script(messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
    last = messages[-1]
    if isinstance(last, ToolMessage):
        return AIMessage(content=f"The tool said: {last.content}")
    text = last_human_text(messages).lower()
    bound = {t["function"]["name"] for t in kwargs.get("tools") or []}
    if "weather" in text:
        return AIMessage(content="Let me check.", tool_calls=[
            {"name": "get_weather", "args": {"city": "Paris"}, "id": f"call_{uuid.uuid4().hex[:8]}"}])
    if "color" in text and "setColor" in bound:
        color = text.rsplit(" ", 1)[-1].strip(" .!")
        return AIMessage(content="", tool_calls=[
            {"name": "setColor", "args": {"color": color}, "id": f"call_{uuid.uuid4().hex[:8]}"}])
    if "confetti" in text and "showConfetti" in bound:
        return AIMessage(content="", tool_calls=[
            {"name": "showConfetti", "args": {"color": "gold", "amount": 3},
             "id": f"call_{uuid.uuid4().hex[:8]}"}])
    return AIMessage(content=f"No tool needed. Offered: {sorted(bound)}")


def make_tools_graph() -> Any:
    model = ScriptedChatModel(script=_tools_script)
    backend = [get_weather]

    async def agent(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
        actions = (state.get("copilotkit") or {}).get("actions") or []
        response = await model.bind_tools([*actions, *backend]).ainvoke(state["messages"], config)
        return {"messages": [response]}

    def route(state: AgentState) -> str:
        last = state["messages"][-1]
        calls = getattr(last, "tool_calls", None) or []
        if any(c["name"] == "get_weather" for c in calls):
            return "tools"
        return END  # no call, or a frontend action: the frontend runs it

    builder = StateGraph(AgentState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode(backend))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", route, ["tools", END])
    builder.add_edge("tools", "agent")
    return builder.compile()


def make_unstreamed_graph() -> Any:
    """A model that cannot stream (only the whole message arrives)."""
    model = FakeMessagesListChatModel(responses=[AIMessage(
        content="All at once.",
        tool_calls=[{"name": "showConfetti", "args": {"color": "red"}, "id": "call_whole"}])])

    async def chat(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"], config)]}

    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    builder.add_edge("chat", END)
    return builder.compile()


# ---------------------------------------------------------------------------------------------
# Failures, interrupts without the SDK, a graph without messages
# ---------------------------------------------------------------------------------------------


def make_failing_graph() -> Any:
    model = ScriptedChatModel(script=lambda messages, kw: "Working on it")

    async def think(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
        if "boom" in last_human_text(state["messages"]):
            await model.ainvoke(state["messages"], config)
            raise RuntimeError("the node exploded")
        return {"messages": [await model.ainvoke(state["messages"], config)]}

    builder = StateGraph(MessagesState)
    builder.add_node("think", think)
    builder.add_edge(START, "think")
    builder.add_edge("think", END)
    return builder.compile()


class ApprovalState(MessagesState):
    approved: list[str]


def make_approval_graph() -> Any:
    """Two sequential interrupts in one node, and SDK-shaped custom events written by hand."""
    model = ScriptedChatModel(script=lambda messages, kw: "Done.")

    async def approve(state: ApprovalState, config: RunnableConfig) -> dict[str, Any]:
        await adispatch_custom_event("progress", {"percent": 10}, config=config)
        first = interrupt({"question": "Approve step one?"})
        second = interrupt("Approve step two?")
        approved = [*state.get("approved", []), str(first), str(second)]
        reply = await model.ainvoke(state["messages"], config)
        return {"approved": approved, "messages": [reply]}

    builder = StateGraph(ApprovalState)
    builder.add_node("approve", approve)
    builder.add_edge(START, "approve")
    builder.add_edge("approve", END)
    return builder.compile()


class CounterState(TypedDict):
    count: int
    log: Annotated[list[str], lambda a, b: a + b]


def make_counter_graph() -> Any:
    """No ``messages`` at all: state in, state out."""

    def bump(state: CounterState) -> dict[str, Any]:
        return {"count": state.get("count", 0) + 1, "log": [f"bumped to {state.get('count', 0) + 1}"]}

    builder = StateGraph(CounterState)
    builder.add_node("bump", bump)
    builder.add_edge(START, "bump")
    builder.add_edge("bump", END)
    return builder.compile()


NOT_A_GRAPH = 42


def make_breakpoint_graph() -> Any:
    """The tools graph with a static breakpoint before the tool node."""
    graph = make_tools_graph()
    return graph.builder.compile(interrupt_before=["tools"])


def make_filtered_graph() -> Any:
    """Sets the SDK's metadata keys (what ``copilotkit_customize_config`` writes) by hand:
    only the ``visible`` tool call is streamed; the text is not."""
    model = ScriptedChatModel(script=lambda messages, kw: AIMessage(content="hidden words", tool_calls=[
        {"name": "secret", "args": {"x": 1}, "id": "call_secret"},
        {"name": "visible", "args": {"y": 2}, "id": "call_visible"}]))

    async def chat(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
        metadata = {**(config.get("metadata") or {}), "copilotkit:emit-tool-calls": ["visible"],
                    "copilotkit:emit-messages": False}
        return {"messages": [await model.ainvoke(state["messages"], {**config, "metadata": metadata})]}

    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    builder.add_edge("chat", END)
    return builder.compile()


def make_parent_graph() -> Any:
    """A compiled subgraph as a node: its model streams; its inner nodes are not steps."""
    inner = make_chat_graph()
    builder = StateGraph(MessagesState)
    builder.add_node("delegate", inner)
    builder.add_edge(START, "delegate")
    builder.add_edge("delegate", END)
    return builder.compile()
