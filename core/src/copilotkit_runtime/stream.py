"""Checking and normalising the event stream a provider produces.

Protocol layers rely on a well-formed stream: exactly one ``RUN_STARTED`` first, content only
inside a started message or tool call, steps started once and finished once, exactly one
terminal event last (the rules of the AG-UI client's verifier). Providers are allowed
some shortcuts, which are filled in here: a missing ``RUN_STARTED`` / ``RUN_FINISHED`` is added,
``TEXT_MESSAGE_CHUNK`` / ``TOOL_CALL_CHUNK`` are expanded to START/CONTENT/END, and messages,
tool calls and steps left open at the end are closed. Anything else out of order is a :class:`StreamViolation`, which
the engine turns into a ``RUN_ERROR`` rather than passing a broken stream on.
"""

from __future__ import annotations

from ag_ui.core import (
    BaseEvent,
    EventType,
    RunAgentInput,
    RunErrorEvent,
    RunFinishedEvent,
    RunStartedEvent,
    StepFinishedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallStartEvent,
)

from .events import new_id

_TEXT_CONTENT = EventType.TEXT_MESSAGE_CONTENT
_TOOL_ARGS = EventType.TOOL_CALL_ARGS


class StreamViolation(Exception):
    """The provider's events broke the AG-UI ordering rules."""


class StreamValidator:
    def __init__(self, thread_id: str, run_id: str, run_input: RunAgentInput | None = None) -> None:
        self.thread_id = thread_id
        self.run_id = run_id
        #: put on RUN_STARTED (``input``) when the provider gives none: AG-UI clients restore
        #: user and tool messages from it when they replay a thread.
        self.run_input = run_input
        self.started = False
        self.finished = False
        self.open_text: dict[str, None] = {}
        self.open_tools: dict[str, None] = {}
        self.open_steps: dict[str, None] = {}
        self._chunk_text: str | None = None
        self._chunk_tool: str | None = None

    def feed(self, event: BaseEvent) -> list[BaseEvent]:
        """Check ``event``; return the events to pass on (usually just ``[event]``)."""
        kind = event.type
        # The hot path: content for an open message, nothing pending to close.
        if kind is _TEXT_CONTENT and self._chunk_text is None and self._chunk_tool is None:
            if event.message_id not in self.open_text:  # type: ignore[attr-defined]
                raise StreamViolation(
                    f"TEXT_MESSAGE_CONTENT for message '{event.message_id}' which was not started"  # type: ignore[attr-defined]
                )
            return [event]
        if kind is _TOOL_ARGS and self._chunk_text is None and self._chunk_tool is None:
            if event.tool_call_id not in self.open_tools:  # type: ignore[attr-defined]
                raise StreamViolation(
                    f"TOOL_CALL_ARGS for tool call '{event.tool_call_id}' which was not started"  # type: ignore[attr-defined]
                )
            return [event]
        return self._feed_slow(event)

    def _feed_slow(self, event: BaseEvent) -> list[BaseEvent]:
        kind = event.type
        if self.finished:
            raise StreamViolation(f"{kind.value} after the run had ended")
        out: list[BaseEvent] = []
        if kind is EventType.RUN_STARTED:
            if self.started:
                raise StreamViolation("a second RUN_STARTED in one run")
            self.started = True
            if self.run_input is not None and getattr(event, "input", None) is None:
                event = event.model_copy(update={"input": self.run_input})
            return [event]
        if not self.started:
            out.extend(self._prefix())

        if kind is EventType.TEXT_MESSAGE_CHUNK:
            out.extend(self._close_chunk_tool())
            mid = getattr(event, "message_id", None) or self._chunk_text
            if mid != self._chunk_text:
                out.extend(self._close_chunk_text())
            if mid is None or mid not in self.open_text:
                mid = mid or new_id("msg_")
                role = getattr(event, "role", None) or "assistant"
                out.append(TextMessageStartEvent(message_id=mid, role=role))
                self.open_text[mid] = None
            self._chunk_text = mid
            delta = getattr(event, "delta", None)
            if delta:
                out.append(TextMessageContentEvent(message_id=mid, delta=delta))
            return out
        if kind is EventType.TOOL_CALL_CHUNK:
            out.extend(self._close_chunk_text())
            tcid = getattr(event, "tool_call_id", None) or self._chunk_tool
            if tcid != self._chunk_tool:
                out.extend(self._close_chunk_tool())
            if tcid is None or tcid not in self.open_tools:
                name = getattr(event, "tool_call_name", None)
                if not name:
                    raise StreamViolation("TOOL_CALL_CHUNK starting a tool call without a toolCallName")
                tcid = tcid or new_id("tc_")
                out.append(ToolCallStartEvent(tool_call_id=tcid, tool_call_name=name,
                                              parent_message_id=getattr(event, "parent_message_id", None)))
                self.open_tools[tcid] = None
            self._chunk_tool = tcid
            delta = getattr(event, "delta", None)
            if delta:
                out.append(ToolCallArgsEvent(tool_call_id=tcid, delta=delta))
            return out

        out.extend(self._close_chunk_text())
        out.extend(self._close_chunk_tool())

        if kind is EventType.TEXT_MESSAGE_START:
            mid = event.message_id  # type: ignore[attr-defined]
            if mid in self.open_text:
                raise StreamViolation(f"TEXT_MESSAGE_START for message '{mid}' which is already open")
            self.open_text[mid] = None
        elif kind is _TEXT_CONTENT:
            if event.message_id not in self.open_text:  # type: ignore[attr-defined]
                raise StreamViolation(
                    f"TEXT_MESSAGE_CONTENT for message '{event.message_id}' which was not started"  # type: ignore[attr-defined]
                )
        elif kind is EventType.TEXT_MESSAGE_END:
            if self.open_text.pop(event.message_id, 1) is not None:  # type: ignore[attr-defined]
                raise StreamViolation(
                    f"TEXT_MESSAGE_END for message '{event.message_id}' which was not started"  # type: ignore[attr-defined]
                )
        elif kind is EventType.TOOL_CALL_START:
            tcid = event.tool_call_id  # type: ignore[attr-defined]
            if tcid in self.open_tools:
                raise StreamViolation(f"TOOL_CALL_START for tool call '{tcid}' which is already open")
            self.open_tools[tcid] = None
        elif kind is _TOOL_ARGS:
            if event.tool_call_id not in self.open_tools:  # type: ignore[attr-defined]
                raise StreamViolation(
                    f"TOOL_CALL_ARGS for tool call '{event.tool_call_id}' which was not started"  # type: ignore[attr-defined]
                )
        elif kind is EventType.TOOL_CALL_END:
            if self.open_tools.pop(event.tool_call_id, 1) is not None:  # type: ignore[attr-defined]
                raise StreamViolation(
                    f"TOOL_CALL_END for tool call '{event.tool_call_id}' which was not started"  # type: ignore[attr-defined]
                )
        elif kind is EventType.STEP_STARTED:
            name = event.step_name  # type: ignore[attr-defined]
            if name in self.open_steps:
                raise StreamViolation(f"STEP_STARTED for step '{name}' which is already active")
            self.open_steps[name] = None
        elif kind is EventType.STEP_FINISHED:
            if self.open_steps.pop(event.step_name, 1) is not None:  # type: ignore[attr-defined]
                raise StreamViolation(
                    f"STEP_FINISHED for step '{event.step_name}' which is not active"  # type: ignore[attr-defined]
                )
        elif kind is EventType.RUN_FINISHED or kind is EventType.RUN_ERROR:
            out.extend(self._close_all())
            self.finished = True
        out.append(event)
        return out

    def _close_chunk_text(self) -> list[BaseEvent]:
        mid, self._chunk_text = self._chunk_text, None
        if mid is not None and mid in self.open_text:
            del self.open_text[mid]
            return [TextMessageEndEvent(message_id=mid)]
        return []

    def _close_chunk_tool(self) -> list[BaseEvent]:
        tcid, self._chunk_tool = self._chunk_tool, None
        if tcid is not None and tcid in self.open_tools:
            del self.open_tools[tcid]
            return [ToolCallEndEvent(tool_call_id=tcid)]
        return []

    def _close_all(self) -> list[BaseEvent]:
        out = self._close_chunk_text() + self._close_chunk_tool()
        out.extend(TextMessageEndEvent(message_id=m) for m in self.open_text)
        out.extend(ToolCallEndEvent(tool_call_id=t) for t in self.open_tools)
        out.extend(StepFinishedEvent(step_name=name) for name in reversed(self.open_steps))
        self.open_text.clear()
        self.open_tools.clear()
        self.open_steps.clear()
        return out

    def _prefix(self) -> list[BaseEvent]:
        if self.started:
            return []
        self.started = True
        return [RunStartedEvent(thread_id=self.thread_id, run_id=self.run_id, input=self.run_input)]

    def finish(self) -> list[BaseEvent]:
        """The provider ended: close what is open and add ``RUN_FINISHED`` if it is missing."""
        if self.finished:
            return []
        out = self._prefix() + self._close_all()
        out.append(RunFinishedEvent(thread_id=self.thread_id, run_id=self.run_id))
        self.finished = True
        return out

    def fail(self, message: str, code: str) -> list[BaseEvent]:
        """End the run with ``RUN_ERROR`` (closing what is open), unless it already ended."""
        if self.finished:
            return []
        out = self._prefix() + self._close_all()
        out.append(RunErrorEvent(message=message, code=code))
        self.finished = True
        return out
