"""SSE framing exactly as the AG-UI client parses it: ``data: <compact json>\\n\\n``, ``\\n`` only.

Encoding is total: an event whose text cannot be encoded as UTF-8 (a lone surrogate, e.g. in
a thread stored before input was sanitised) is sent with U+FFFD in its place rather than
breaking the stream (:mod:`..jsontext`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ag_ui.core import BaseEvent, TextMessageContentEvent, ToolCallArgsEvent
from pydantic_core import PydanticSerializationError

from ..jsontext import scrub

SSE_HEADERS = {"Cache-Control": "no-cache", "Connection": "keep-alive", "X-Accel-Buffering": "no"}


def _event_json(event: BaseEvent) -> bytes:
    try:
        return event.model_dump_json(by_alias=True, exclude_none=True).encode()
    except (PydanticSerializationError, UnicodeEncodeError):
        return _dict_json(event.model_dump(by_alias=True, exclude_none=True, mode="json"))


def _dict_json(event: dict[str, Any]) -> bytes:
    text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode()
    except UnicodeEncodeError:
        return json.dumps(scrub(event), separators=(",", ":"), ensure_ascii=False).encode()


#: a JSON string literal, as pydantic writes one (UTF-8 kept, control characters escaped)
_json_str = json.JSONEncoder(ensure_ascii=False).encode
#: the streamed-delta events: their frame is written by hand (``_delta_frame``)
_DELTA_PREFIX = {
    TextMessageContentEvent: ("message_id", 'data: {"type":"TEXT_MESSAGE_CONTENT","messageId":'),
    ToolCallArgsEvent: ("tool_call_id", 'data: {"type":"TOOL_CALL_ARGS","toolCallId":'),
}
#: the fields of those events that must be unset for the hand-written frame to be exact
_OPTIONAL = ("timestamp", "raw_event", "metadata", "subagent_run_id")


def _delta_frame(event: BaseEvent, id_field: str, prefix: str) -> bytes | None:
    """The frame of a ``TEXT_MESSAGE_CONTENT`` / ``TOOL_CALL_ARGS`` event with only its id and
    delta set (what providers stream), byte for byte what pydantic writes, without building a
    serializer call per chunk; ``None`` when the event has more on it."""
    values = event.__dict__
    ident, delta = values[id_field], values["delta"]
    if type(ident) is not str or type(delta) is not str or event.__pydantic_extra__:
        return None
    for name in _OPTIONAL:
        if values.get(name) is not None:
            return None
    text = f'{prefix}{_json_str(ident)},"delta":{_json_str(delta)}}}\n\n'
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate: the general path replaces it
        return None


def encode_events(events: Sequence[BaseEvent]) -> bytes:
    parts = []
    for e in events:
        hot = _DELTA_PREFIX.get(type(e))
        frame = _delta_frame(e, *hot) if hot is not None else None
        parts.append(frame if frame is not None else b"data: " + _event_json(e) + b"\n\n")
    return b"".join(parts)


def encode_dicts(events: Sequence[dict[str, Any]]) -> bytes:
    return b"".join(b"data: " + _dict_json(e) + b"\n\n" for e in events)


def error_frame(message: str, code: str) -> bytes:
    return encode_dicts([{"type": "RUN_ERROR", "message": message, "code": code}])
