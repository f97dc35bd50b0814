"""Parse the JSON prefix an LLM has streamed so far (for predictive state)."""

from __future__ import annotations

import json
from typing import Any


def _scan(text: str) -> tuple[list[str], bool, bool]:
    """Closers of the containers still open, whether a string is open, and whether its last
    character is a pending backslash."""
    closers: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            closers.append("]" if char == "[" else "}")
        elif char in "]}" and closers:
            closers.pop()
    return closers, in_string, escaped


def _close(text: str) -> Any | None:
    closers, in_string, escaped = _scan(text)
    if in_string:
        text = (text[:-1] if escaped else text) + '"'
    try:
        return json.loads(text.rstrip().rstrip(",") + "".join(reversed(closers)))
    except ValueError:
        return None


def parse_partial_json(text: str) -> Any | None:
    """The value of a JSON document cut off anywhere, completed as little as needed.

    ``'{"steps": ["a", "b'`` → ``{"steps": ["a", "b"]}``; a dangling key or value is dropped
    (``'{"a": 1, "b'`` → ``{"a": 1}``). ``None`` when nothing can be made of it yet.
    """
    text = text.strip()
    if not text:
        return None
    value = _close(text)
    if value is not None:
        return value
    # Drop the unfinished member after the last separator outside a string, then close.
    for cut in range(len(text) - 1, -1, -1):
        if text[cut] in ",[{" and not _scan(text[:cut])[1]:
            value = _close(text[: cut + 1] if text[cut] in "[{" else text[:cut])
            if value is not None:
                return value
    return None
