"""Test agents written the way agents for other runtimes are written.

Each one uses a pattern of the public AG-UI dojo agents (``ag-ui-protocol/ag-ui``,
``integrations/langgraph/python/examples/agents``) or of CopilotKit's ``coagents-*`` examples,
in our own words: frontend tools read from ``state["tools"]``, predictive state declared with
``config["metadata"]["predict_state"]``, a LangGraph ``interrupt()`` for a human in the loop, an
``interrupt_after`` breakpoint before a frontend action's result is used, a subgraph that
interrupts. Every factory returns a freshly compiled graph with its own ``MemorySaver`` so the
same definition can be served by us and by ``ag-ui-langgraph`` side by side.

The model is :class:`ScriptedChatModel`: a LangChain chat model that streams (text word by
word, tool call arguments in small pieces) what a script decides from the conversation, so the
streaming paths of both servers are exercised without a network.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.checkpoint.memory import MemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, interrupt
from typing_extensions import TypedDict

# -- the model ---------------------------------------------------------------------------------

Reply = tuple[str, dict[str, Any] | None]  # (text, {"name", "args"} or None)
Script = Callable[[list[BaseMessage], list[str]], Reply]


class ScriptedChatModel(BaseChatModel):
    """Streams what ``script(messages, bound_tool_names)`` returns: ``(text, tool_call)``."""

    script: Any
    tool_names: list[str] = []
    piece: int = 7  # characters per tool-argument chunk

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        names = [convert_to_openai_tool(t)["function"]["name"] for t in tools]
        return self.model_copy(update={"tool_names": names})

    def _reply(self, messages: list[BaseMessage]) -> Reply:
        reply: Reply = self.script(messages, list(self.tool_names))
        return reply

    def _chunks(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        text, call = self._reply(messages)
        for i, word in enumerate(text.split(" ") if text else []):
            yield AIMessageChunk(content=word if i == 0 else " " + word)
        if call is not None:
            call_id = f"call_{call['name']}_{len(messages)}"
            yield AIMessageChunk(content="", tool_call_chunks=[
                {"name": call["name"], "args": "", "id": call_id, "index": 0}])
            args = json.dumps(call["args"])
            for start in range(0, len(args), self.piece):
                yield AIMessageChunk(content="", tool_call_chunks=[
                    {"name": None, "args": args[start:start + self.piece], "id": None, "index": 0}])

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text, call = self._reply(messages)
        calls = [{"name": call["name"], "args": call["args"], "id": f"call_{call['name']}_{len(messages)}"}
                 ] if call else []
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text, tool_calls=calls))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages):
            yield ChatGenerationChunk(message=chunk)

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages):
            yield ChatGenerationChunk(message=chunk)


def last_text(messages: list[BaseMessage], kind: type = HumanMessage) -> str:
    for message in reversed(messages):
        if isinstance(message, kind):
            return message.content if isinstance(message.content, str) else str(message.content)
    return ""


def _without_system(messages: list[BaseMessage]) -> list[BaseMessage]:
    return [m for m in messages if not isinstance(m, SystemMessage)]


# -- frontend tools from state["tools"] (the dojo's tool-based generative UI) ----------------------

class ToolsState(MessagesState):
    tools: list[Any]


def _color_script(messages: list[BaseMessage], tools: list[str]) -> Reply:
    last = _without_system(messages)[-1]
    if isinstance(last, ToolMessage):
        return f"The page says: {last.content}", None
    if "color" in last_text(messages) and "setColor" in tools:
        return "", {"name": "setColor", "args": {"color": "blue"}}
    return f"I was offered {len(tools)} tools: {', '.join(tools) or 'none'}", None


def make_tools_graph() -> Any:
    model = ScriptedChatModel(script=_color_script)

    async def chat_node(state: ToolsState, config: RunnableConfig) -> Command[Any]:
        bound = model.bind_tools([*state["tools"]])  # KeyError if nobody fills it
        response = await bound.ainvoke([SystemMessage(content="Set colors."), *state["messages"]],
                                       config)
        return Command(goto=END, update={"messages": [response]})

    builder = StateGraph(ToolsState)
    builder.add_node("chat_node", chat_node)
    builder.add_edge(START, "chat_node")
    return builder.compile(checkpointer=MemorySaver())


# -- predictive state + human in the loop (the dojo's human_in_the_loop / predictive state) ------

@tool
def plan_steps(steps: list[dict[str, str]]) -> str:
    """Plan the steps of a task: a list of {description, status}."""
    return "planned"


class StepsState(MessagesState):
    steps: list[dict[str, str]]
    tools: list[Any]


STEPS = [{"description": "Dig hole", "status": "enabled"},
         {"description": "Plant tree", "status": "enabled"},
         {"description": "Water it", "status": "enabled"}]


def _steps_script(messages: list[BaseMessage], tools: list[str]) -> Reply:
    if isinstance(messages[-1], HumanMessage) and messages[-1].content.startswith("Done with:"):
        return f"I did it: {messages[-1].content[len('Done with:'):].strip()}.", None
    if "plan_steps" in tools and "plant" in last_text(messages):
        return "", {"name": "plan_steps", "args": {"steps": STEPS}}
    return "Nothing to plan.", None


def make_steps_graph() -> Any:
    model = ScriptedChatModel(script=_steps_script)

    async def start_node(state: dict[str, Any], config: RunnableConfig) -> Command[Any]:
        return Command(goto="chat_node", update={"steps": state.get("steps") or []})

    async def chat_node(state: StepsState, config: RunnableConfig) -> Command[Any]:
        config["metadata"]["predict_state"] = [
            {"state_key": "steps", "tool": "plan_steps", "tool_argument": "steps"}]
        bound = model.bind_tools([*state["tools"], plan_steps], parallel_tool_calls=False)
        response = await bound.ainvoke([SystemMessage(content="Plan."), *state["messages"]], config)
        if response.tool_calls and response.tool_calls[0]["name"] == "plan_steps":
            call = response.tool_calls[0]
            result = {"role": "tool", "content": "Steps planned.", "tool_call_id": call["id"]}
            return Command(goto="confirm_node", update={
                "messages": [response, result], "steps": call["args"]["steps"]})
        return Command(goto=END, update={"messages": [response]})

    async def confirm_node(state: StepsState, config: RunnableConfig) -> Command[Any]:
        answer = interrupt({"steps": state["steps"]})
        chosen = answer if isinstance(answer, str) else json.dumps(answer)
        reply = await model.ainvoke([HumanMessage(content=f"Done with: {chosen}")], config)
        return Command(goto=END, update={"messages": [reply]})

    builder = StateGraph(StepsState)
    builder.add_node("start_node", start_node)
    builder.add_node("chat_node", chat_node)
    builder.add_node("confirm_node", confirm_node)
    builder.add_edge(START, "start_node")
    return builder.compile(checkpointer=MemorySaver())


# -- predictive state, written by a later tool node (the dojo's predictive_state_updates) --------

class DocumentState(MessagesState):
    document: str | None
    tools: list[Any]


DOCUMENT = "# A short story\n\nOnce upon a time, a runtime streamed a document."


def _document_script(messages: list[BaseMessage], tools: list[str]) -> Reply:
    last = _without_system(messages)[-1]
    if isinstance(last, ToolMessage):
        return "I wrote the story.", None
    if "write_document" in tools:
        return "", {"name": "write_document", "args": {"document": DOCUMENT}}
    return "No tool to write with.", None


@tool
def write_document(document: str) -> str:
    """Write the whole document in markdown."""
    return "Document written."


def make_document_graph() -> Any:
    model = ScriptedChatModel(script=_document_script)

    async def chat_node(state: DocumentState, config: RunnableConfig) -> Command[Any]:
        config["metadata"]["predict_state"] = [
            {"state_key": "document", "tool": "write_document", "tool_argument": "document"}]
        bound = model.bind_tools([*state["tools"], write_document], parallel_tool_calls=False)
        response = await bound.ainvoke([SystemMessage(content="Write."), *state["messages"]], config)
        if response.tool_calls:
            return Command(goto="write_node", update={"messages": [response]})
        return Command(goto=END, update={"messages": [response]})

    async def write_node(state: DocumentState, config: RunnableConfig) -> Command[Any]:
        call = state["messages"][-1].tool_calls[0]
        result = ToolMessage(content="Document written.", tool_call_id=call["id"])
        return Command(goto="chat_node", update={"messages": [result],
                                                 "document": call["args"]["document"]})

    builder = StateGraph(DocumentState)
    builder.add_node("chat_node", chat_node)
    builder.add_node("write_node", write_node)
    builder.add_edge(START, "chat_node")
    return builder.compile(checkpointer=MemorySaver())


# -- a breakpoint before a frontend action's result is used (coagents-qa-native's email agent) ---

class EmailState(MessagesState):
    copilotkit: dict[str, Any]
    sender: str | None
    email: str | None


def _email_script(messages: list[BaseMessage], tools: list[str]) -> Reply:
    if "EmailTool" in tools:
        return "", {"name": "EmailTool", "args": {"the_email": "Dear team, the runtime works."}}
    last = last_text(messages)
    return (f"Sent: {last}" if last != "CANCEL" else "Cancelled sending the email."), None


def make_email_graph() -> Any:
    model = ScriptedChatModel(script=_email_script)

    async def email_node(state: EmailState, config: RunnableConfig) -> dict[str, Any]:
        sender = state.get("sender") or interrupt("Who is sending the email?")
        actions = (state.get("copilotkit") or {}).get("actions") or []
        response = await model.bind_tools(actions).ainvoke(
            [*state["messages"], HumanMessage(content=f"Write an email from {sender}")], config)
        return {"messages": [response], "sender": sender,
                "email": response.tool_calls[0]["args"]["the_email"]}

    async def send_email_node(state: EmailState, config: RunnableConfig) -> dict[str, Any]:
        result = state["messages"][-1]
        assert isinstance(result, ToolMessage), f"expected the frontend's answer, got {result!r}"
        reply = await model.ainvoke([HumanMessage(content=str(result.content))], config)
        return {"messages": [reply]}

    builder = StateGraph(EmailState)
    builder.add_node("email_node", email_node)
    builder.add_node("send_email_node", send_email_node)
    builder.add_edge(START, "email_node")
    builder.add_edge("email_node", "send_email_node")
    builder.add_edge("send_email_node", END)
    return builder.compile(checkpointer=MemorySaver(), interrupt_after=["email_node"])


# -- a subgraph that streams and interrupts (the dojo's subgraphs agent) -------------------------

class TripState(MessagesState):
    destination: str | None
    hotel: str | None


class HotelState(TypedDict):
    messages: list[BaseMessage]
    destination: str | None
    hotel: str | None


def _trip_script(messages: list[BaseMessage], tools: list[str]) -> Reply:
    text = last_text(messages)
    if text.startswith("Booked:"):
        return f"Your trip is ready: {text[len('Booked:'):].strip()}.", None
    return "Let me find you a hotel in Paris.", None


def make_trip_graph() -> Any:
    model = ScriptedChatModel(script=_trip_script)

    async def hotel_search(state: HotelState, config: RunnableConfig) -> dict[str, Any]:
        return {"hotel": "Hotel Lumiere"}

    async def hotel_confirm(state: HotelState, config: RunnableConfig) -> dict[str, Any]:
        answer = interrupt({"question": "Book this hotel?", "hotel": state["hotel"]})
        return {"hotel": state["hotel"] if answer == "yes" else None}

    sub = StateGraph(HotelState)
    sub.add_node("hotel_search", hotel_search)
    sub.add_node("hotel_confirm", hotel_confirm)
    sub.add_edge(START, "hotel_search")
    sub.add_edge("hotel_search", "hotel_confirm")
    hotels = sub.compile()

    async def supervisor(state: TripState, config: RunnableConfig) -> dict[str, Any]:
        reply = await model.ainvoke(state["messages"], config)
        return {"messages": [reply], "destination": "Paris"}

    async def summary(state: TripState, config: RunnableConfig) -> dict[str, Any]:
        booked = state.get("hotel") or "no hotel"
        reply = await model.ainvoke([HumanMessage(content=f"Booked: {booked}")], config)
        return {"messages": [reply]}

    builder = StateGraph(TripState)
    builder.add_node("supervisor", supervisor)
    builder.add_node("hotel_agent", hotels)
    builder.add_node("summary", summary)
    builder.add_edge(START, "supervisor")
    builder.add_edge("supervisor", "hotel_agent")
    builder.add_edge("hotel_agent", "summary")
    builder.add_edge("summary", END)
    return builder.compile(checkpointer=MemorySaver())


# -- identity: an agent that calls an API with the user's token ------------------------------------

def make_identity_graph() -> Any:
    async def whoami(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
        configurable = config["configurable"]
        token = configurable["headers"].get("authorization", "none")
        principal = configurable.get("principal")
        user = getattr(principal, "name", principal)
        tenant = configurable["properties"].get("tenant", "none")
        return {"messages": [AIMessage(content=f"token={token} user={user} tenant={tenant}")]}

    builder = StateGraph(MessagesState)
    builder.add_node("whoami", whoami)
    builder.add_edge(START, "whoami")
    return builder.compile(checkpointer=MemorySaver())


# -- regenerate: a reply that counts the turns ----------------------------------------------------

def _echo_script(messages: list[BaseMessage], tools: list[str]) -> Reply:
    humans = [m for m in messages if isinstance(m, HumanMessage)]
    return f"You said {last_text(messages)!r} ({len(messages)} messages so far, {len(humans)} from you)", None


def make_echo_graph() -> Any:
    model = ScriptedChatModel(script=_echo_script)

    async def chat(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"], config)]}

    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    return builder.compile(checkpointer=MemorySaver())


# -- frontend tools and readables from state["ag-ui"] (ag-ui-langgraph's own key) ------------------

# "ag-ui" is no identifier: the state schema is declared the functional way.
AgUiState = TypedDict("AgUiState", {"messages": Annotated[list[BaseMessage], add_messages],
                                     "ag-ui": dict[str, Any]})


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _agui_script(messages: list[BaseMessage], tools: list[str]) -> Reply:
    context = next((m.content for m in messages if isinstance(m, SystemMessage)), "none")
    return f"Tools: {', '.join(tools) or 'none'}. Context: {context}.", None


def make_agui_state_graph() -> Any:
    model = ScriptedChatModel(script=_agui_script)

    async def chat(state: Any, config: RunnableConfig) -> dict[str, Any]:
        ag_ui = state["ag-ui"]  # KeyError if nobody fills it
        context = "; ".join(f"{_field(c, 'description')}={_field(c, 'value')}"
                            for c in ag_ui["context"]) or "none"
        bound = model.bind_tools([*ag_ui["tools"]])
        return {"messages": [await bound.ainvoke([SystemMessage(content=context),
                                                  *state["messages"]], config)]}

    builder = StateGraph(AgUiState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    return builder.compile(checkpointer=MemorySaver())
