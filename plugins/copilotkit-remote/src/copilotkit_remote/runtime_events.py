"""The remote endpoint's answer for **CrewAI** agents (``copilotkit.crewai.CrewAIAgent``, listed
by ``/info`` with ``type: "crewai"``) as AG-UI events.

For CrewAI the SDK speaks the runtime's own event vocabulary (``copilotkit/protocol.py``): JSON
lines of ``TextMessageStart/Content/End``, ``ActionExecutionStart/Args/End/Result`` and
``AgentStateMessage`` (state as a JSON string), which the TypeScript runtime 1.10.6 passes
through unchanged. Here they become the AG-UI events the engine runs on:

* text and tool calls: ``TEXT_MESSAGE_*`` / ``TOOL_CALL_*``. The SDK's ``copilotkit_stream``
  sends every streamed message with ``messageId ""`` (a bug of SDK 0.1.67 to 0.1.96): each such
  message gets an id of its own here, so two answers never merge;
* ``AgentStateMessage``: ``STATE_SNAPSHOT`` (its state without ``messages``, ``copilotkit`` and
  the flow's ``id``) and the ``copilotkit_agent_state`` custom event (node, active, running);
  ``running: false`` (the flow called ``copilotkit_exit()``) is the exit;
* anything else is dropped (the SDK keeps its lifecycle events to itself).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    TextMessageContentEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
)

from copilotkit_runtime.events import EXIT_EVENT

from .open_messages import OpenMessages, state_events

#: the keys of a flow's state clients do not see as agent state
HIDDEN_FLOW_STATE_KEYS = ("messages", "copilotkit", "id")

#: the event types of the SDK's runtime protocol (``RuntimeEventTypes``)
RUNTIME_EVENT_TYPES = frozenset({
    "TextMessageStart", "TextMessageContent", "TextMessageEnd", "ActionExecutionStart",
    "ActionExecutionArgs", "ActionExecutionEnd", "ActionExecutionResult", "AgentStateMessage",
    "MetaEvent"})


class RuntimeEventTranslator(OpenMessages):
    def __init__(self) -> None:
        super().__init__()
        #: the SDK's message / call id -> ours (only ids the SDK left empty are replaced)
        self.ids: dict[str, str] = {}
        self.exited = False

    def feed(self, event: dict[str, Any]) -> list[BaseEvent]:
        kind = event.get("type")
        if kind == "TextMessageStart":
            out = self._close()
            self.text_id = self._new_id(event.get("messageId"))
            return [*out, TextMessageStartEvent(message_id=self.text_id, role="assistant")]
        if kind == "TextMessageContent":
            content = event.get("content")
            if not isinstance(content, str) or not content:
                return []
            mid = self._id(event.get("messageId"))
            out = []
            if self.text_id != mid:  # content without a start: open the message
                out = self._close()
                self.text_id = mid
                out.append(TextMessageStartEvent(message_id=mid, role="assistant"))
            return [*out, TextMessageContentEvent(message_id=mid, delta=content)]
        if kind == "TextMessageEnd":
            return self._end_text() if self.text_id == self._id(event.get("messageId")) else []
        if kind == "ActionExecutionStart":
            out = self._close()
            self.tool_id = self._new_id(event.get("actionExecutionId"))
            parent = event.get("parentMessageId")  # "" from copilotkit_stream: none
            return [*out, ToolCallStartEvent(
                tool_call_id=self.tool_id, tool_call_name=str(event.get("actionName") or ""),
                parent_message_id=parent if isinstance(parent, str) and parent else None)]
        if kind == "ActionExecutionArgs":
            args = event.get("args")
            call_id = self._id(event.get("actionExecutionId"))
            if call_id != self.tool_id or not isinstance(args, str) or not args:
                return []
            return [ToolCallArgsEvent(tool_call_id=call_id, delta=args)]
        if kind == "ActionExecutionEnd":
            return self._end_tool() if self.tool_id == self._id(event.get("actionExecutionId")) else []
        if kind == "ActionExecutionResult":
            result = event.get("result")
            return [*self._close(), ToolCallResultEvent(
                message_id=str(uuid.uuid4()), tool_call_id=self._id(event.get("actionExecutionId")),
                content=result if isinstance(result, str) else json.dumps(result), role="tool")]
        if kind == "AgentStateMessage":
            return [*self._close(), *self._state(event)]
        return []

    def _state(self, event: dict[str, Any]) -> list[BaseEvent]:
        raw = event.get("state")
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raw = {}
        state = raw if isinstance(raw, dict) else {}
        running = event.get("running", True) is not False
        out = state_events(state, HIDDEN_FLOW_STATE_KEYS, node=event.get("nodeName"),
                           active=event.get("active"), running=running)
        if not running and not self.exited:
            self.exited = True
            out.insert(0, CustomEvent(name=EXIT_EVENT, value=True))
        return out

    def _new_id(self, sent: Any) -> str:
        if isinstance(sent, str) and sent:
            return sent
        made = str(uuid.uuid4())
        self.ids[""] = made
        return made

    def _id(self, sent: Any) -> str:
        if isinstance(sent, str) and sent:
            return sent
        return self.ids.get("", "") or self._new_id(None)
