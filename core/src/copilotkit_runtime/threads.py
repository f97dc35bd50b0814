"""Threads that belong to users: who owns a thread, and what a thread list shows of it.

The principal that middleware authenticated (``RequestContext.principal``) owns the threads
it starts (:meth:`~copilotkit_runtime.stores.StateStore.claim_thread`, at the start of the
first run). Every operation on a thread checks the owner first; a thread of another owner is
answered exactly like a thread that does not exist, so its id is not revealed.

Without authentication every request has the same anonymous owner (:data:`ANONYMOUS_OWNER`),
and everything works as it did before threads had owners.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

log = logging.getLogger("copilotkit_runtime.threads")

__all__ = ["ANONYMOUS_OWNER", "NAME_LENGTH", "owner_of", "thread_name"]

#: the owner of every thread when no middleware authenticates requests (no principal's id
#: can be empty: the auth plugins refuse an empty user id)
ANONYMOUS_OWNER = ""

#: longest thread name taken from the first user message (characters, an ellipsis included)
NAME_LENGTH = 60


#: what names a principal's user, in order, on principals that are objects or mappings
_ID_FIELDS = ("id", "user_id", "sub", "username", "name", "email")


def owner_of(principal: Any) -> str:
    """The owner id of ``principal``: a string itself; else its first non-empty ``id``,
    ``user_id``, ``sub``, ``username``, ``name`` or ``email`` (attribute or key; a
    :class:`~copilotkit_runtime.middleware.Principal` has ``id``); else its ``repr`` when the
    type defines one (a dataclass). :data:`ANONYMOUS_OWNER` for ``None``.

    A principal with none of these cannot own anything lastingly: it gets an owner of its
    own (its default ``repr``), so it never shares another principal's threads, and a
    warning says to give it an ``id``.
    """
    if principal is None:
        return ANONYMOUS_OWNER
    if isinstance(principal, str):
        return principal or _unnamed(principal)
    for name in _ID_FIELDS:
        value = principal.get(name) if isinstance(principal, Mapping) else getattr(principal, name, None)
        if value is not None and not callable(value) and str(value):
            return str(value)
    if type(principal).__repr__ is not object.__repr__ and not isinstance(principal, Mapping):
        return repr(principal)
    return _unnamed(principal)


def _unnamed(principal: Any) -> str:
    log.warning("request middleware returned a principal without an id (%s): give it an "
                "'id' (e.g. copilotkit_runtime.Principal) so its threads stay its own",
                type(principal).__name__)
    return f"unnamed:{id(principal):x}:{uuid.uuid4().hex}"


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
