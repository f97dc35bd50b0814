"""What a run leaves behind: the thread's state and messages, and its compacted events."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch
from ag_ui.core import BaseEvent, EventType

from .events import AGENT_STATE_EVENT, COPILOTKIT_INTERRUPT_EVENT, INTERRUPT_EVENT, event_to_dict


class RunRecorder:
    """Follows the (validated) events of one run and builds the thread it leaves behind.

    Text and argument chunks are collected as lists and joined once, and consecutive chunks of
    the same message are merged in the recorded history, so recording costs little per token.
    """

    def __init__(self, messages: list[dict[str, Any]], state: dict[str, Any], *,
                 record_events: bool = True) -> None:
        self.messages: list[dict[str, Any]] = [dict(m) for m in messages]
        self._by_id: dict[str, dict[str, Any]] = {m["id"]: m for m in self.messages if "id" in m}
        self.state: dict[str, Any] = state
        self.record_events = record_events
        self.node_name: str | None = None
        self.interrupts: list[Any] = []
        self.error: str | None = None
        self._text: dict[str, list[str]] = {}
        self._args: dict[str, tuple[dict[str, Any], list[str]]] = {}
        self._events: list[BaseEvent | dict[str, Any]] = []
        self._pending_delta: tuple[str, str, list[str]] | None = None  # (kind, id, deltas)

    # -- feeding -----------------------------------------------------------------------------

    def feed(self, event: BaseEvent) -> None:
        kind = event.type
        if kind is EventType.TEXT_MESSAGE_CONTENT:
            mid = event.message_id  # type: ignore[attr-defined]
            self._text[mid].append(event.delta)  # type: ignore[attr-defined]
            if self.record_events:
                self._record_delta("text", mid, event.delta)  # type: ignore[attr-defined]
            return
        if kind is EventType.TOOL_CALL_ARGS:
            tcid = event.tool_call_id  # type: ignore[attr-defined]
            self._args[tcid][1].append(event.delta)  # type: ignore[attr-defined]
            if self.record_events:
                self._record_delta("args", tcid, event.delta)  # type: ignore[attr-defined]
            return
        self._flush_delta()
        if self.record_events:
            self._events.append(event)
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, event)

    def _record_delta(self, kind: str, ident: str, delta: str) -> None:
        pending = self._pending_delta
        if pending is not None and pending[0] == kind and pending[1] == ident:
            pending[2].append(delta)
            return
        self._flush_delta()
        self._pending_delta = (kind, ident, [delta])

    def _flush_delta(self) -> None:
        pending, self._pending_delta = self._pending_delta, None
        if pending is None:
            return
        kind, ident, deltas = pending
        if kind == "text":
            self._events.append({"type": "TEXT_MESSAGE_CONTENT", "messageId": ident,
                                 "delta": "".join(deltas)})
        else:
            self._events.append({"type": "TOOL_CALL_ARGS", "toolCallId": ident,
                                 "delta": "".join(deltas)})

    def _add_message(self, message: dict[str, Any]) -> dict[str, Any]:
        existing = self._by_id.get(message["id"])
        if existing is not None:
            existing.update(message)
            return existing
        self.messages.append(message)
        self._by_id[message["id"]] = message
        return message

    def _on_text_start(self, event: Any) -> None:
        self._add_message({"id": event.message_id, "role": event.role or "assistant", "content": ""})
        self._text[event.message_id] = []

    def _on_text_end(self, event: Any) -> None:
        parts = self._text.pop(event.message_id, [])
        message = self._by_id.get(event.message_id)
        if message is not None:
            message["content"] = (message.get("content") or "") + "".join(parts)

    def _on_tool_start(self, event: Any) -> None:
        parent_id = event.parent_message_id
        parent = self._by_id.get(parent_id) if parent_id else None
        if parent is None or parent.get("role") != "assistant":
            parent = self._add_message({"id": parent_id or event.tool_call_id, "role": "assistant"})
        call = {"id": event.tool_call_id, "type": "function",
                "function": {"name": event.tool_call_name, "arguments": ""}}
        parent.setdefault("toolCalls", []).append(call)
        self._args[event.tool_call_id] = (call, [])

    def _on_tool_end(self, event: Any) -> None:
        call, parts = self._args.pop(event.tool_call_id, (None, []))
        if call is not None:
            call["function"]["arguments"] += "".join(parts)

    def _on_tool_result(self, event: Any) -> None:
        content = event.content if isinstance(event.content, str) else json.dumps(event.content)
        self._add_message({"id": event.message_id, "role": "tool", "content": content,
                           "toolCallId": event.tool_call_id})

    def _on_state_snapshot(self, event: Any) -> None:
        snapshot = event.snapshot
        self.state = dict(snapshot) if isinstance(snapshot, dict) else {"value": snapshot}

    def _on_state_delta(self, event: Any) -> None:
        operations = [op.model_dump(mode="json", by_alias=True, exclude_unset=True)
                      if hasattr(op, "model_dump") else op for op in event.delta]
        self.state = jsonpatch.apply_patch(copy.deepcopy(self.state), operations)

    def _on_messages_snapshot(self, event: Any) -> None:
        self.messages = [m.model_dump(mode="json", by_alias=True, exclude_none=True)
                         for m in event.messages]
        self._by_id = {m["id"]: m for m in self.messages}

    def _on_step_started(self, event: Any) -> None:
        self.node_name = event.step_name

    def _on_custom(self, event: Any) -> None:
        if event.name in (INTERRUPT_EVENT, COPILOTKIT_INTERRUPT_EVENT):
            self.interrupts.append(event.value)
        elif event.name == AGENT_STATE_EVENT and isinstance(event.value, dict):
            self.node_name = event.value.get("nodeName", self.node_name)

    def _on_run_error(self, event: Any) -> None:
        self.error = event.message

    # -- results -----------------------------------------------------------------------------

    def compacted_events(self) -> list[dict[str, Any]]:
        self._flush_delta()
        return [e if isinstance(e, dict) else event_to_dict(e) for e in self._events]


_HANDLERS = {
    EventType.TEXT_MESSAGE_START: RunRecorder._on_text_start,
    EventType.TEXT_MESSAGE_END: RunRecorder._on_text_end,
    EventType.TOOL_CALL_START: RunRecorder._on_tool_start,
    EventType.TOOL_CALL_END: RunRecorder._on_tool_end,
    EventType.TOOL_CALL_RESULT: RunRecorder._on_tool_result,
    EventType.STATE_SNAPSHOT: RunRecorder._on_state_snapshot,
    EventType.STATE_DELTA: RunRecorder._on_state_delta,
    EventType.MESSAGES_SNAPSHOT: RunRecorder._on_messages_snapshot,
    EventType.STEP_STARTED: RunRecorder._on_step_started,
    EventType.CUSTOM: RunRecorder._on_custom,
    EventType.RUN_ERROR: RunRecorder._on_run_error,
}
