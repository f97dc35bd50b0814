"""Streaming a graph run as AG-UI events: tokens, tool calls, steps, state, custom events."""

from __future__ import annotations

import asyncio
import json

import lg_test_graphs
import pytest
from ag_ui.core import EventType, ResumeEntry, Tool
from lg_helpers import Client, Turn, user

pytestmark = pytest.mark.anyio

CONFETTI = Tool(name="showConfetti", description="Celebrate in the app",
                parameters={"type": "object", "properties": {"color": {"type": "string"},
                                                             "amount": {"type": "number"}}})


def agent(factory: str, **options: object) -> dict[str, object]:
    return {"provider": "langgraph", "graph": f"lg_test_graphs:{factory}", **options}


async def test_tokens_are_sent_while_the_model_is_still_producing(runtimes) -> None:
    runtime = await runtimes({"gated": agent("make_gated_graph")})
    gate = lg_test_graphs.GATES.setdefault("stream please", asyncio.Event())
    client = Client(runtime, "gated")
    client.messages.append(user("stream please"))
    run = await runtime.engine.start(client.request())
    events = []
    async for event in run.events():
        events.append(event)
        if event.type is EventType.TEXT_MESSAGE_CONTENT and not gate.is_set():
            # The first token is here and the model is blocked before its second one.
            assert event.delta == "one"
            gate.set()
    turn = Turn(events)
    assert [e.delta for e in turn.of(EventType.TEXT_MESSAGE_CONTENT)] == ["one", " two", " three", " four"]
    assert turn.last.type is EventType.RUN_FINISHED


async def test_generic_fake_chat_model_tokens_become_one_text_message(runtimes) -> None:
    runtime = await runtimes({"chat": agent("make_chat_graph")})
    turn = await Client(runtime, "chat").send("hi")

    [(message_id, text)] = turn.texts.items()
    assert text == "Hello from the graph, answer number 1."
    assert len(turn.of(EventType.TEXT_MESSAGE_CONTENT)) > 5
    assert turn.messages[-1] == {"id": message_id, "role": "assistant", "content": text}
    # A plain START edge runs no __start__ node; the chat node is the one step.
    assert [e.step_name for e in turn.of(EventType.STEP_STARTED)] == ["chat"]
    assert [e.step_name for e in turn.of(EventType.STEP_FINISHED)] == ["chat"]


async def test_backend_tool_call_streams_its_arguments_and_the_graph_continues(runtimes) -> None:
    runtime = await runtimes({"tools": agent("make_tools_graph")})
    turn = await Client(runtime, "tools").send("what is the weather")

    [call] = turn.tool_calls
    assert call["name"] == "get_weather"
    assert json.loads(call["args"]) == {"city": "Paris"}
    assert len(call["chunks"]) == 3
    types = turn.types
    # The text before the call is its own message, ended before the call starts.
    assert types.index("TEXT_MESSAGE_END") < types.index("TOOL_CALL_START")
    assert list(turn.texts.values()) == ["Let me check.", "The tool said: Sunny in Paris"]
    assert [e.step_name for e in turn.of(EventType.STEP_STARTED)] == ["agent", "tools", "agent"]
    roles = [m["role"] for m in turn.messages]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert turn.messages[1]["id"] == call["parent"]
    assert turn.messages[1]["content"] == "Let me check."
    assert turn.messages[2]["toolCallId"] == call["id"]
    # The tool's result is announced when the tool node finishes, with the checkpoint's id.
    [result] = turn.of(EventType.TOOL_CALL_RESULT)
    assert (result.message_id, result.tool_call_id, result.content) == (
        turn.messages[2]["id"], call["id"], "Sunny in Paris")
    assert turn.types.index("TOOL_CALL_RESULT") < turn.types.index("TEXT_MESSAGE_START", turn.types.index("TOOL_CALL_END"))


async def test_frontend_action_round_trip_in_a_plain_graph(runtimes) -> None:
    runtime = await runtimes({"tools": agent("make_tools_graph")})
    client = Client(runtime, "tools", tools=[CONFETTI])
    turn = await client.send("confetti please")

    [call] = turn.tool_calls
    assert (call["name"], json.loads(call["args"])) == ("showConfetti", {"color": "gold", "amount": 3})
    assert turn.last.type is EventType.RUN_FINISHED
    assert [e.step_name for e in turn.of(EventType.STEP_STARTED)] == ["agent"]

    client.answer_tool_call(call["id"], "confetti shown")
    follow_up = await client.send()
    assert follow_up.text == "The tool said: confetti shown"
    assert [m["role"] for m in follow_up.messages] == ["user", "assistant", "tool", "assistant"]


async def test_a_model_that_does_not_stream_is_sent_whole(runtimes) -> None:
    runtime = await runtimes({"whole": agent("make_unstreamed_graph")})
    turn = await Client(runtime, "whole").send("hi")

    assert turn.text == "All at once."
    [call] = turn.tool_calls
    assert (call["name"], json.loads(call["args"]), call["id"]) == ("showConfetti", {"color": "red"}, "call_whole")
    assert turn.messages[-1]["id"] == call["parent"]


async def test_a_graph_without_messages_takes_state_in_and_gives_it_back(runtimes) -> None:
    runtime = await runtimes({"counter": agent("make_counter_graph")})
    client = Client(runtime, "counter", state={"count": 5, "not_in_the_schema": True})
    turn = await client.send()

    assert turn.state == {"count": 6, "log": ["bumped to 6"]}
    assert turn.messages is None  # no MESSAGES_SNAPSHOT: nothing to say about messages
    turn = await client.send()
    assert turn.state == {"count": 7, "log": ["bumped to 6", "bumped to 7"]}


async def test_custom_events_and_two_interrupts_answered_in_turn(runtimes) -> None:
    runtime = await runtimes({"approve": agent("make_approval_graph")})
    client = Client(runtime, "approve")
    turn = await client.send("start")

    assert turn.custom("progress") == [{"percent": 10}]
    assert turn.custom("on_interrupt") == [{"question": "Approve step one?"}]
    assert turn.agent_states[-1]["nodeName"] == "approve"

    # The legacy AG-UI way of answering: forwardedProps.command.resume.
    turn = await client.send(forwarded_props={"command": {"resume": "ok-1"}})
    assert turn.custom("on_interrupt") == ["Approve step two?"]
    [pending] = turn.last.outcome.interrupts
    assert pending.message == "Approve step two?"

    turn = await client.send(resume=[ResumeEntry(interrupt_id=pending.id, status="resolved",
                                                 payload="ok-2")])
    assert turn.custom("on_interrupt") == []
    assert turn.state["approved"] == ["ok-1", "ok-2"]
    assert turn.text == "Done."
    assert turn.agent_states[-1]["nodeName"] == "__end__"


async def test_a_cancelled_interrupt_lets_the_next_message_start_over(runtimes) -> None:
    runtime = await runtimes({"approve": agent("make_approval_graph")})
    client = Client(runtime, "approve")
    turn = await client.send("start")
    [pending] = turn.last.outcome.interrupts

    client.messages.append(user("never mind"))
    turn = await client.send(resume=[ResumeEntry(interrupt_id=pending.id, status="cancelled")])
    # A fresh run from START: the node asks its first question again.
    assert turn.custom("on_interrupt") == [{"question": "Approve step one?"}]


async def test_run_config_carries_the_thread_and_the_configured_defaults(runtimes) -> None:
    runtime = await runtimes({"chat": agent("make_chat_graph", config={
        "recursion_limit": 7, "configurable": {"model": "fake", "thread_id": "not-this"}})})
    provider = runtime.providers["chat"]
    client = Client(runtime, "chat")
    request = client.request()
    request.config = {"configurable": {"user": "ada"}, "recursion_limit": 9}
    config = provider.run_config(request)
    assert config == {"recursion_limit": 9, "configurable": {
        "model": "fake", "user": "ada", "thread_id": client.thread_id,
        "principal": None, "properties": {}, "headers": {}}}


async def test_a_graph_stopped_at_a_breakpoint_continues_when_the_client_runs_it_again(runtimes) -> None:
    runtime = await runtimes({"bp": agent("make_breakpoint_graph")})
    client = Client(runtime, "bp")
    turn = await client.send("what is the weather")
    assert turn.agent_states[-1]["nodeName"] == "tools"
    assert turn.text == "Let me check."

    turn = await client.send()  # no new message, nodeName "tools": continue
    assert [e.step_name for e in turn.of(EventType.STEP_STARTED)] == ["tools", "agent"]
    assert turn.text == "The tool said: Sunny in Paris"
    assert turn.agent_states[-1]["nodeName"] == "__end__"


async def test_emit_metadata_filters_text_and_tool_calls(runtimes) -> None:
    runtime = await runtimes({"filtered": agent("make_filtered_graph")})
    turn = await Client(runtime, "filtered").send("go")

    assert turn.text == ""
    assert [c["name"] for c in turn.tool_calls] == ["visible"]
    # Hidden from the stream, not from the thread.
    [message] = [m for m in turn.messages if m["role"] == "assistant"]
    assert message["content"] == "hidden words"
    assert [c["function"]["name"] for c in message["toolCalls"]] == ["secret", "visible"]


async def test_a_subgraph_streams_its_tokens_under_the_parent_step(runtimes) -> None:
    runtime = await runtimes({"parent": agent("make_parent_graph")})
    turn = await Client(runtime, "parent").send("hi")

    assert turn.text == "Hello from the graph, answer number 1."
    # The subgraph's node is a step inside the parent's.
    assert [e.step_name for e in turn.of(EventType.STEP_STARTED)] == ["delegate", "chat"]
    assert [e.step_name for e in turn.of(EventType.STEP_FINISHED)] == ["chat", "delegate"]
    assert turn.messages[-1]["content"] == turn.text
