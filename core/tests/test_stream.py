"""The stream validator: what providers may omit, and what is a violation."""

from __future__ import annotations

import pytest
from ag_ui.core import (
    RunFinishedEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallStartEvent,
)

from copilotkit_runtime.stream import StreamValidator, StreamViolation


def kinds(events: list) -> list[str]:
    return [e.type.value for e in events]


def test_missing_start_and_finish_are_added_and_open_things_closed() -> None:
    v = StreamValidator("t", "r")
    out = v.feed(StepStartedEvent(step_name="node"))
    out += v.feed(TextMessageStartEvent(message_id="m", role="assistant"))
    out += v.feed(ToolCallStartEvent(tool_call_id="c", tool_call_name="f"))
    out += v.finish()
    assert kinds(out) == ["RUN_STARTED", "STEP_STARTED", "TEXT_MESSAGE_START", "TOOL_CALL_START",
                          "TEXT_MESSAGE_END", "TOOL_CALL_END", "STEP_FINISHED", "RUN_FINISHED"]
    assert out[-1].thread_id == "t" and out[-1].run_id == "r"


@pytest.mark.parametrize("events, message", [
    ([TextMessageContentEvent(message_id="x", delta="a")], "was not started"),
    ([TextMessageEndEvent(message_id="x")], "was not started"),
    ([TextMessageStartEvent(message_id="m"), TextMessageStartEvent(message_id="m")], "already open"),
    ([ToolCallArgsEvent(tool_call_id="c", delta="{")], "was not started"),
    ([StepStartedEvent(step_name="s"), StepStartedEvent(step_name="s")], "already active"),
    ([StepFinishedEvent(step_name="s")], "not active"),
    ([RunFinishedEvent(thread_id="t", run_id="r"), TextMessageStartEvent(message_id="m")], "after the run had ended"),
])
def test_violations(events: list, message: str) -> None:
    v = StreamValidator("t", "r")
    with pytest.raises(StreamViolation, match=message):
        for event in events:
            v.feed(event)


def test_fail_closes_and_ends_with_run_error_once() -> None:
    v = StreamValidator("t", "r")
    v.feed(TextMessageStartEvent(message_id="m"))
    out = v.fail("boom", "AGENT_ERROR")
    assert kinds(out) == ["TEXT_MESSAGE_END", "RUN_ERROR"]
    assert v.fail("again", "X") == [] and v.finish() == []
