"""What both translators of a remote endpoint's answer share: the one text message and the one
tool call that may be open at a time (a new one, a state update or the end closes them), and
the pair of events an agent-state update becomes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    StateSnapshotEvent,
    TextMessageEndEvent,
    ToolCallEndEvent,
)

from copilotkit_runtime.events import AGENT_STATE_EVENT


class OpenMessages:
    def __init__(self) -> None:
        self.text_id: str | None = None
        self.tool_id: str | None = None

    def close(self) -> list[BaseEvent]:
        """The end events of whatever is still open (called when the answer ends)."""
        return self._close()

    def _end_text(self) -> list[BaseEvent]:
        if self.text_id is None:
            return []
        mid, self.text_id = self.text_id, None
        return [TextMessageEndEvent(message_id=mid)]

    def _end_tool(self) -> list[BaseEvent]:
        if self.tool_id is None:
            return []
        call_id, self.tool_id = self.tool_id, None
        return [ToolCallEndEvent(tool_call_id=call_id)]

    def _close(self) -> list[BaseEvent]:
        return self._end_text() + self._end_tool()


def state_events(state: dict[str, Any], hidden: Iterable[str], *, node: Any, active: Any,
                 running: bool) -> list[BaseEvent]:
    """``STATE_SNAPSHOT`` (without the ``hidden`` keys) and the ``copilotkit_agent_state``
    custom event (node, active, running) that one agent-state update becomes."""
    hide = frozenset(hidden)
    return [StateSnapshotEvent(snapshot={k: v for k, v in state.items() if k not in hide}),
            CustomEvent(name=AGENT_STATE_EVENT, value={
                "nodeName": node, "active": bool(active), "running": running})]
