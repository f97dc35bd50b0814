"""SSE framing exactly as the AG-UI client parses it: ``data: <compact json>\\n\\n``, ``\\n`` only.

Encoding is total: an event whose text cannot be encoded as UTF-8 (a lone surrogate, e.g. in
a thread stored before input was sanitised) is sent with U+FFFD in its place rather than
breaking the stream (:mod:`..jsontext`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ag_ui.core import BaseEvent
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


def encode_events(events: Sequence[BaseEvent]) -> bytes:
    return b"".join(b"data: " + _event_json(e) + b"\n\n" for e in events)


def encode_dicts(events: Sequence[dict[str, Any]]) -> bytes:
    return b"".join(b"data: " + _dict_json(e) + b"\n\n" for e in events)


def error_frame(message: str, code: str) -> bytes:
    return encode_dicts([{"type": "RUN_ERROR", "message": message, "code": code}])
