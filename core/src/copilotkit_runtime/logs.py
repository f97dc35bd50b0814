"""Structured logs: ``[logging] format = "json"`` writes one JSON object per line.

Every line carries what is known of the request it was logged for (contextvars, so a run's
provider task inherits them): ``request_id`` (the client's ``x-request-id`` when it is a sane
token, else a new one), ``principal_id``, ``agent``, ``thread_id``, ``run_id``. Secrets are
never written: bearer tokens, ``sk-...`` keys and ``key=value`` pairs named like secrets are
redacted from the message and the traceback.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

__all__ = ["JsonFormatter", "bind_log_context", "configure_logging", "log_context",
           "principal_id", "redact", "request_id_for"]

#: the ids of the request (and run) being served in this context
log_context: ContextVar[Mapping[str, str]] = ContextVar(
    "copilotkit_log_context", default=MappingProxyType({}))

CONTEXT_KEYS = ("request_id", "principal_id", "agent", "thread_id", "run_id")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_SECRETS = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [REDACTED]"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{6,}"), "sk-[REDACTED]"),
    (re.compile(r"(?i)((?:api[_-]?key|secret|password|passwd|token|authorization)"
                r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',;}]+"), r"\1[REDACTED]"),
]


def bind_log_context(**fields: Any) -> None:
    """Add ``fields`` to this context's log ids (``None`` values are left out)."""
    current = dict(log_context.get())
    current.update({k: str(v) for k, v in fields.items() if v is not None})
    log_context.set(current)


def request_id_for(incoming: str | None) -> str:
    """The client's request id when it is a plain token, else a new one."""
    if incoming and _REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def principal_id(principal: Any) -> str | None:
    if principal is None:
        return None
    if isinstance(principal, str):
        return principal
    value = getattr(principal, "id", None)
    return None if value is None else str(value)


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time``, ``level``, ``logger``, ``message``, the context
    ids, and ``exception`` (the traceback text) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                    + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        out.update(log_context.get())
        if record.exc_info:
            out["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(settings: Any, stream: Any = None) -> logging.Handler:
    """The root logger for ``copilotkit-runtime serve``: ``[logging] format`` and
    ``log_level``. Returns the handler installed."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    if settings.logging.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    return handler
