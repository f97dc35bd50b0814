"""AG-UI events → the "v1" output objects of ``generateCopilotResponse``. Pure, no I/O.

A :class:`Translator` follows one run. :meth:`Translator.feed` takes a batch of (validated) AG-UI
events and returns *ops*, small tuples the encoder (:mod:`.encoder`) turns into incremental
payloads::

    (OP_MESSAGE, msg)          a new entry of ``messages`` (``msg.status`` set if already complete)
    (OP_CHUNK, msg, text)      ``text`` was appended to ``msg.chunks`` (content / arguments)
    (OP_MESSAGE_END, msg)      ``msg.status`` is now set
    (OP_META, meta)            a new entry of ``metaEvents`` (a complete object)
    (OP_DONE, status)          the run ended; ``status`` is the response status

Objects are plain dicts keyed by GraphQL field name, with ``__typename``. What they hold mirrors
the reference runtime (its AG-UI bridge, ``convertToLegacyEvents``, and the era-remote LangGraph
wire in ``copilotkit-sdk-conventions.md`` §2.7):

* text messages and tool calls stream their content / arguments chunk by chunk, a tool result is
  a ``ResultMessageOutput``;
* with ``emit_state`` (agent runs: the request had an ``agentSession``) the run's progress
  becomes ``AgentStateMessageOutput`` messages, the state syncs of the CopilotKit SDK (see
  :class:`Translator` for the rule): one per *sync point*, i.e. a ``copilotkit_agent_state``
  custom event (``{"nodeName", "active", "running"}``: the provider names the sync itself) or,
  from providers that never send one, a ``STEP_STARTED`` (``active`` true) / ``STEP_FINISHED``
  (``active`` false); a ``STATE_SNAPSHOT`` / ``STATE_DELTA`` gives the pending sync its state,
  or is a sync of its own; repeats of the last message are not sent; the last message, at
  ``RUN_FINISHED``, has ``active`` false, the whole state and the ``messages`` of the run's
  ``MESSAGES_SNAPSHOT``, and ``running`` false after a ``copilotkit_exit`` (or AG-UI ``Exit``)
  custom event (only that one: the messages before it stay ``running``);
* CUSTOM ``PredictState`` (``[{state_key, tool, tool_argument}]``, until the step ends): the
  streamed arguments of such a tool call are shown as that state key, each change a state
  message (the reference runtime's AG-UI bridge does the same);
* CUSTOM ``on_interrupt`` → ``LangGraphInterruptEvent`` (the value as a JSON string, Python's
  ``json.dumps`` spacing like the CopilotKit SDK), ``copilotkit_interrupt`` →
  ``CopilotKitLangGraphInterruptEvent`` with ``data {value, messages}``;
* ``RUN_ERROR`` fails the response (``UNKNOWN_ERROR``, ``GUARDRAILS_VALIDATION_FAILED`` or
  ``MESSAGE_STREAM_INTERRUPTED`` by its code) and the messages it cut off (those the engine
  closed right before the error) get ``FailedMessageStatus``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jsonpatch
from ag_ui.core import BaseEvent, EventType

from ..events import (
    AGENT_STATE_EVENT,
    COPILOTKIT_INTERRUPT_EVENT,
    EXIT_EVENT,
    INTERRUPT_EVENT,
    parse_partial_json,
)
from .convert import snapshot_messages_to_json, text_of

log = logging.getLogger("copilotkit_runtime.graphql")

OP_MESSAGE = 1
OP_CHUNK = 2
OP_MESSAGE_END = 3
OP_META = 4
OP_DONE = 5

TEXT = "TextMessageOutput"
ACTION = "ActionExecutionMessageOutput"
RESULT = "ResultMessageOutput"
AGENT_STATE = "AgentStateMessageOutput"

MESSAGE_SUCCESS: dict[str, Any] = {"__typename": "SuccessMessageStatus", "code": "Success"}
RESPONSE_SUCCESS: dict[str, Any] = {"__typename": "SuccessResponseStatus", "code": "Success"}
INTERRUPTED_REASON = "Error streaming message content"

GUARDRAILS_VALIDATION_FAILED = "GUARDRAILS_VALIDATION_FAILED"
MESSAGE_STREAM_INTERRUPTED = "MESSAGE_STREAM_INTERRUPTED"
UNKNOWN_ERROR = "UNKNOWN_ERROR"

#: engine / provider RUN_ERROR codes that mean "the stream was cut", not "the agent failed".
_INTERRUPTION_CODES = frozenset({"THREAD_LOCK_LOST", "INVALID_EVENT_STREAM", "STREAM_INTERRUPTED",
                                 MESSAGE_STREAM_INTERRUPTED})
_GUARDRAIL_CODES = frozenset({GUARDRAILS_VALIDATION_FAILED, "GUARDRAIL_BLOCKED"})

_COMPACT = (",", ":")

#: AG-UI custom event: ``[{"state_key", "tool", "tool_argument"?}]``, predictive state.
PREDICT_STATE_EVENT = "PredictState"


def iso_now() -> str:
    """Now as ``2026-11-22T02:09:29.570Z`` (what the reference sends for ``createdAt``)."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def dumps_compact(value: Any) -> str:
    return json.dumps(value, separators=_COMPACT, default=str)


def failed_message_status(reason: str = INTERRUPTED_REASON) -> dict[str, Any]:
    return {"__typename": "FailedMessageStatus", "code": "Failed", "reason": reason}


def failed_response_status(reason: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"__typename": "FailedResponseStatus", "code": "Failed", "reason": reason,
            "details": details}


def guardrail_failure(reason: str) -> dict[str, Any]:
    """react-core shows ``details.guardrailsReason`` as the assistant's answer."""
    return failed_response_status(GUARDRAILS_VALIDATION_FAILED, {"guardrailsReason": reason})


def unknown_failure(description: str, code: str = "UNKNOWN") -> dict[str, Any]:
    """react-core shows ``details.description`` in its error banner."""
    return failed_response_status(UNKNOWN_ERROR, {
        "description": description,
        "originalError": {"code": code, "message": description, "severity": "critical",
                          "visibility": "banner"},
    })


def failure_for_run_error(message: str, code: str | None) -> dict[str, Any]:
    """The response status for a ``RUN_ERROR`` (no stack traces: the message is all we send)."""
    code = code or "AGENT_ERROR"
    if code in _GUARDRAIL_CODES:
        return guardrail_failure(message)
    if code in _INTERRUPTION_CODES:
        return failed_response_status(MESSAGE_STREAM_INTERRUPTED,
                                      {"description": message, "code": code})
    return unknown_failure(message, "UNKNOWN" if code == "AGENT_ERROR" else code)


class OutMessage:
    """One entry of ``messages``. ``fields`` is the object (``content``/``arguments`` is the
    ``chunks`` list itself, ``status`` is filled in when it ends). ``enc`` belongs to the encoder."""

    __slots__ = ("chunks", "enc", "fields", "index", "typename")

    def __init__(self, index: int, typename: str, fields: dict[str, Any],
                 chunks: list[str] | None = None) -> None:
        self.index = index
        self.typename = typename
        self.fields = fields
        self.chunks = chunks
        self.enc: Any = None

    @property
    def status(self) -> dict[str, Any] | None:
        return self.fields["status"]


class _Sync:
    """A state message decided on but not sent yet: a later event may still give it its state
    (``state is None``: not yet) or, if no sync point made it, its facts."""

    __slots__ = ("active", "node", "origin", "running", "state")

    def __init__(self, node: str, active: bool, running: bool, origin: str,
                 state: dict[str, Any] | None = None) -> None:
        self.node = node
        self.active = active
        self.running = running
        self.origin = origin  # "facts" | "step" | "snapshot" | "predict": what made it
        self.state = state


class Translator:
    """Follows one run.

    State messages are the CopilotKit SDK's state syncs (era-remote wire, conventions §2.7): one
    when a node starts (``active`` true), one when it ends (``active`` false), one whenever the
    state changes in between (an emitted state, predictive state), and a last one with the
    messages. The events say where they go:

    * a *sync point* opens a pending message with its facts: ``copilotkit_agent_state`` (the
      provider's own account of a sync, e.g. the LangGraph provider's), else ``STEP_STARTED`` /
      ``STEP_FINISHED``. A ``copilotkit_agent_state`` while a step's message is still pending
      replaces the step's facts rather than adding a message; a sync point while a snapshot's
      message is pending gives that message its facts;
    * ``STATE_SNAPSHOT`` / ``STATE_DELTA`` gives the pending message its state, or, if it has one
      already (or none is pending), becomes a pending message of its own; so does a state
      predicted from streamed tool arguments (``PredictState``), which a snapshot right after
      it replaces;
    * the pending message is sent before anything else goes into ``messages`` (text, tool calls,
      results, the next sync), at the end of a batch of events while it is ``active`` (a node
      that starts and then works quietly is shown at once), and at ``RUN_FINISHED``, where an
      inactive pending message *is* the last message (meta events such as interrupts come
      before it, like in the reference);
    * a message equal to the last one sent (node, active, running, state) is not sent again.
    """

    def __init__(
        self,
        *,
        thread_id: str,
        run_id: str,
        agent_name: str,
        state: Mapping[str, Any] | None = None,
        node_name: str = "",
        emit_state: bool = True,
        action_names: Mapping[str, str] | None = None,
        clock: Callable[[], str] = iso_now,
        make_id: Callable[[], str] = lambda: f"ck-{uuid.uuid4()}",
    ) -> None:
        self.thread_id = thread_id
        self.run_id = run_id
        self.agent_name = agent_name
        self.emit_state = emit_state
        self.clock = clock
        self.make_id = make_id
        self.state: dict[str, Any] = _without_messages(state)
        self.node_name = node_name
        self.active = True
        self.running = True
        self.exited = False
        self.synced_messages: list[dict[str, Any]] | None = None
        self._pending: _Sync | None = None
        self._last_sync: tuple[str, bool, bool, str] | None = None
        self._predictions: list[dict[str, Any]] = []  # CUSTOM PredictState, until the step ends
        self.action_names: dict[str, str] = dict(action_names or {})
        self.messages: list[OutMessage] = []
        self.meta_events: list[dict[str, Any]] = []
        self.status: dict[str, Any] | None = None
        self._open: dict[str, OutMessage] = {}
        self._handlers: dict[EventType, Callable[[Any, list[tuple[Any, ...]]], None]] = {
            EventType.TEXT_MESSAGE_START: self._text_start,
            EventType.TOOL_CALL_START: self._tool_start,
            EventType.TOOL_CALL_RESULT: self._tool_result,
            EventType.STATE_SNAPSHOT: self._state_snapshot,
            EventType.STATE_DELTA: self._state_delta,
            EventType.MESSAGES_SNAPSHOT: self._messages_snapshot,
            EventType.STEP_STARTED: self._step_started,
            EventType.STEP_FINISHED: self._step_finished,
            EventType.CUSTOM: self._custom,
            EventType.RUN_FINISHED: self._run_finished,
            EventType.RUN_ERROR: self._run_error,
        }

    @property
    def done(self) -> bool:
        return self.status is not None

    # -- feeding -------------------------------------------------------------------------------

    def feed(self, events: Iterable[BaseEvent]) -> list[tuple[Any, ...]]:
        ops: list[tuple[Any, ...]] = []
        held: list[OutMessage] = []  # ended messages whose status waits for the next event
        content, args = EventType.TEXT_MESSAGE_CONTENT, EventType.TOOL_CALL_ARGS
        text_end, tool_end = EventType.TEXT_MESSAGE_END, EventType.TOOL_CALL_END
        for event in events:
            kind = event.type
            if kind is content or kind is args:
                msg = self._open.get(event.message_id if kind is content else event.tool_call_id)  # type: ignore[attr-defined]
                if msg is not None:
                    if held:
                        self._release(held, ops)
                    if self._pending is not None:
                        self._send_pending(ops)
                    msg.chunks.append(event.delta)  # type: ignore[union-attr, attr-defined]
                    ops.append((OP_CHUNK, msg, event.delta))  # type: ignore[attr-defined]
                    if kind is args and self._predictions:
                        self._predict(msg, ops)
                continue
            if kind is text_end or kind is tool_end:
                msg = self._open.pop(event.message_id if kind is text_end else event.tool_call_id, None)  # type: ignore[attr-defined]
                if msg is not None:
                    held.append(msg)
                continue
            if held:
                if kind is EventType.RUN_ERROR:
                    # The engine closes what a failing run left open right before RUN_ERROR:
                    # those messages were cut off.
                    for msg in held:
                        msg.fields["status"] = failed_message_status()
                        ops.append((OP_MESSAGE_END, msg))
                    held = []
                else:
                    self._release(held, ops)
            handler = self._handlers.get(kind)
            if handler is not None and self.status is None:
                handler(event, ops)
        if held:
            self._release(held, ops)
        pending = self._pending
        if pending is not None and pending.active and self.status is None:
            self._send_pending(ops)
        return ops

    def fail(self, status: dict[str, Any]) -> list[tuple[Any, ...]]:
        """End the response with ``status`` whatever state the run is in (the run went away)."""
        if self.status is not None:
            return []
        ops: list[tuple[Any, ...]] = []
        for msg in list(self._open.values()):
            msg.fields["status"] = failed_message_status()
            ops.append((OP_MESSAGE_END, msg))
        self._open.clear()
        self.status = status
        ops.append((OP_DONE, status))
        return ops

    @staticmethod
    def _release(held: list[OutMessage], ops: list[tuple[Any, ...]]) -> None:
        for msg in held:
            msg.fields["status"] = MESSAGE_SUCCESS
            ops.append((OP_MESSAGE_END, msg))
        held.clear()

    # -- messages ------------------------------------------------------------------------------

    def _add(self, typename: str, fields: dict[str, Any], chunks: list[str] | None,
             ops: list[tuple[Any, ...]]) -> OutMessage:
        if self._pending is not None and typename != AGENT_STATE:
            self._send_pending(ops)
        msg = OutMessage(len(self.messages), typename, fields, chunks)
        self.messages.append(msg)
        ops.append((OP_MESSAGE, msg))
        return msg

    def _text_start(self, event: Any, ops: list[tuple[Any, ...]]) -> None:
        chunks: list[str] = []
        fields = {"__typename": TEXT, "id": event.message_id, "createdAt": self.clock(),
                  "status": None, "role": event.role or "assistant", "content": chunks,
                  "parentMessageId": None}
        self._open[event.message_id] = self._add(TEXT, fields, chunks, ops)

    def _tool_start(self, event: Any, ops: list[tuple[Any, ...]]) -> None:
        self.active = True
        self.action_names[event.tool_call_id] = event.tool_call_name
        chunks: list[str] = []
        fields = {"__typename": ACTION, "id": event.tool_call_id, "createdAt": self.clock(),
                  "status": None, "name": event.tool_call_name, "scope": None,
                  "arguments": chunks, "parentMessageId": event.parent_message_id}
        self._open[event.tool_call_id] = self._add(ACTION, fields, chunks, ops)

    def _tool_result(self, event: Any, ops: list[tuple[Any, ...]]) -> None:
        content = event.content
        if not isinstance(content, str):
            content = dumps_compact([part.model_dump(mode="json", by_alias=True, exclude_none=True)
                                     if hasattr(part, "model_dump") else part for part in content])
        fields = {"__typename": RESULT, "id": event.message_id, "createdAt": self.clock(),
                  "status": MESSAGE_SUCCESS, "actionExecutionId": event.tool_call_id,
                  "actionName": self.action_names.get(event.tool_call_id, "unknown"),
                  "result": content}
        msg = self._add(RESULT, fields, None, ops)
        ops.append((OP_MESSAGE_END, msg))

    # -- state messages ------------------------------------------------------------------------

    def _state_message(self, ops: list[tuple[Any, ...]], node: str, active: bool, running: bool,
                       state: Mapping[str, Any]) -> None:
        fields = {"__typename": AGENT_STATE, "id": self.make_id(), "createdAt": self.clock(),
                  "status": MESSAGE_SUCCESS, "threadId": self.thread_id,
                  "agentName": self.agent_name, "nodeName": node or "",
                  "runId": self.run_id, "active": active, "role": "assistant",
                  "state": dumps_compact(state), "running": running}
        msg = self._add(AGENT_STATE, fields, None, ops)
        ops.append((OP_MESSAGE_END, msg))

    def _send_pending(self, ops: list[tuple[Any, ...]]) -> None:
        pending, self._pending = self._pending, None
        if pending is None:
            return
        state = self.state if pending.state is None else pending.state
        key = (pending.node, pending.active, pending.running, dumps_compact(state))
        if key == self._last_sync:
            return
        self._last_sync = key
        self._state_message(ops, pending.node, pending.active, pending.running, state)

    def _sync_point(self, ops: list[tuple[Any, ...]], origin: str) -> None:
        """A state sync is due with the current facts (``node_name``, ``active``, ``running``)."""
        if not self.emit_state:
            return
        pending = self._pending
        if pending is not None and (pending.origin == "snapshot"
                                    or (pending.origin == "step" and origin == "facts")):
            # The same sync, described once more: the provider's facts win over a step's.
            pending.node, pending.active, pending.running = self.node_name, self.active, self.running
            pending.origin = origin
            return
        self._send_pending(ops)
        self._pending = _Sync(self.node_name, self.active, self.running, origin)

    def _state_changed(self, ops: list[tuple[Any, ...]], origin: str = "snapshot") -> None:
        if not self.emit_state:
            return
        pending = self._pending
        if pending is not None and (pending.state is None
                                    or (pending.origin == "predict" and origin == "snapshot")):
            # A provider that sends its own predicted state right after the arguments (the
            # CrewAI provider does) is not shown twice.
            pending.state = self.state
            return
        self._send_pending(ops)
        self._pending = _Sync(self.node_name, self.active, self.running, origin, self.state)

    def _predict(self, call: OutMessage, ops: list[tuple[Any, ...]]) -> None:
        """Predictive state (AG-UI ``PredictState``): while a tool call named there streams its
        arguments, its (partial) arguments, or one of them, are shown as a state key, like the
        reference runtime's AG-UI bridge does."""
        name = call.fields["name"]
        entries = [e for e in self._predictions if e.get("tool") == name and e.get("state_key")]
        if not entries:
            return
        arguments = parse_partial_json("".join(call.chunks or ()))
        if not isinstance(arguments, dict):
            return
        state = dict(self.state)
        for entry in entries:
            argument = entry.get("tool_argument")
            if not argument:
                state[entry["state_key"]] = arguments
            elif argument in arguments:
                state[entry["state_key"]] = arguments[argument]
        if state != self.state:
            self.state = state
            self._state_changed(ops, "predict")

    # -- state ---------------------------------------------------------------------------------

    def _state_snapshot(self, event: Any, ops: list[tuple[Any, ...]]) -> None:
        snapshot = event.snapshot
        if isinstance(snapshot, dict):
            self.state = _without_messages(snapshot)
        self._state_changed(ops)

    def _state_delta(self, event: Any, ops: list[tuple[Any, ...]]) -> None:
        try:
            patched = jsonpatch.apply_patch(self.state, patch_operations(event.delta))
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as exc:
            log.warning("ignoring a STATE_DELTA that does not apply: %s", exc)
            return
        if isinstance(patched, dict):
            self.state = _without_messages(patched)
        self._state_changed(ops)

    def _messages_snapshot(self, event: Any, ops: list[tuple[Any, ...]]) -> None:
        # Sent with the last state message, the only one that carries messages.
        self.synced_messages = snapshot_messages_to_json(
            m.model_dump(mode="json", by_alias=True, exclude_none=True) for m in event.messages)

    def _step_started(self, event: Any, ops: list[tuple[Any, ...]]) -> None:
        self.node_name = event.step_name
        self.active = True
        self._predictions = []
        self._sync_point(ops, "step")

    def _step_finished(self, event: Any, ops: list[tuple[Any, ...]]) -> None:
        self.node_name = event.step_name
        self.active = False
        self._predictions = []
        self._sync_point(ops, "step")

    # -- custom events -------------------------------------------------------------------------

    def _custom(self, event: Any, ops: list[tuple[Any, ...]]) -> None:
        name, value = event.name, event.value
        if name == INTERRUPT_EVENT:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            self._meta({"__typename": "LangGraphInterruptEvent", "type": "MetaEvent",
                        "name": "LangGraphInterruptEvent", "value": text, "response": None}, ops)
        elif name == COPILOTKIT_INTERRUPT_EVENT:
            if isinstance(value, Mapping):
                inner, messages = value.get("value"), value.get("messages") or []
            else:
                inner, messages = value, []
            text = inner if isinstance(inner, str) else json.dumps(inner, default=str)
            data = {"__typename": "CopilotKitLangGraphInterruptEventData", "value": text,
                    "messages": self._interrupt_messages(messages)}
            self._meta({"__typename": "CopilotKitLangGraphInterruptEvent", "type": "MetaEvent",
                        "name": "CopilotKitLangGraphInterruptEvent", "data": data,
                        "response": None}, ops)
        elif name == PREDICT_STATE_EVENT:
            entries = value if isinstance(value, list) else [value]
            self._predictions = [dict(e) for e in entries if isinstance(e, Mapping)]
        elif name in (EXIT_EVENT, "Exit"):
            # Only the last state message says the agent stopped (like the SDK's should_exit).
            self.exited = True
        elif name == AGENT_STATE_EVENT and isinstance(value, Mapping):
            if isinstance(value.get("nodeName"), str):
                self.node_name = value["nodeName"]
            if isinstance(value.get("active"), bool):
                self.active = value["active"]
            if isinstance(value.get("running"), bool):
                self.running = value["running"]
            self._sync_point(ops, "facts")

    def _meta(self, meta: dict[str, Any], ops: list[tuple[Any, ...]]) -> None:
        self.meta_events.append(meta)
        ops.append((OP_META, meta))

    def _interrupt_messages(self, messages: Iterable[Any]) -> list[dict[str, Any]]:
        """Messages of a ``copilotkit_interrupt`` (AG-UI dicts or CopilotKit JSON) as complete
        output objects."""
        out: list[dict[str, Any]] = []
        now = self.clock()
        for raw in messages:
            if hasattr(raw, "model_dump"):
                raw = raw.model_dump(mode="json", by_alias=True, exclude_none=True)
            if not isinstance(raw, Mapping):
                continue
            mid = str(raw.get("id") or self.make_id())
            calls = raw.get("toolCalls") or raw.get("tool_calls")
            if "result" in raw or raw.get("role") == "tool":
                call_id = raw.get("actionExecutionId") or raw.get("toolCallId") or ""
                out.append({"__typename": RESULT, "id": mid, "createdAt": now,
                            "status": MESSAGE_SUCCESS, "actionExecutionId": call_id,
                            "actionName": raw.get("actionName") or self.action_names.get(call_id, "unknown"),
                            "result": text_of(raw.get("result", raw.get("content")))})
                continue
            if "name" in raw and "arguments" in raw:
                out.append(_action_output(mid, raw["name"], raw["arguments"],
                                          raw.get("parentMessageId"), now))
                continue
            content = raw.get("content")
            if isinstance(content, list) and all(isinstance(c, str) for c in content):
                chunks = list(content)
            else:
                text = text_of(content)
                chunks = [text] if text else []
            if chunks or not calls:
                out.append({"__typename": TEXT, "id": mid, "createdAt": now,
                            "status": MESSAGE_SUCCESS, "role": raw.get("role") or "assistant",
                            "content": chunks, "parentMessageId": raw.get("parentMessageId")})
            for call in calls or ():
                function = call.get("function") or {}
                out.append(_action_output(str(call.get("id") or self.make_id()),
                                          function.get("name", ""), function.get("arguments", ""),
                                          mid, now))
        return out

    # -- the end -------------------------------------------------------------------------------

    def _run_finished(self, event: Any, ops: list[tuple[Any, ...]]) -> None:
        last = self._pending
        if last is not None and last.active:
            self._send_pending(ops)  # a node that was still going: not the end
            last = None
        self._pending = None
        if self.emit_state and (last is not None or self.state or self.synced_messages):
            state = dict(self.state)
            if self.synced_messages is not None:
                state["messages"] = self.synced_messages
            node, running = (last.node, last.running) if last is not None else (self.node_name, self.running)
            self._state_message(ops, node, False, running and not self.exited, state)
        self.status = RESPONSE_SUCCESS
        ops.append((OP_DONE, RESPONSE_SUCCESS))

    def _run_error(self, event: Any, ops: list[tuple[Any, ...]]) -> None:
        self._send_pending(ops)
        for msg in list(self._open.values()):
            msg.fields["status"] = failed_message_status()
            ops.append((OP_MESSAGE_END, msg))
        self._open.clear()
        self.status = failure_for_run_error(event.message, event.code)
        ops.append((OP_DONE, self.status))


def _action_output(mid: str, name: str, arguments: Any, parent: Any, now: str) -> dict[str, Any]:
    args = arguments if isinstance(arguments, str) else dumps_compact(arguments)
    return {"__typename": ACTION, "id": mid, "createdAt": now, "status": MESSAGE_SUCCESS,
            "name": name, "scope": None, "arguments": [args] if args else [],
            "parentMessageId": parent}


def patch_operations(delta: Iterable[Any]) -> list[Any]:
    """A STATE_DELTA's operations as plain JSON Patch dicts (the event holds pydantic models)."""
    return [op.model_dump(mode="json", by_alias=True, exclude_unset=True)
            if hasattr(op, "model_dump") else op for op in delta]


def _without_messages(state: Mapping[str, Any] | None) -> dict[str, Any]:
    if not isinstance(state, Mapping):
        return {}
    return {k: v for k, v in state.items() if k != "messages"}
