"""Threads that belong to users: who owns a thread, and what a thread list shows of it.

The principal that middleware authenticated (``RequestContext.principal``) owns the threads
it starts (:meth:`~copilotkit_runtime.stores.StateStore.claim_thread`, at the start of the
first run). Every operation on a thread checks the owner first; a thread of another owner is
answered exactly like a thread that does not exist, so its id is not revealed.

Without authentication every request has the same anonymous owner (:data:`ANONYMOUS_OWNER`),
and everything works as it did before threads had owners.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["ANONYMOUS_OWNER", "NAME_LENGTH", "owner_of", "thread_name"]

#: the owner of every thread when no middleware authenticates requests (no principal's id
#: can be empty: the auth plugins refuse an empty user id)
ANONYMOUS_OWNER = ""

#: longest thread name taken from the first user message (characters, an ellipsis included)
NAME_LENGTH = 60


def owner_of(principal: Any) -> str:
    """The owner id of ``principal``: its ``id`` attribute (a
    :class:`~copilotkit_runtime.middleware.Principal`, or any object with one), the ``id`` or
    ``sub`` of a mapping, a string itself; :data:`ANONYMOUS_OWNER` for ``None``."""
    if principal is None:
        return ANONYMOUS_OWNER
    if isinstance(principal, str):
        return principal
    if isinstance(principal, Mapping):
        for key in ("id", "sub"):
            value = principal.get(key)
            if value is not None and str(value):
                return str(value)
        raise TypeError("a principal mapping needs a non-empty 'id' or 'sub'")
    value = getattr(principal, "id", None)
    if value is None or not str(value):
        raise TypeError(f"a principal needs a non-empty 'id' attribute (got {type(principal).__name__})")
    return str(value)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return " ".join(str(part.get("text", "")) for part in content
                        if isinstance(part, Mapping) and part.get("type") == "text")
    return ""


def thread_name(messages: Sequence[Any]) -> str | None:
    """The name a new thread gets: its first user message, on one line, truncated to
    :data:`NAME_LENGTH` characters. ``messages`` are AG-UI message dicts or models."""
    for message in messages:
        if not isinstance(message, Mapping):
            message = message.model_dump(mode="json", by_alias=True, exclude_none=True)
        if message.get("role") != "user":
            continue
        text = " ".join(_text(message.get("content")).split())
        if not text:
            continue
        return text if len(text) <= NAME_LENGTH else text[:NAME_LENGTH - 1].rstrip() + "…"
    return None
