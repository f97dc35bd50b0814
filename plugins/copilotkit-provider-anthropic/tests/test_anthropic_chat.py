"""Chat through the runtime over real HTTP (AG-UI), the real ``anthropic`` SDK against the fake
Messages server: streaming, what the model is sent, frontend and backend actions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from anthropic_helpers import SET_COLOR, run, run_input, text_of, types

from copilotkit_runtime.testing.fake_llm import FakeLLMServer, Turn


def test_a_reply_streams_as_text_events(served: Any, llm: FakeLLMServer) -> None:
    events = run(served.url, "claude", run_input("hello there"))
    assert types(events)[0] == "RUN_STARTED" and types(events)[-1] == "RUN_FINISHED"
    assert types(events).count("TEXT_MESSAGE_CONTENT") == 4  # one per word
    assert text_of(events) == "You said: hello there"
    sent = llm.requests[-1]
    assert sent["model"] == "claude-test" and sent["stream"] is True
    assert sent["max_tokens"] == 4096  # required by the API: the plugin's default
    assert sent["system"] == "You are the shop's assistant."
    assert sent["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hello there"}]}]
    auth = llm.headers[-1].get("x-api-key") or llm.headers[-1].get("authorization", "")
    assert auth.endswith("sk-ant-test-SECRET-0123456789")
    assert llm.headers[-1]["x-stainless-retry-count"] == "0"  # the SDK's own retries are off


def test_system_messages_and_readables_go_to_system(served: Any, llm: FakeLLMServer) -> None:
    body = run_input(None, messages=[
        {"id": "s", "role": "system", "content": "Speak like a pirate."},
        {"id": "u", "role": "user", "content": "hi"}],
        context=[{"description": "the user's name", "value": "Ada"}])
    run(served.url, "claude", body)
    sent = llm.requests[-1]
    assert sent["system"] == ("You are the shop's assistant.\n\nThe user has provided the following "
                              "context:\n- the user's name: Ada\n\nSpeak like a pirate.")
    assert [m["role"] for m in sent["messages"]] == ["user"]


def test_tool_calls_and_results_become_blocks_with_results_in_one_user_turn(
        served: Any, llm: FakeLLMServer) -> None:
    body = run_input(None, messages=[
        {"id": "a0", "role": "assistant", "content": "Hi! How can I help?"},
        {"id": "u1", "role": "user", "content": "colors please"},
        {"id": "a1", "role": "assistant", "content": "Setting both.", "toolCalls": [
            {"id": "call:1", "type": "function", "function": {"name": "setColor", "arguments": '{"color": "red"}'}},
            {"id": "call-2", "type": "function", "function": {"name": "setColor", "arguments": '{"color": "blue"}'}}]},
        {"id": "t1", "role": "tool", "toolCallId": "call:1", "content": "red set"},
        {"id": "t2", "role": "tool", "toolCallId": "call-2", "content": "blue set"},
        {"id": "u2", "role": "user", "content": "thanks"}], tools=[SET_COLOR])
    run(served.url, "claude", body)
    sent = llm.requests[-1]
    # The app's greeting cannot open the conversation (the API wants the user first).
    assert sent["system"].endswith("You opened the conversation with: Hi! How can I help?")
    assert sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "colors please"}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Setting both."},
            {"type": "tool_use", "id": "call_1", "name": "setColor", "input": {"color": "red"}},
            {"type": "tool_use", "id": "call-2", "name": "setColor", "input": {"color": "blue"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "red set"},
            {"type": "tool_result", "tool_use_id": "call-2", "content": "blue set"},
            {"type": "text", "text": "thanks"}]},
    ]
    assert sent["tools"][-1] == {"name": "setColor", "description": "Set the page color",
                                 "input_schema": SET_COLOR["parameters"]}


def test_images_are_sent_as_base64_and_url_blocks(served: Any, llm: FakeLLMServer) -> None:
    body = run_input(None, messages=[{"id": "u", "role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image", "source": {"type": "data", "value": "iVBORw0KGgo=", "mimeType": "image/png"}},
        {"type": "image", "source": {"type": "url", "value": "data:image/jpeg;base64,/9j/4AAQ"}},
        {"type": "image", "source": {"type": "url", "value": "https://example.com/cat.webp"}}]}])
    run(served.url, "claude", body)
    assert llm.requests[-1]["messages"][0]["content"] == [
        {"type": "text", "text": "what is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.webp"}},
    ]


@pytest.mark.parametrize("forwarded, expected", [
    ({"toolChoice": "required"}, {"type": "any"}),
    ({"toolChoice": "none"}, {"type": "none"}),
    ({"toolChoice": "function", "toolChoiceFunctionName": "setColor"}, {"type": "tool", "name": "setColor"}),
    ({"toolChoice": "auto"}, None),
])
def test_tool_choice_maps_to_anthropic(served: Any, llm: FakeLLMServer, forwarded: dict[str, Any],
                                       expected: Any) -> None:
    llm.script(Turn(text="ok"))
    run(served.url, "claude", run_input("hi", tools=[SET_COLOR], forwardedProps=forwarded))
    assert llm.requests[-1].get("tool_choice") == expected


def test_forwarded_settings_reach_the_model(served: Any, llm: FakeLLMServer) -> None:
    llm.script(Turn(text="ok"))
    run(served.url, "claude", run_input("hi", forwardedProps={
        "model": "claude-other", "maxTokens": 77, "stop": ["END"], "temperature": 1.6}))
    sent = llm.requests[-1]
    assert (sent["model"], sent["max_tokens"], sent["stop_sequences"]) == ("claude-other", 77, ["END"])
    assert sent["temperature"] == 1.0  # Anthropic's range is 0..1


def test_a_frontend_action_ends_the_run_and_the_follow_up_continues(
        served: Any, llm: FakeLLMServer) -> None:
    thread = f"t-{uuid.uuid4()}"
    first = run(served.url, "claude", run_input("please setColor red", thread_id=thread, tools=[SET_COLOR]))
    kinds = types(first)
    assert kinds[:2] == ["RUN_STARTED", "TOOL_CALL_START"]
    assert kinds[-2:] == ["TOOL_CALL_END", "RUN_FINISHED"]
    assert set(kinds[2:-2]) == {"TOOL_CALL_ARGS"} and len(kinds[2:-2]) > 1  # streamed in pieces
    start = first[1]
    assert start["toolCallName"] == "setColor" and start["toolCallId"].startswith("toolu_")
    assert "".join(e["delta"] for e in first if e["type"] == "TOOL_CALL_ARGS") == '{"color": "red"}'
    assert len(llm.requests) == 1  # the frontend executes it, not the runtime

    follow = run(served.url, "claude", run_input(None, thread_id=thread, tools=[SET_COLOR], messages=[
        {"id": "u1", "role": "user", "content": "please setColor red"},
        {"id": "a1", "role": "assistant", "toolCalls": [{"id": start["toolCallId"], "type": "function",
                                                         "function": {"name": "setColor", "arguments": '{"color": "red"}'}}]},
        {"id": "t1", "role": "tool", "toolCallId": start["toolCallId"], "content": "color set to red"}]))
    assert text_of(follow) == "The action returned: color set to red"
    assert llm.requests[-1]["messages"][-1] == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": start["toolCallId"], "content": "color set to red"}]}


def test_a_backend_action_loop_of_two_rounds_then_an_answer(served: Any, llm: FakeLLMServer) -> None:
    llm.script(Turn(tool_calls=[("lookup_order", {"order_id": 7})]),
               Turn(text="Checking the other one.", tool_calls=[("lookup_order", {"order_id": 8})]),
               Turn(text="Order 7 shipped; order 8 is packing."))
    events = run(served.url, "claude-lookup", run_input("where are orders 7 and 8?"))
    results = [e for e in events if e["type"] == "TOOL_CALL_RESULT"]
    assert [r["content"] for r in results] == ["order 7 is shipped", "order 8 is packing"]
    assert text_of(events) == "Checking the other one.Order 7 shipped; order 8 is packing."
    assert types(events)[-1] == "RUN_FINISHED"
    assert len(llm.requests) == 3
    # Only the action this agent may call is offered.
    assert [t["name"] for t in llm.requests[0]["tools"]] == ["lookup_order"]
    third = llm.requests[2]["messages"]
    assert [m["role"] for m in third] == ["user", "assistant", "user", "assistant", "user"]
    assert third[1]["content"][0]["type"] == "tool_use"
    assert third[2]["content"][0] == {"type": "tool_result", "tool_use_id": third[1]["content"][0]["id"],
                                      "content": "order 7 is shipped"}
    assert third[3]["content"][0] == {"type": "text", "text": "Checking the other one."}
    assert third[4]["content"][0]["content"] == "order 8 is packing"


def test_an_action_that_raises_is_a_result_the_model_reads(
        served: Any, llm: FakeLLMServer, caplog: pytest.LogCaptureFixture) -> None:
    llm.script(Turn(tool_calls=[("explode", {"reason": "disk full"})]))
    with caplog.at_level("WARNING", logger="copilotkit_runtime.llm"):
        events = run(served.url, "claude", run_input("explode now"))
    result = next(e for e in events if e["type"] == "TOOL_CALL_RESULT")
    assert result["content"] == "Error: action 'explode' failed: RuntimeError: boom: disk full"
    # The fake answers a tool result with what it read: the model saw the error.
    assert text_of(events) == f"The action returned: {result['content']}"
    assert types(events)[-1] == "RUN_FINISHED"
    assert any("explode raised RuntimeError" in r.getMessage() for r in caplog.records)
