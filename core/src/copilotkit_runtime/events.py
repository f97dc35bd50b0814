"""The one event model every provider speaks: AG-UI events.

Providers yield instances of the ``ag_ui.core`` event models. This module re-exports the ones a
provider needs, names the CUSTOM events the runtime gives a meaning to, and offers small
constructors for the common cases so provider code stays short.

Custom events understood by the protocol layers:

``on_interrupt``
    A LangGraph ``interrupt(value)``. ``value`` is the interrupt value (any JSON). The GraphQL
    layer sends it as ``LangGraphInterruptEvent``.
``copilotkit_interrupt``
    A CopilotKit SDK ``copilotkit_interrupt()``; ``value`` is ``{"value": ..., "messages": [...]}``.
    The GraphQL layer sends it as ``CopilotKitLangGraphInterruptEvent``.
``copilotkit_exit``
    The agent asked to end the conversation with this agent (SDK ``copilotkit_exit``).
``copilotkit_agent_state``
    Extra facts for a state message: ``{"nodeName": str, "active": bool, "running": bool}``.
"""

from __future__ import annotations

import uuid
from typing import Any

from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    EventType,
    MessagesSnapshotEvent,
    RawEvent,
    RunAgentInput,
    RunErrorEvent,
    RunFinishedEvent,
    RunStartedEvent,
    StateDeltaEvent,
    StateSnapshotEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageChunkEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallChunkEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)
from pydantic_core import from_json

INTERRUPT_EVENT = "on_interrupt"
COPILOTKIT_INTERRUPT_EVENT = "copilotkit_interrupt"
EXIT_EVENT = "copilotkit_exit"
AGENT_STATE_EVENT = "copilotkit_agent_state"

TERMINAL_EVENT_TYPES = frozenset({EventType.RUN_FINISHED, EventType.RUN_ERROR})

__all__ = [
    "AGENT_STATE_EVENT",
    "COPILOTKIT_INTERRUPT_EVENT",
    "EXIT_EVENT",
    "INTERRUPT_EVENT",
    "TERMINAL_EVENT_TYPES",
    "BaseEvent",
    "CustomEvent",
    "EventType",
    "MessagesSnapshotEvent",
    "RawEvent",
    "RunAgentInput",
    "RunErrorEvent",
    "RunFinishedEvent",
    "RunStartedEvent",
    "StateDeltaEvent",
    "StateSnapshotEvent",
    "StepFinishedEvent",
    "StepStartedEvent",
    "TextMessageChunkEvent",
    "TextMessageContentEvent",
    "TextMessageEndEvent",
    "TextMessageStartEvent",
    "ToolCallArgsEvent",
    "ToolCallChunkEvent",
    "ToolCallEndEvent",
    "ToolCallResultEvent",
    "ToolCallStartEvent",
    "event_to_dict",
    "new_id",
    "parse_partial_json",
    "text_message",
    "tool_call",
]


def new_id(prefix: str = "") -> str:
    """A fresh unique id, optionally prefixed (``msg_``, ``tc_``...)."""
    return f"{prefix}{uuid.uuid4().hex}" if prefix else str(uuid.uuid4())


def event_to_dict(event: BaseEvent) -> dict[str, Any]:
    """The event as AG-UI wire JSON (camelCase keys, ``None`` fields left out)."""
    fast = _DELTA_EVENTS.get(type(event))
    if (fast is not None and not event.__pydantic_extra__
            and event.__pydantic_fields_set__ <= fast[1]):
        # A plain text/argument chunk (most events of a run): built directly, with the same
        # result as model_dump at a fraction of its cost.
        return {"type": fast[0], fast[2]: getattr(event, fast[3]),
                "delta": event.delta}  # type: ignore[attr-defined]
    return event.model_dump(mode="json", by_alias=True, exclude_none=True)


def _delta_fast_path(cls: type[BaseEvent], id_field: str
                     ) -> tuple[str, frozenset[str], str, str] | None:
    """What :func:`event_to_dict` needs to build ``cls`` events by hand, or ``None`` when the
    model (another ag-ui version) has fields the shortcut would not know to write."""
    others = [f for name, f in cls.model_fields.items() if name not in ("type", id_field, "delta")]
    if any(f.default is not None or f.is_required() for f in others):
        return None
    sample = cls.model_validate({id_field: "i", "delta": "d"})
    dumped = sample.model_dump(mode="json", by_alias=True, exclude_none=True)
    keys = [k for k in dumped if k not in ("type", "delta")]
    if len(dumped) != 3 or len(keys) != 1 or dumped[keys[0]] != "i":
        return None
    return dumped["type"], frozenset({"type", id_field, "delta"}), keys[0], id_field


_DELTA_EVENTS: dict[type[BaseEvent], tuple[str, frozenset[str], str, str]] = {
    cls: fast for cls, fast in (
        (TextMessageContentEvent, _delta_fast_path(TextMessageContentEvent, "message_id")),
        (ToolCallArgsEvent, _delta_fast_path(ToolCallArgsEvent, "tool_call_id")),
    ) if fast is not None}


def text_message(text_chunks: list[str] | str, message_id: str | None = None) -> list[BaseEvent]:
    """START, one CONTENT per chunk, END: a whole assistant text message."""
    mid = message_id or new_id("msg_")
    chunks = [text_chunks] if isinstance(text_chunks, str) else text_chunks
    events: list[BaseEvent] = [TextMessageStartEvent(message_id=mid, role="assistant")]
    events.extend(TextMessageContentEvent(message_id=mid, delta=c) for c in chunks if c)
    events.append(TextMessageEndEvent(message_id=mid))
    return events


def tool_call(
    name: str,
    arguments: str | list[str],
    tool_call_id: str | None = None,
    parent_message_id: str | None = None,
) -> list[BaseEvent]:
    """START, ARGS (one per fragment), END: a whole tool call with JSON-text arguments."""
    tcid = tool_call_id or new_id("tc_")
    fragments = [arguments] if isinstance(arguments, str) else arguments
    events: list[BaseEvent] = [
        ToolCallStartEvent(tool_call_id=tcid, tool_call_name=name, parent_message_id=parent_message_id)
    ]
    events.extend(ToolCallArgsEvent(tool_call_id=tcid, delta=f) for f in fragments if f)
    events.append(ToolCallEndEvent(tool_call_id=tcid))
    return events


def parse_partial_json(text: str) -> Any:
    """The value of a JSON document cut off anywhere (streamed tool arguments): open strings,
    arrays and objects closed, a half-written key or literal dropped (pydantic-core's partial
    parser). ``None`` when nothing can be made of it yet."""
    if not text or text.isspace():
        return None
    try:
        return from_json(text, allow_partial="trailing-strings")
    except ValueError:
        return None
