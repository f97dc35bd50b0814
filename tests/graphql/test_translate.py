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
    ToolCallArgsEvent,
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


def states_of(t: Translator) -> list[tuple[str, bool, bool, Any]]:
    return [(m.fields["nodeName"], m.fields["active"], m.fields["running"], json.loads(m.fields["state"]))
            for m in t.messages if m.typename == "AgentStateMessageOutput"]


def facts(node: str, active: bool, running: bool = True) -> CustomEvent:
    return CustomEvent(name=AGENT_STATE_EVENT, value={"nodeName": node, "active": active, "running": running})


def test_steps_of_a_provider_without_state_facts_become_state_messages() -> None:
    t = translator(state={"start": 1, "messages": ["dropped"]})
    t.feed([StepStartedEvent(step_name="node_a"),
            StateSnapshotEvent(snapshot={"n": 1, "messages": []}),
            *text_message("hi", "m1"),
            StepFinishedEvent(step_name="node_a"),
            StepStartedEvent(step_name="node_b"),
            StepFinishedEvent(step_name="node_b"),
            *finished()])
    assert [m.typename for m in t.messages][:2] == ["AgentStateMessageOutput", "TextMessageOutput"]
    assert states_of(t) == [
        ("node_a", True, True, {"n": 1}),  # the snapshot right after the start is its state
        ("node_a", False, True, {"n": 1}),
        ("node_b", True, True, {"n": 1}),
        ("node_b", False, True, {"n": 1}),  # the step's end is the last message, at RUN_FINISHED
    ]
    states = [m.fields for m in t.messages if m.typename == "AgentStateMessageOutput"]
    assert all(s["threadId"] == "t1" and s["runId"] == "r1" and s["agentName"] == "agent"
               and s["role"] == "assistant" and s["status"] == SUCCESS for s in states)
    assert len({s["id"] for s in states}) == 4


def test_state_facts_make_the_state_syncs_of_the_sdk() -> None:
    """What the LangGraph provider sends for a one-node run, and the five state messages of the
    reference (transcripts-langgraph, scenario ``text``)."""
    t = translator()
    start = {"copilotkit": {"actions": []}}
    t.feed([StepStartedEvent(step_name="__start__"), facts("__start__", True),
            StateSnapshotEvent(snapshot=start),
            StepFinishedEvent(step_name="__start__"), facts("__start__", False),
            StepStartedEvent(step_name="chat"), facts("chat", True),
            *text_message("hi", "m1"),
            StepFinishedEvent(step_name="chat"), facts("chat", False)])
    t.feed([MessagesSnapshotEvent(messages=[UserMessage(id="u1", content="yo"),
                                            AssistantMessage(id="m1", content="hi")]),
            facts("__end__", False), StateSnapshotEvent(snapshot=start)])
    t.feed(finished())
    final = {**start, "messages": [{"id": "u1", "role": "user", "content": "yo"},
                                   {"id": "m1", "role": "assistant", "content": "hi"}]}
    assert states_of(t) == [("__start__", True, True, start), ("__start__", False, True, start),
                            ("chat", True, True, start), ("chat", False, True, start),
                            ("__end__", False, True, final)]
    assert [m.typename for m in t.messages].index("TextMessageOutput") == 3


def test_each_state_change_inside_a_node_is_a_state_message() -> None:
    """An emitted state, predictive state: one message per change, none for repeats."""
    t = translator()
    t.feed([facts("plan", True), StateSnapshotEvent(snapshot={"todos": []})])
    for todos in ([1], [1], [1, 2]):
        t.feed([facts("plan", True), StateSnapshotEvent(snapshot={"todos": todos})])
    t.feed([facts("plan", True)])
    assert states_of(t) == [("plan", True, True, {"todos": []}), ("plan", True, True, {"todos": [1]}),
                            ("plan", True, True, {"todos": [1, 2]})]


def test_a_node_that_starts_and_works_quietly_is_shown_at_once() -> None:
    t = translator()
    ops = t.feed([StepStartedEvent(step_name="slow"), facts("slow", True)])
    assert [op[1].fields["nodeName"] for op in ops if op[0] == OP_MESSAGE] == ["slow"]
    # An ending is held until the next event: it may still get its state, or be the last message.
    assert t.feed([StepFinishedEvent(step_name="slow"), facts("slow", False)]) == []
    t.feed([StateSnapshotEvent(snapshot={"done": True}), *finished()])
    assert states_of(t) == [("slow", True, True, {}), ("slow", False, True, {"done": True})]


def test_a_messages_snapshot_has_no_state_message_of_its_own() -> None:
    t = translator(state={"k": 1})
    assert t.feed([MessagesSnapshotEvent(messages=[UserMessage(id="u1", content="hi")])]) == []
    t.feed(finished())
    assert states_of(t) == [("", False, True, {"k": 1, "messages": [
        {"id": "u1", "role": "user", "content": "hi"}]})]


def test_meta_events_come_before_the_last_state_message() -> None:
    t = translator()
    ops = t.feed([facts("ask", True), facts("ask", False), StateSnapshotEvent(snapshot={"q": 1}),
                  CustomEvent(name=INTERRUPT_EVENT, value={"question": "Delete?"})])
    ops += t.feed(finished())
    assert [op[0] for op in ops if op[0] in (OP_MESSAGE, OP_META)] == [OP_MESSAGE, OP_META, OP_MESSAGE]
    assert states_of(t) == [("ask", True, True, {}), ("ask", False, True, {"q": 1})]


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


PREDICT_TODOS = CustomEvent(name="PredictState",
                            value=[{"state_key": "todos", "tool": "SetTodos", "tool_argument": "todos"}])


def test_predict_state_shows_streamed_tool_arguments_as_state() -> None:
    t = translator(state={"todos": []})
    t.feed([StepStartedEvent(step_name="plan"), PREDICT_TODOS,
            *tool_call("SetTodos", ['{"todos": [{"id": "a", "ti', 'tle": "Wri', 'te"}, {"i', 'd": "b"}]}'],
                       tool_call_id="tc1"),
            *tool_call("Other", ['{"todos": [1]}'], tool_call_id="tc2"),
            StepFinishedEvent(step_name="plan"),
            *tool_call("SetTodos", ['{"todos": []}'], tool_call_id="tc3"),  # the step ended
            *finished()])
    assert states_of(t) == [
        ("plan", True, True, {"todos": []}),
        ("plan", True, True, {"todos": [{"id": "a"}]}),
        ("plan", True, True, {"todos": [{"id": "a", "title": "Wri"}]}),
        ("plan", True, True, {"todos": [{"id": "a", "title": "Write"}, {}]}),
        ("plan", True, True, {"todos": [{"id": "a", "title": "Write"}, {"id": "b"}]}),
        ("plan", False, True, {"todos": [{"id": "a", "title": "Write"}, {"id": "b"}]}),
        ("plan", False, True, {"todos": [{"id": "a", "title": "Write"}, {"id": "b"}]}),  # the last
    ]
    kinds_in_order = [m.typename for m in t.messages]
    assert kinds_in_order[1] == "ActionExecutionMessageOutput"  # each state follows its arguments


def test_a_providers_own_predicted_snapshot_is_not_doubled() -> None:
    """The CrewAI provider predicts itself: a STATE_SNAPSHOT right after each argument chunk."""
    t = translator(state={"steps": []})
    t.feed([StepStartedEvent(step_name="plan"), PREDICT_TODOS,
            *tool_call("SetTodos", [], tool_call_id="tc1")[:1]])
    for chunk, steps in (('{"todos": ["res', ["res"]), ('earch", "wr', ["research", "wr"])):
        t.feed([ToolCallArgsEvent(tool_call_id="tc1", delta=chunk),
                StateSnapshotEvent(snapshot={"steps": [], "todos": steps})])
    assert [s[3]["todos"] for s in states_of(t) if "todos" in s[3]] == [["res"], ["research", "wr"]]


def test_exit_marks_only_the_last_state_message_as_not_running() -> None:
    t = translator(state={"k": 1})
    t.feed([facts("bye", True),
            CustomEvent(name=EXIT_EVENT, value={}),
            StateSnapshotEvent(snapshot={"k": 2}),
            *text_message("Goodbye", "m1"),
            facts("bye", False),
            *finished()])
    assert states_of(t) == [("bye", True, True, {"k": 2}), ("bye", False, False, {"k": 2})]


def test_state_facts_can_say_the_agent_stopped() -> None:
    t = translator(state={"k": 1})
    t.feed([facts("n2", False, running=False), *finished()])
    assert states_of(t) == [("n2", False, False, {"k": 1})]


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
