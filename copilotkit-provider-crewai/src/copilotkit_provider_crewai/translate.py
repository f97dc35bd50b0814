"""CrewAI events → AG-UI events, for one run.

What a run shows the client (see the README for the full table):

* a flow method starting: ``STEP_STARTED`` (and a ``STATE_SNAPSHOT`` if the state changed);
  finishing: the messages it added to ``state.messages`` (text messages, tool calls, tool
  results) unless they were already streamed, a ``STATE_SNAPSHOT`` if the state changed, and
  ``STEP_FINISHED``;
* text and tool calls an LLM streams in a flow step (``crewai.LLM(stream=True)``): streamed as
  ``TEXT_MESSAGE_*`` / ``TOOL_CALL_*``; calls made by crew agents are progress, not chat;
* crew tasks inside the run: ``STEP_STARTED`` / ``STEP_FINISHED`` named after the task;
* at the end: the final ``STATE_SNAPSHOT``, a ``MESSAGES_SNAPSHOT`` when the state keeps
  ``messages``, and ``CUSTOM copilotkit_agent_state`` naming the last method (inactive;
  ``running`` false after ``copilotkit_exit``), for the GraphQL layer's final state message
  (the SDK's final ``AgentStateMessage``).

The snapshots leave out ``messages`` (sent as messages), ``copilotkit`` (the request's
actions, not the agent's state) and ``id`` (the flow's state id, which is the thread id).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    EventType,
    MessagesSnapshotEvent,
    StateSnapshotEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)

from copilotkit_runtime.events import AGENT_STATE_EVENT, EXIT_EVENT, new_id, text_message, tool_call

from .messages import message_id_of, openai_to_agui, plain
from .partial_json import parse_partial_json

PRIVATE_STATE_KEYS = frozenset({"messages", "copilotkit", "id"})
PREDICT_STATE_EVENT = "PredictState"


def public_state(state: Any) -> dict[str, Any]:
    """The part of a flow state the client sees as the agent's state."""
    data = plain(state)
    if not isinstance(data, dict):
        return {"value": data}
    return {k: v for k, v in data.items() if k not in PRIVATE_STATE_KEYS}


@dataclass
class _Streamed:
    """A message the client already has, made of streamed events."""

    message_id: str
    text: list[str] = field(default_factory=list)
    tool_call_ids: list[str] = field(default_factory=list)
    claimed: bool = False


@dataclass
class _LLMStream:
    message_id: str | None = None
    text_open: bool = False
    open_tool: str | None = None
    tool_names: dict[str, str] = field(default_factory=dict)
    tool_args: dict[str, str] = field(default_factory=dict)


class RunTranslator:
    def __init__(self, *, run_id: str, input_message_ids: list[str], root: Any = None,
                 initial_state: dict[str, Any] | None = None,
                 tool_names: list[str] | None = None) -> None:
        self.run_id = run_id
        self.tool_aliases = tool_aliases(tool_names or [])
        self.root = root
        self.known_ids: set[str] = set(input_message_ids)
        self.index_ids: dict[int, str] = {}
        self.streamed: dict[str, _Streamed] = {}
        self.known_tool_calls: set[str] = set()
        self.llm_streams: dict[str, _LLMStream] = {}
        self.node_name: str | None = None
        self.failed_step: str | None = None
        self.failed_error: BaseException | None = None
        self.last_state: dict[str, Any] = dict(initial_state or {})
        self.predict: dict[str, dict[str, Any]] = {}
        self.helper_calls: dict[str, list[str]] = {}
        self.open_tasks: dict[str, str] = {}
        self.sent_state = False
        self.exited = False
        # ag_ui_crewai.sdk's chunk events: the message or tool call they are filling
        self.bridged_open: tuple[str, str] | None = None
        self.bridged_open_id: str | None = None  # the message the chunks belong to

    # -- CrewAI events -------------------------------------------------------------------------

    def on_crewai(self, source: Any, event: Any) -> list[BaseEvent]:
        if isinstance(event, BaseEvent):
            # An AG-UI event on CrewAI's bus: what ag_ui_crewai.sdk's helpers emit.
            return self._bridged(event)
        kind = getattr(event, "type", "")
        handler = _HANDLERS.get(kind)
        return handler(self, source, event) if handler is not None else []

    def _bridged(self, event: BaseEvent) -> list[BaseEvent]:
        """``ag_ui_crewai.sdk`` (``copilotkit_stream``, ``copilotkit_emit_state``,
        ``copilotkit_predict_state``, ``copilotkit_exit``, ...) emits AG-UI events, some as
        ``*_CHUNK`` events, on CrewAI's event bus: the same events here, chunks opened and
        closed as START / CONTENT / END."""
        plain_event = _plain_agui(event)
        kind = plain_event.type
        out: list[BaseEvent] = []
        if kind is EventType.TEXT_MESSAGE_CHUNK:
            message_id = plain_event.message_id or self.bridged_open_id or new_id("msg_")  # type: ignore[attr-defined]
            if self.bridged_open != ("text", message_id):
                out.extend(self._close_bridged())
                self.bridged_open, self.bridged_open_id = ("text", message_id), message_id
                out.extend(self.on_agui(TextMessageStartEvent(message_id=message_id,
                                                              role="assistant")))
            if plain_event.delta:  # type: ignore[attr-defined]
                out.extend(self.on_agui(TextMessageContentEvent(
                    message_id=message_id, delta=plain_event.delta)))  # type: ignore[attr-defined]
            return out
        if kind is EventType.TOOL_CALL_CHUNK:
            call_id = plain_event.tool_call_id or (self.bridged_open or ("", ""))[1]  # type: ignore[attr-defined]
            if not call_id:
                return []
            if self.bridged_open != ("tool", call_id):
                out.extend(self._close_bridged())
                self.bridged_open = ("tool", call_id)
                name = plain_event.tool_call_name or ""  # type: ignore[attr-defined]
                out.extend(self.on_agui(ToolCallStartEvent(
                    tool_call_id=call_id, tool_call_name=self.tool_aliases.get(name, name),
                    parent_message_id=plain_event.parent_message_id or self.bridged_open_id)))  # type: ignore[attr-defined]
            if plain_event.delta:  # type: ignore[attr-defined]
                out.extend(self.on_agui(ToolCallArgsEvent(tool_call_id=call_id,
                                                          delta=plain_event.delta)))  # type: ignore[attr-defined]
            return out
        out.extend(self._close_bridged())
        if kind is EventType.CUSTOM and plain_event.name == "Exit":  # type: ignore[attr-defined]
            plain_event = CustomEvent(name=EXIT_EVENT, value=True)
        out.extend(self.on_agui(plain_event))
        return out

    def _close_bridged(self) -> list[BaseEvent]:
        open_, self.bridged_open = self.bridged_open, None
        if open_ is None:
            return []
        kind, ident = open_
        if kind == "text":
            return [TextMessageEndEvent(message_id=ident)]
        return [ToolCallEndEvent(tool_call_id=ident)]

    def _is_root(self, source: Any) -> bool:
        return self.root is None or source is self.root

    def _method_started(self, source: Any, event: Any) -> list[BaseEvent]:
        if not self._is_root(source):
            return []
        self.node_name = event.method_name
        out: list[BaseEvent] = [StepStartedEvent(step_name=event.method_name)]
        out.extend(self._snapshot_if_changed(public_state(event.state)))
        return out

    def _method_finished(self, source: Any, event: Any) -> list[BaseEvent]:
        if not self._is_root(source):
            return []
        out = self._close_llm_streams()
        out.extend(self._close_bridged())
        self.bridged_open_id = None
        data = plain(event.state)
        if isinstance(data, dict):
            out.extend(self.new_message_events(data.get("messages")))
        out.extend(self._snapshot_if_changed(public_state(data)))
        self.predict = {}  # predictions last until the step ends (SDK semantics)
        out.append(StepFinishedEvent(step_name=event.method_name))
        return out

    def _snapshot_if_changed(self, state: dict[str, Any]) -> list[BaseEvent]:
        if state == self.last_state and self.sent_state:
            return []
        self.last_state = state
        self.sent_state = True
        return [StateSnapshotEvent(snapshot=state)]

    def _method_failed(self, source: Any, event: Any) -> list[BaseEvent]:
        if self._is_root(source) and self.failed_step is None:
            self.failed_step = event.method_name
            self.failed_error = event.error
        return []

    def _task_started(self, source: Any, event: Any) -> list[BaseEvent]:
        label = base = _task_label(event)
        number = 2
        while label in self.open_tasks.values():  # same-named tasks running in parallel
            label = f"{base} ({number})"
            number += 1
        self.open_tasks[_task_key(event)] = label
        return [StepStartedEvent(step_name=label)]

    def _task_finished(self, source: Any, event: Any) -> list[BaseEvent]:
        label = self.open_tasks.pop(_task_key(event), None)
        return [StepFinishedEvent(step_name=label)] if label is not None else []

    @staticmethod
    def _from_agent(event: Any) -> bool:
        return bool(getattr(event, "agent_id", None) or getattr(event, "task_id", None)
                    or getattr(event, "from_agent", None) or getattr(event, "from_task", None))

    def _llm_chunk(self, source: Any, event: Any) -> list[BaseEvent]:
        if self._from_agent(event):
            return []
        stream = self.llm_streams.setdefault(event.call_id, _LLMStream())
        out: list[BaseEvent] = []
        call = getattr(event, "tool_call", None)
        if call is None:
            if not event.chunk:
                return []
            if stream.open_tool is not None:
                out.append(ToolCallEndEvent(tool_call_id=stream.open_tool))
                stream.open_tool = None
            if not stream.text_open:
                stream.message_id = stream.message_id or new_id("msg_")
                stream.text_open = True
                out.append(TextMessageStartEvent(message_id=stream.message_id, role="assistant"))
                self._streamed(stream.message_id)
            self.streamed[stream.message_id].text.append(event.chunk)  # type: ignore[index]
            out.append(TextMessageContentEvent(message_id=stream.message_id, delta=event.chunk))  # type: ignore[arg-type]
            return out
        tool_id = call.id or stream.open_tool or f"call_{event.call_id}_{call.index}"
        if tool_id != stream.open_tool:
            if stream.text_open:
                out.append(TextMessageEndEvent(message_id=stream.message_id))  # type: ignore[arg-type]
                stream.text_open = False
            if stream.open_tool is not None:
                out.append(ToolCallEndEvent(tool_call_id=stream.open_tool))
            stream.message_id = stream.message_id or new_id("msg_")
            name = self.tool_aliases.get(call.function.name or "", call.function.name or "")
            stream.open_tool = tool_id
            stream.tool_names[tool_id] = name
            stream.tool_args[tool_id] = ""
            out.append(ToolCallStartEvent(tool_call_id=tool_id, tool_call_name=name,
                                          parent_message_id=stream.message_id))
            self._streamed(stream.message_id).tool_call_ids.append(tool_id)
            self.known_tool_calls.add(tool_id)
        if event.chunk:
            stream.tool_args[tool_id] += event.chunk
            out.append(ToolCallArgsEvent(tool_call_id=tool_id, delta=event.chunk))
            out.extend(self._predicted(stream.tool_names.get(tool_id, ""), stream.tool_args[tool_id]))
        return out

    def _llm_done(self, source: Any, event: Any) -> list[BaseEvent]:
        if self._from_agent(event):
            return []
        stream = self.llm_streams.pop(event.call_id, None)
        return self._close(stream) if stream is not None else []

    def _close(self, stream: _LLMStream) -> list[BaseEvent]:
        out: list[BaseEvent] = []
        if stream.text_open and stream.message_id:
            out.append(TextMessageEndEvent(message_id=stream.message_id))
            stream.text_open = False
        if stream.open_tool is not None:
            out.append(ToolCallEndEvent(tool_call_id=stream.open_tool))
            stream.open_tool = None
        return out

    def _close_llm_streams(self) -> list[BaseEvent]:
        out: list[BaseEvent] = []
        for stream in self.llm_streams.values():
            out.extend(self._close(stream))
        self.llm_streams.clear()
        return out

    def _streamed(self, message_id: str) -> _Streamed:
        record = self.streamed.get(message_id)
        if record is None:
            record = self.streamed[message_id] = _Streamed(message_id)
            self.known_ids.add(message_id)
        return record

    # -- events from the SDK helpers -----------------------------------------------------------

    def on_agui(self, event: BaseEvent) -> list[BaseEvent]:
        kind = event.type
        out: list[BaseEvent] = [event]
        if kind is EventType.TEXT_MESSAGE_START:
            self._streamed(event.message_id)  # type: ignore[attr-defined]
        elif kind is EventType.TEXT_MESSAGE_CONTENT:
            record = self.streamed.get(event.message_id)  # type: ignore[attr-defined]
            if record is not None:
                record.text.append(event.delta)  # type: ignore[attr-defined]
        elif kind is EventType.TOOL_CALL_START:
            parent = event.parent_message_id or event.tool_call_id  # type: ignore[attr-defined]
            self._streamed(parent).tool_call_ids.append(event.tool_call_id)  # type: ignore[attr-defined]
            self.known_tool_calls.add(event.tool_call_id)  # type: ignore[attr-defined]
            self.helper_calls[event.tool_call_id] = [event.tool_call_name, ""]  # type: ignore[attr-defined]
        elif kind is EventType.TOOL_CALL_ARGS:
            call = self.helper_calls.get(event.tool_call_id)  # type: ignore[attr-defined]
            if call is not None:
                call[1] += event.delta  # type: ignore[attr-defined]
                out.extend(self._predicted(call[0], call[1]))
        elif kind is EventType.TOOL_CALL_RESULT:
            self.known_ids.add(event.message_id)  # type: ignore[attr-defined]
        elif kind is EventType.STATE_SNAPSHOT:
            snapshot = event.snapshot  # type: ignore[attr-defined]
            state = public_state(snapshot)
            self.last_state = state
            self.sent_state = True
            out = [StateSnapshotEvent(snapshot=state)]
        elif kind is EventType.CUSTOM:
            if event.name == PREDICT_STATE_EVENT:  # type: ignore[attr-defined]
                for entry in event.value or []:  # type: ignore[attr-defined]
                    self.predict[entry["state_key"]] = entry
            elif event.name == EXIT_EVENT:  # type: ignore[attr-defined]
                self.exited = True
        return out

    def _predicted(self, tool_name: str, arguments: str) -> list[BaseEvent]:
        if not self.predict or not tool_name:
            return []
        parsed: Any = None
        out: list[BaseEvent] = []
        for key, entry in self.predict.items():
            if entry.get("tool") != tool_name:
                continue
            if parsed is None:
                parsed = parse_partial_json(arguments)
                if parsed is None:
                    return []
            argument = entry.get("tool_argument")
            if argument:
                if not isinstance(parsed, dict) or argument not in parsed:
                    continue
                value = parsed[argument]
            else:
                value = parsed
            self.last_state = {**self.last_state, key: value}
            out.append(StateSnapshotEvent(snapshot=self.last_state))
        return out

    # -- messages the flow added ----------------------------------------------------------------

    def new_message_events(self, messages: Any) -> list[BaseEvent]:
        """Events for messages in ``state.messages`` the client does not have yet."""
        if not isinstance(messages, list):
            return []
        out: list[BaseEvent] = []
        for index, message in enumerate(messages):
            mid = message_id_of(message) or self.index_ids.get(index)
            if mid is not None and mid in self.known_ids:
                self.index_ids[index] = mid
                continue
            converted = self._convert(message, mid or new_id("msg_"))
            if converted is None:
                continue
            if converted["role"] == "assistant" and mid is None:
                claimed = self._claim_streamed(converted)
                if claimed is not None:
                    self.index_ids[index] = claimed
                    continue
            mid = converted["id"]
            self.index_ids[index] = mid
            self.known_ids.add(mid)
            if converted["role"] == "assistant":
                if converted.get("content"):
                    out.extend(text_message(converted["content"], message_id=mid))
                for call in converted.get("toolCalls", []):
                    if call["id"] in self.known_tool_calls:
                        continue
                    self.known_tool_calls.add(call["id"])
                    out.extend(tool_call(call["function"]["name"], call["function"]["arguments"],
                                         tool_call_id=call["id"], parent_message_id=mid))
            elif converted["role"] == "tool":
                out.append(ToolCallResultEvent(message_id=mid, tool_call_id=converted["toolCallId"],
                                               content=converted["content"], role="tool"))
        return out

    def _convert(self, message: Any, fallback_id: str) -> dict[str, Any] | None:
        converted = openai_to_agui(message, fallback_id)
        if converted is not None and self.tool_aliases:
            for call in converted.get("toolCalls", []):
                name = call["function"]["name"]
                call["function"]["name"] = self.tool_aliases.get(name, name)
        return converted

    def _claim_streamed(self, converted: dict[str, Any]) -> str | None:
        """An id-less assistant message the flow stored after streaming it: reuse the id."""
        calls = [c["id"] for c in converted.get("toolCalls", [])]
        content = converted.get("content") or ""
        for record in self.streamed.values():
            if record.claimed:
                continue
            if (calls and set(calls) <= set(record.tool_call_ids)) or (
                    not calls and content and "".join(record.text) == content):
                record.claimed = True
                return record.message_id
        return None

    def message_snapshot(self, messages: list[Any]) -> MessagesSnapshotEvent:
        converted = []
        for index, message in enumerate(messages):
            fallback = self.index_ids.get(index) or f"{self.run_id}-{index}"
            item = self._convert(message, fallback)
            if item is not None:
                converted.append(item)
        return MessagesSnapshotEvent(messages=converted)  # type: ignore[arg-type]

    # -- the end -------------------------------------------------------------------------------

    def finish(self, final_state: Any) -> list[BaseEvent]:
        out = self._close_llm_streams()
        data = plain(final_state)
        messages = data.get("messages") if isinstance(data, dict) else None
        if isinstance(messages, list):
            out.extend(self.new_message_events(messages))
        state = public_state(data)
        self.last_state = state
        out.append(StateSnapshotEvent(snapshot=state))
        if isinstance(messages, list):
            out.append(self.message_snapshot(messages))
        out.append(self._agent_state(active=False, running=not self.exited))
        return out

    def _agent_state(self, *, active: bool, running: bool = True) -> CustomEvent:
        return CustomEvent(name=AGENT_STATE_EVENT,
                           value={"nodeName": self.node_name or "", "active": active,
                                  "running": running})


def tool_aliases(names: list[str]) -> dict[str, str]:
    """CrewAI's LLM classes rename tools (``showAlert`` → ``show_alert``) before sending them to
    the model; map the names the model calls back to the frontend's."""
    from crewai.utilities.string_utils import sanitize_tool_name

    aliases = {}
    for name in names:
        sanitized = sanitize_tool_name(name)
        if sanitized != name and sanitized not in names:
            aliases[sanitized] = name
    return aliases


def _task_key(event: Any) -> str:
    task = getattr(event, "task", None)
    return str(getattr(task, "id", None) or getattr(event, "task_id", None) or _task_label(event))


def _task_label(event: Any) -> str:
    task = getattr(event, "task", None)
    name = getattr(event, "task_name", None) or getattr(task, "name", None)
    if not name:
        description = getattr(task, "description", None) or "task"
        name = description if len(description) <= 60 else description[:57] + "..."
    return f"task: {name}"


_HANDLERS = {
    "method_execution_started": RunTranslator._method_started,
    "method_execution_finished": RunTranslator._method_finished,
    "method_execution_failed": RunTranslator._method_failed,
    "task_started": RunTranslator._task_started,
    "task_completed": RunTranslator._task_finished,
    "task_failed": RunTranslator._task_finished,
    "llm_stream_chunk": RunTranslator._llm_chunk,
    "llm_call_completed": RunTranslator._llm_done,
    "llm_call_failed": RunTranslator._llm_done,
}


def _plain_agui(event: BaseEvent) -> BaseEvent:
    """The AG-UI event itself, without the CrewAI event fields a bridged event also has."""
    for cls in type(event).__mro__:
        if cls.__module__.split(".", 1)[0] == "ag_ui":  # the AG-UI package's own model
            if cls is type(event):
                return event
            # (``timestamp`` is CrewAI's datetime there, not AG-UI's milliseconds)
            fields = set(cls.model_fields) - {"timestamp", "raw_event"}  # type: ignore[attr-defined]
            return cls.model_validate({k: getattr(event, k) for k in fields if hasattr(event, k)})  # type: ignore[attr-defined]
    return event


def dumps(value: Any) -> str:
    return json.dumps(plain(value))
