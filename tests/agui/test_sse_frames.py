"""The SSE frames of streamed deltas are written by hand (``sse._delta_frame``) for speed: they
must be byte for byte what pydantic writes for the same event, for any text."""

from __future__ import annotations

import json

from ag_ui.core import (
    TextMessageContentEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from copilotkit_runtime.agui import sse


def pydantic_frame(event: object) -> bytes:
    return b"data: " + sse._event_json(event) + b"\n\n"  # type: ignore[arg-type]


# Any code point, surrogates included (they cannot be UTF-8: both paths must agree anyway).
text = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=40)


@settings(max_examples=400, deadline=None)
@given(ident=text.filter(bool), delta=text.filter(bool))
def test_delta_frames_equal_pydantic(ident: str, delta: str) -> None:
    for event in (TextMessageContentEvent(message_id=ident, delta=delta),
                  ToolCallArgsEvent(tool_call_id=ident, delta=delta)):
        frame = sse.encode_events([event])
        assert frame == pydantic_frame(event)
        assert json.loads(frame[6:-2].decode()) is not None


def test_events_with_more_fields_take_the_general_path() -> None:
    events = [
        TextMessageContentEvent(message_id="m", delta="x", timestamp=5),
        TextMessageContentEvent(message_id="m", delta="x", raw_event={"a": 1}),
        ToolCallArgsEvent(tool_call_id="t", delta="{}", metadata={"k": "v"}),
        TextMessageContentEvent.model_validate({"messageId": "m", "delta": "x", "extra": 1}),
        TextMessageStartEvent(message_id="m"),
    ]
    for event in events:
        assert sse._DELTA_PREFIX.get(type(event)) is None or sse._delta_frame(
            event, *sse._DELTA_PREFIX[type(event)]) is None
        assert sse.encode_events([event]) == pydantic_frame(event)
    joined = sse.encode_events(events)
    assert joined == b"".join(pydantic_frame(e) for e in events)
    assert b'"extra":1' in joined and b'"timestamp":5' in joined


def test_a_lone_surrogate_is_replaced_not_fatal() -> None:
    frame = sse.encode_events([TextMessageContentEvent(message_id="m", delta="a\ud800b")])
    assert json.loads(frame[6:-2].decode())["delta"] == "a\ufffdb"
