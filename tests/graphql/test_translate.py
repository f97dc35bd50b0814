"""AG-UI events → v1 output objects (the pure translation layer)."""

from __future__ import annotations

import json
from typing import Any

from ag_ui.core import AssistantMessage, MessagesSnapshotEvent, ToolMessage, UserMessage

from copilotkit_runtime.events import (
    AGENT_STATE_EVENT,
    COPILOTKIT_INTERRUPT_EVENT,
    EXIT_EVENT,
    INTERRUPT_EVENT,
    CustomEvent,
    RunErrorEvent,
    RunFinishedEvent,
    RunStartedEvent,
    StateDeltaEvent,
    StateSnapshotEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallResultEvent,
    text_message,
    tool_call,
)
from copilotkit_runtime.graphql.translate import (
    OP_CHUNK,
    OP_DONE,
    OP_MESSAGE,
    OP_MESSAGE_END,
    OP_META,
    Translator,
    unknown_failure,
)

SUCCESS = {"__typename": "SuccessMessageStatus", "code": "Success"}
NOW = "2026-11-22T02:09:29.570Z"


def translator(**kwargs: Any) -> Translator:
    ids = iter(range(1000))
    defaults: dict[str, Any] = {"thread_id": "t1", "run_id": "r1", "agent_name": "agent",
                                "clock": lambda: NOW, "make_id": lambda: f"ck-{next(ids)}"}
    return Translator(**{**defaults, **kwargs})


def kinds(ops: list[tuple[Any, ...]]) -> list[int]:
    return [op[0] for op in ops]


def finished() -> list[Any]:
    return [RunFinishedEvent(thread_id="t1", run_id="r1")]


def test_a_text_message_streams_its_chunks_then_succeeds() -> None:
    t = translator(emit_state=False)
    ops = t.feed([RunStartedEvent(thread_id="t1", run_id="r1"), *text_message(["Hel", "lo"], "m1")])
    assert kinds(ops) == [OP_MESSAGE, OP_CHUNK, OP_CHUNK, OP_MESSAGE_END]
    [msg] = t.messages
    assert msg.fields == {"__typename": "TextMessageOutput", "id": "m1", "createdAt": NOW,
                          "status": SUCCESS, "role": "assistant", "content": ["Hel", "lo"],
                          "parentMessageId": None}
    assert [op[2] for op in ops if op[0] == OP_CHUNK] == ["Hel", "lo"]
    assert t.feed(finished()) == [(OP_DONE, {"__typename": "SuccessResponseStatus", "code": "Success"})]


def test_a_tool_call_becomes_an_action_execution_with_streamed_arguments() -> None:
    t = translator(emit_state=False)
    t.feed(tool_call("setColor", ['{"c":', '"red"}'], tool_call_id="tc1", parent_message_id="p1"))
    [msg] = t.messages
    assert msg.fields["__typename"] == "ActionExecutionMessageOutput"
    assert (msg.fields["id"], msg.fields["name"], msg.fields["parentMessageId"]) == ("tc1", "setColor", "p1")
    assert msg.fields["arguments"] == ['{"c":', '"red"}'] and msg.status == SUCCESS


def test_a_tool_result_names_its_action() -> None:
    t = translator(emit_state=False, action_names={"old": "fromInput"})
    t.feed([*tool_call("lookup", "{}", tool_call_id="tc1"),
            ToolCallResultEvent(message_id="r1", tool_call_id="tc1", content="found"),
            ToolCallResultEvent(message_id="r2", tool_call_id="old", content="ok")])
    results = [m.fields for m in t.messages if m.typename == "ResultMessageOutput"]
    assert [(r["actionName"], r["result"], r["status"]) for r in results] == [
        ("lookup", "found", SUCCESS), ("fromInput", "ok", SUCCESS)]


def test_state_messages_follow_steps_and_snapshots_like_the_reference() -> None:
    t = translator(state={"start": 1, "messages": ["dropped"]})
    t.feed([StepStartedEvent(step_name="node_a"),
            StateSnapshotEvent(snapshot={"n": 1, "messages": []}),
            *text_message("hi", "m1"),
            StepFinishedEvent(step_name="node_a"),
            *finished()])
    states = [m.fields for m in t.messages if m.typename == "AgentStateMessageOutput"]
    assert [(s["nodeName"], s["active"], s["running"], json.loads(s["state"])) for s in states] == [
        ("node_a", True, True, {"start": 1}),
        ("node_a", True, True, {"n": 1}),
        ("node_a", False, True, {"n": 1}),
        ("node_a", False, True, {"n": 1}),  # the last one, at RUN_FINISHED
    ]
    assert all(s["threadId"] == "t1" and s["runId"] == "r1" and s["agentName"] == "agent"
               and s["role"] == "assistant" and s["status"] == SUCCESS for s in states)
    assert len({s["id"] for s in states}) == 4


def test_without_an_agent_session_no_state_messages_are_sent() -> None:
    t = translator(emit_state=False)
    t.feed([StepStartedEvent(step_name="a"), StateSnapshotEvent(snapshot={"n": 1}),
            *text_message("hi"), *finished()])
    assert [m.typename for m in t.messages] == ["TextMessageOutput"]


def test_a_state_delta_is_applied_to_the_tracked_state() -> None:
    t = translator(state={"items": [1]})
    t.feed([StateDeltaEvent(delta=[{"op": "add", "path": "/items/-", "value": 2}])])
    assert json.loads(t.messages[-1].fields["state"]) == {"items": [1, 2]}
    t.feed([StateDeltaEvent(delta=[{"op": "remove", "path": "/missing"}])])  # does not apply
    assert len(t.messages) == 1


def test_a_messages_snapshot_is_sent_in_the_json_shape_react_core_loads() -> None:
    t = translator(state={"n": 1})
    snapshot = MessagesSnapshotEvent(messages=[
        UserMessage(id="u1", content="hi"),
        AssistantMessage(id="a1", content="calling", tool_calls=[
            {"id": "tc1", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}}]),
        ToolMessage(id="tm1", content="done", tool_call_id="tc1")])
    t.feed([snapshot, *finished()])
    final = json.loads(t.messages[-1].fields["state"])
    assert final["n"] == 1
    assert final["messages"] == [
        {"id": "u1", "role": "user", "content": "hi"},
        {"id": "a1", "role": "assistant", "content": "calling"},
        {"id": "tc1", "name": "f", "arguments": {"x": 1}, "parentMessageId": "a1"},
        {"id": "tm1", "result": "done", "actionExecutionId": "tc1", "actionName": "f"},
    ]


def test_custom_events_set_node_activity_and_running() -> None:
    t = translator(state={"k": 1})
    t.feed([CustomEvent(name=AGENT_STATE_EVENT, value={"nodeName": "n2", "active": False}),
            StateSnapshotEvent(snapshot={"k": 2}),
            CustomEvent(name=EXIT_EVENT, value={}),
            *finished()])
    first, last = (m.fields for m in t.messages)
    assert (first["nodeName"], first["active"], first["running"]) == ("n2", False, True)
    assert (last["nodeName"], last["active"], last["running"]) == ("n2", False, False)


def test_an_interrupt_is_a_langgraph_interrupt_meta_event() -> None:
    t = translator()
    ops = t.feed([CustomEvent(name=INTERRUPT_EVENT, value={"question": "Delete?", "id": 1}),
                  CustomEvent(name=INTERRUPT_EVENT, value="plain text")])
    assert kinds(ops) == [OP_META, OP_META]
    assert t.meta_events == [
        {"__typename": "LangGraphInterruptEvent", "type": "MetaEvent",
         "name": "LangGraphInterruptEvent", "value": '{"question": "Delete?", "id": 1}',
         "response": None},
        {"__typename": "LangGraphInterruptEvent", "type": "MetaEvent",
         "name": "LangGraphInterruptEvent", "value": "plain text", "response": None},
    ]


def test_a_copilotkit_interrupt_carries_its_messages() -> None:
    t = translator()
    t.feed([CustomEvent(name=COPILOTKIT_INTERRUPT_EVENT, value={
        "value": "Proceed?",
        "messages": [{"id": "q1", "role": "assistant", "content": "Proceed?"},
                     {"id": "a1", "name": "confirm", "arguments": {"ok": True}}]})])
    [meta] = t.meta_events
    assert meta["__typename"] == "CopilotKitLangGraphInterruptEvent"
    assert meta["data"]["value"] == "Proceed?"
    text, action = meta["data"]["messages"]
    assert (text["__typename"], text["content"], text["status"]) == ("TextMessageOutput", ["Proceed?"], SUCCESS)
    assert (action["__typename"], action["name"], action["arguments"]) == (
        "ActionExecutionMessageOutput", "confirm", ['{"ok":true}'])


def test_a_failing_run_fails_the_message_it_cut_off_and_the_response() -> None:
    t = translator(emit_state=False)
    t.feed([TextMessageStartEvent(message_id="m1", role="assistant"),
            TextMessageContentEvent(message_id="m1", delta="part")])
    # What the engine sends when the provider raises: the open message closed, then RUN_ERROR.
    ops = t.feed([TextMessageEndEvent(message_id="m1"),
                  RunErrorEvent(message="Agent 'a' failed: RuntimeError: boom", code="AGENT_ERROR")])
    assert kinds(ops) == [OP_MESSAGE_END, OP_DONE]
    assert t.messages[0].status == {"__typename": "FailedMessageStatus", "code": "Failed",
                                    "reason": "Error streaming message content"}
    status = ops[-1][1]
    assert (status["__typename"], status["reason"]) == ("FailedResponseStatus", "UNKNOWN_ERROR")
    assert status["details"]["description"] == "Agent 'a' failed: RuntimeError: boom"


def test_a_message_finished_before_the_error_stays_successful() -> None:
    t = translator(emit_state=False)
    t.feed(text_message("complete", "m1"))
    t.feed([RunErrorEvent(message="later", code="AGENT_ERROR")])
    assert t.messages[0].status == SUCCESS


def test_error_codes_map_to_the_reference_reasons() -> None:
    for code, reason in [("GUARDRAILS_VALIDATION_FAILED", "GUARDRAILS_VALIDATION_FAILED"),
                         ("THREAD_LOCK_LOST", "MESSAGE_STREAM_INTERRUPTED"),
                         ("INVALID_EVENT_STREAM", "MESSAGE_STREAM_INTERRUPTED"),
                         ("PROVIDER_SPECIFIC", "UNKNOWN_ERROR"), (None, "UNKNOWN_ERROR")]:
        t = translator()
        [(_, status)] = t.feed([RunErrorEvent(message="no", code=code)])
        assert status["reason"] == reason, code
    t = translator()
    [(_, status)] = t.feed([RunErrorEvent(message="Not that topic", code="GUARDRAILS_VALIDATION_FAILED")])
    assert status["details"] == {"guardrailsReason": "Not that topic"}


def test_fail_ends_a_response_whose_run_went_away() -> None:
    t = translator(emit_state=False)
    t.feed([TextMessageStartEvent(message_id="m1", role="assistant")])
    ops = t.fail(unknown_failure("gone"))
    assert kinds(ops) == [OP_MESSAGE_END, OP_DONE]
    assert t.messages[0].status["__typename"] == "FailedMessageStatus"
    assert t.fail(unknown_failure("again")) == []


def test_events_after_the_end_are_ignored() -> None:
    t = translator(emit_state=False)
    t.feed(finished())
    assert t.feed([CustomEvent(name=INTERRUPT_EVENT, value="late")]) == []
