"""SSE framing exactly as the AG-UI client parses it: ``data: <compact json>\\n\\n``, ``\\n`` only."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ag_ui.core import BaseEvent

SSE_HEADERS = {"Cache-Control": "no-cache", "Connection": "keep-alive", "X-Accel-Buffering": "no"}


def encode_events(events: Sequence[BaseEvent]) -> bytes:
    return b"".join(
        b"data: " + e.model_dump_json(by_alias=True, exclude_none=True).encode() + b"\n\n"
        for e in events
    )


def encode_dicts(events: Sequence[dict[str, Any]]) -> bytes:
    return b"".join(
        b"data: " + json.dumps(e, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"
        for e in events
    )


def error_frame(message: str, code: str) -> bytes:
    return encode_dicts([{"type": "RUN_ERROR", "message": message, "code": code}])
