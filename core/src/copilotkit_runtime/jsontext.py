"""JSON from clients, made safe to keep and to send on: bounded nesting, no lone surrogates.

Two things in well-formed JSON break a server later, far from where they came in:

* **deep nesting**: ``[[[[...]]]]`` a few thousand levels deep makes ``json.loads`` (and every
  recursive walk after it) raise ``RecursionError``. :func:`load_json` refuses documents nested
  more than :data:`MAX_DEPTH` levels with a clear :class:`JSONInputError`.
* **lone surrogates**: ``"\\ud800"`` is valid JSON but not valid Unicode; such a string cannot be
  encoded as UTF-8, so every response that carried it would fail. Our rule: **sanitise at the
  edge** — each lone surrogate becomes U+FFFD (the replacement character), as a browser's
  ``TextEncoder`` does. Nothing is refused for it and nothing of the rest of the text is lost.
  Encoders that may meet text stored before this rule use :func:`scrub` as their fallback.

Both checks cost nothing for ordinary bodies: they run only when the raw text holds enough
brackets to be that deep, or a surrogate escape.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MAX_DEPTH", "JSONInputError", "load_json", "scrub", "scrub_text"]

#: most levels of arrays/objects one JSON document (or JSON embedded in a string) may nest.
MAX_DEPTH = 100

_SURROGATE = re.compile("[\ud800-\udfff]")
# A surrogate in the raw text: a \uD800-\uDFFF escape, or its (invalid) UTF-8 bytes, which
# json.loads decodes with "surrogatepass". Valid pairs match too; scrubbing keeps them.
_RAW_SURROGATE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_RAW_SURROGATE_TEXT = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")


class JSONInputError(ValueError):
    """Client JSON that cannot be used; ``message`` says why, for the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def load_json(raw: bytes | str, what: str = "Request body") -> Any:
    """``raw`` parsed, nesting checked, lone surrogates replaced; or :class:`JSONInputError`."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise JSONInputError(f"{what} is nested too deeply (more than {MAX_DEPTH} levels).") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise JSONInputError(f"{what} is not valid JSON: {exc}") from None
    if isinstance(raw, bytes):
        brackets = raw.count(b"[") + raw.count(b"{")
        surrogates = _RAW_SURROGATE_BYTES.search(raw) is not None
    else:
        brackets = raw.count("[") + raw.count("{")
        surrogates = _RAW_SURROGATE_TEXT.search(raw) is not None
    if brackets > MAX_DEPTH and _depth_exceeds(value, MAX_DEPTH):
        raise JSONInputError(f"{what} is nested too deeply (more than {MAX_DEPTH} levels).")
    return scrub(value) if surrogates else value


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))
    return False


def scrub_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (valid pairs are already joined
    into one character by the JSON parser)."""
    return _SURROGATE.sub("\ufffd", text)


def scrub(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, strings, ...) with every string passed through
    :func:`scrub_text`, keys too. Iterative: safe on any depth."""
    if isinstance(value, str):
        return scrub_text(value)
    if not isinstance(value, dict | list):
        return value
    root: list[Any] = [value]
    stack: list[tuple[Any, Any, Any]] = [(root, 0, value)]
    while stack:
        parent, key, node = stack.pop()
        if isinstance(node, dict):
            copy: Any = {}
            for k, v in node.items():
                k = scrub_text(k) if isinstance(k, str) else k
                if isinstance(v, str):
                    copy[k] = scrub_text(v)
                else:
                    copy[k] = v
                    if isinstance(v, dict | list):
                        stack.append((copy, k, v))
        else:
            copy = list(node)
            for i, v in enumerate(copy):
                if isinstance(v, str):
                    copy[i] = scrub_text(v)
                elif isinstance(v, dict | list):
                    stack.append((copy, i, v))
        parent[key] = copy
    return root[0]
