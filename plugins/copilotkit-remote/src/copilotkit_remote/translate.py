"""The remote endpoint's answer (JSON lines of LangGraph events, as the CopilotKit SDK's
``LangGraphAgent`` streams them) as AG-UI events, the way the TypeScript runtime 1.10.6 reads
them (``RemoteLangGraphEventSource``):

* ``on_copilotkit_state_sync``: ``STATE_SNAPSHOT`` (without ``messages`` and ``copilotkit``)
  and the ``copilotkit_agent_state`` custom event (node, active, running);
* ``on_chat_model_stream``: text and tool-call chunks, unless the node's metadata hides them
  (``copilotkit:emit-messages`` / ``copilotkit:emit-tool-calls``); ``on_chat_model_end``
  closes them;
* ``on_custom_event`` ``copilotkit_manually_emit_message`` / ``..._tool_call`` /
  ``copilotkit_exit``; ``on_interrupt`` and ``on_copilotkit_interrupt``: the interrupts.

Everything else (chain starts and ends, raw model events) is dropped.
"""

from __future__ import annotations

import json
from typing import Any

from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallStartEvent,
)

from copilotkit_runtime.events import (
    COPILOTKIT_INTERRUPT_EVENT,
    EXIT_EVENT,
    INTERRUPT_EVENT,
)

from .open_messages import OpenMessages, state_events

HIDDEN_STATE_KEYS = ("messages", "copilotkit")


class RemoteEventTranslator(OpenMessages):
    def __init__(self) -> None:
        super().__init__()
        #: tool call index -> id, per model message (chunks after the first carry no id)
        self.tool_ids: dict[Any, str] = {}
        self.model_message: str | None = None

    def feed(self, event: dict[str, Any]) -> list[BaseEvent]:
        kind = event.get("event")
        if kind == "on_chat_model_stream":
            return self._stream(event)
        if kind == "on_copilotkit_state_sync":
            raw = event.get("state")
            state: dict[str, Any] = raw if isinstance(raw, dict) else {}
            return [*self._close(), *state_events(
                state, HIDDEN_STATE_KEYS, node=event.get("node_name"), active=event.get("active"),
                running=bool(event.get("running", True)))]
        if kind == "on_chat_model_end":
            return self._close()
        if kind == "on_custom_event":
            return self._custom(event.get("name"), event.get("data") or {})
        if kind == "on_interrupt":
            return [*self._close(), CustomEvent(name=INTERRUPT_EVENT, value=event.get("value"))]
        if kind == "on_copilotkit_interrupt":
            data = event.get("data") or {}
            return [*self._close(), CustomEvent(name=COPILOTKIT_INTERRUPT_EVENT, value={
                "value": data.get("value"), "messages": data.get("messages") or []})]
        return []

    # -- model output --------------------------------------------------------------------------

    def _stream(self, event: dict[str, Any]) -> list[BaseEvent]:
        metadata = event.get("metadata") or {}
        chunk = ((event.get("data") or {}).get("chunk") or {})
        fields = chunk.get("kwargs", chunk) if isinstance(chunk, dict) else {}
        message_id = str(fields.get("id") or event.get("run_id") or "message")
        if message_id != self.model_message:
            out = self._close()
            self.model_message = message_id
            self.tool_ids = {}
        else:
            out = []
        text = _text(fields.get("content"))
        if text and metadata.get("copilotkit:emit-messages", True) is not False:
            if self.tool_id is not None:
                out += self._end_tool()
            if self.text_id is None:
                self.text_id = message_id
                out.append(TextMessageStartEvent(message_id=message_id, role="assistant"))
            out.append(TextMessageContentEvent(message_id=message_id, delta=text))
        emit_tools = metadata.get("copilotkit:emit-tool-calls", True)
        for tc in fields.get("tool_call_chunks") or ():
            name, index = tc.get("name"), tc.get("index", 0)
            if name and emit_tools is not False and (emit_tools is True or name in emit_tools):
                out += self._end_text() + self._end_tool()
                call_id = str(tc.get("id") or f"{message_id}-{index}")
                self.tool_ids[index] = call_id
                self.tool_id = call_id
                out.append(ToolCallStartEvent(tool_call_id=call_id, tool_call_name=name,
                                              parent_message_id=message_id))
            current = self.tool_ids.get(index)
            if current is not None and current == self.tool_id and tc.get("args"):
                out.append(ToolCallArgsEvent(tool_call_id=current, delta=tc["args"]))
        return out

    def _custom(self, name: Any, data: dict[str, Any]) -> list[BaseEvent]:
        if name == "copilotkit_manually_emit_message":
            mid = str(data.get("message_id") or "message")
            return [*self._close(),
                    TextMessageStartEvent(message_id=mid, role="assistant"),
                    TextMessageContentEvent(message_id=mid, delta=str(data.get("message") or " ")),
                    TextMessageEndEvent(message_id=mid)]
        if name == "copilotkit_manually_emit_tool_call":
            call_id = str(data.get("id") or "tool-call")
            args = data.get("args")
            return [*self._close(),
                    ToolCallStartEvent(tool_call_id=call_id, tool_call_name=str(data.get("name")),
                                       parent_message_id=call_id),
                    ToolCallArgsEvent(tool_call_id=call_id,
                                      delta=args if isinstance(args, str) else json.dumps(args)),
                    ToolCallEndEvent(tool_call_id=call_id)]
        if name == "copilotkit_exit":
            return [*self._close(), CustomEvent(name=EXIT_EVENT, value=True)]
        return []



def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""
