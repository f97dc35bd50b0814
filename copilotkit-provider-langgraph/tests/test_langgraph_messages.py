"""Message conversions between AG-UI and LangChain (the SDK's mapping)."""

from __future__ import annotations

from ag_ui.core import (
    AssistantMessage,
    FunctionCall,
    ImageInputContent,
    InputContentDataSource,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.messages import SystemMessage as LCSystemMessage
from langchain_core.messages import ToolMessage as LCToolMessage

from copilotkit_provider_langgraph.messages import agui_to_langchain, langchain_to_agui, to_jsonable


def test_agui_to_langchain_keeps_ids_tool_calls_and_results() -> None:
    messages = agui_to_langchain([
        SystemMessage(id="s", content="be nice"),
        UserMessage(id="u", content="hi"),
        AssistantMessage(id="a", content="", tool_calls=[
            ToolCall(id="c1", function=FunctionCall(name="addTodo", arguments='{"title": "milk"}'))]),
        ToolMessage(id="result-c1", content="added", tool_call_id="c1"),
    ])
    system, human, ai, tool = messages
    assert isinstance(system, LCSystemMessage) and system.id == "s"
    assert isinstance(human, HumanMessage) and (human.id, human.content) == ("u", "hi")
    assert isinstance(ai, AIMessage) and ai.id == "a"
    assert ai.tool_calls == [{"id": "c1", "name": "addTodo", "args": {"title": "milk"}, "type": "tool_call"}]
    assert isinstance(tool, LCToolMessage)
    assert (tool.id, tool.content, tool.tool_call_id, tool.name) == ("result-c1", "added", "c1", "addTodo")


def test_user_images_become_image_blocks() -> None:
    [human] = agui_to_langchain([UserMessage(id="u", content=[
        ImageInputContent(source=InputContentDataSource(value="AAA", mime_type="image/png"))])])
    assert human.content == [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}}]


def test_langchain_to_agui_round_trips() -> None:
    out = langchain_to_agui([
        HumanMessage(content="hi", id="u"),
        AIMessage(content=[{"type": "text", "text": "Let "}, {"type": "text", "text": "me"}], id="a",
                  tool_calls=[{"id": "c1", "name": "get", "args": {"x": 1}}]),
        LCToolMessage(content="42", tool_call_id="c1", id="t"),
    ])
    assert out == [
        {"id": "u", "role": "user", "content": "hi"},
        {"id": "a", "role": "assistant", "content": "Let me", "toolCalls": [
            {"id": "c1", "type": "function", "function": {"name": "get", "arguments": '{"x": 1}'}}]},
        {"id": "t", "role": "tool", "content": "42", "toolCallId": "c1"},
    ]


def test_to_jsonable_handles_what_graph_state_holds() -> None:
    import datetime
    import uuid

    value = {"when": datetime.date(2024, 1, 2), "id": uuid.UUID(int=1), "tags": {"a"},
             "message": HumanMessage(content="x", id="m"), "n": (1, 2)}
    assert to_jsonable(value) == {"when": "2024-01-02", "id": str(uuid.UUID(int=1)), "tags": ["a"],
                                  "message": {"id": "m", "role": "user", "content": "x"}, "n": [1, 2]}
