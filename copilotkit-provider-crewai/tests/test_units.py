"""Small pure pieces: partial JSON, message conversion, the SDK helpers outside a run."""

from __future__ import annotations

import asyncio

import pytest
from ag_ui.core import (
    AssistantMessage,
    FunctionCall,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from copilotkit_provider_crewai.messages import agui_to_openai, openai_to_agui
from copilotkit_provider_crewai.partial_json import parse_partial_json


@pytest.mark.parametrize(("text", "value"), [
    ('{"steps": ["a", "b', {"steps": ["a", "b"]}),
    ('{"a": 1, "b": [1, 2', {"a": 1, "b": [1, 2]}),
    ('{"a": "x", "b": tr', {"a": "x"}),
    ('{"a": {"b": "c"', {"a": {"b": "c"}}),
    ('{"ste', {}),
    ('{"a": "x\\', {"a": "x"}),
    ('[1, 2', [1, 2]),
    ('{"done": true}', {"done": True}),
    ("", None),
])
def test_partial_json_completes_what_has_streamed(text: str, value: object) -> None:
    assert parse_partial_json(text) == value


def test_agui_messages_become_openai_chat_dicts_with_ids() -> None:
    messages = [
        SystemMessage(id="s", content="frontend instructions"),
        UserMessage(id="u", content="hi"),
        AssistantMessage(id="a", content=None, tool_calls=[
            ToolCall(id="c", type="function", function=FunctionCall(name="setColor", arguments='{"color":"red"}'))]),
        ToolMessage(id="t", content="done", tool_call_id="c"),
    ]
    assert agui_to_openai(messages) == [
        {"id": "u", "role": "user", "content": "hi"},
        {"id": "a", "role": "assistant", "content": "", "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "setColor", "arguments": '{"color":"red"}'}}]},
        {"id": "t", "role": "tool", "content": "done", "tool_call_id": "c"},
    ]


def test_openai_messages_become_agui_messages() -> None:
    assistant = {"role": "assistant", "content": None,
                 "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": {"x": 1}}}]}
    assert openai_to_agui(assistant, "m1") == {
        "id": "m1", "role": "assistant",
        "toolCalls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}]}
    assert openai_to_agui({"id": "t", "role": "tool", "content": "ok", "tool_call_id": "c1"}, "x") == {
        "id": "t", "role": "tool", "content": "ok", "toolCallId": "c1"}
    assert openai_to_agui({"role": "narrator", "content": "?"}, "x") is None


def test_sdk_helpers_do_nothing_outside_a_run() -> None:
    from copilotkit_provider_crewai.sdk import (
        copilotkit_emit_message,
        copilotkit_emit_state,
        copilotkit_exit,
        copilotkit_stream,
    )

    async def use() -> object:
        await copilotkit_emit_state({"a": 1})
        assert (await copilotkit_exit()) is True
        message_id = await copilotkit_emit_message("hi")
        assert message_id.startswith("msg_")
        chunks = [{"choices": [{"delta": {"content": "he"}}]}, {"choices": [{"delta": {"content": "y"}}]}]
        return await copilotkit_stream(iter(chunks))

    response = asyncio.run(use())
    assert response.choices[0]["message"]["content"] == "hey"
    assert response.choices[0].message.content == "hey"
