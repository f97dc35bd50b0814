"""Small helpers shared by the tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from ag_ui.core import AssistantMessage, FunctionCall, Tool, ToolCall, ToolMessage, UserMessage

from copilotkit_runtime.events import event_to_dict
from copilotkit_runtime.runtime import Runtime
from copilotkit_runtime.testing import make_runtime, run_request

__all__ = ["AssistantMessage", "ToolMessage", "UserMessage", "action", "collect", "crewai_runtime",
           "run_request", "texts", "types"]


def action(name: str = "showAlert") -> Tool:
    return Tool(name=name, description=f"The {name} frontend action",
                parameters={"type": "object", "properties": {"value": {"type": "string"}}})


@asynccontextmanager
async def crewai_runtime(tmp_path: Path, **agents: dict[str, Any]) -> AsyncIterator[Runtime]:
    config = {"agents": {name: {"provider": "crewai", **options} for name, options in agents.items()}}
    runtime = make_runtime(config, tmp_path=tmp_path, load_entry_points=True)
    await runtime.startup()
    try:
        yield runtime
    finally:
        await runtime.shutdown()


async def collect(runtime: Runtime, request: Any) -> list[dict[str, Any]]:
    return [event_to_dict(e) async for e in runtime.engine.stream(request)]


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def texts(events: list[dict[str, Any]]) -> list[str]:
    """The text of each streamed text message, in order."""
    by_id: dict[str, list[str]] = {}
    order: list[str] = []
    for e in events:
        if e["type"] == "TEXT_MESSAGE_START":
            by_id[e["messageId"]] = []
            order.append(e["messageId"])
        elif e["type"] == "TEXT_MESSAGE_CONTENT":
            by_id[e["messageId"]].append(e["delta"])
    return ["".join(by_id[m]) for m in order]


def tool_message_history(text: str, call_name: str, result: str) -> list[Any]:
    """A conversation where the assistant called a frontend action and the frontend answered."""
    call_id = f"call_{uuid.uuid4().hex[:8]}"
    return [
        UserMessage(id=str(uuid.uuid4()), content=text),
        AssistantMessage(id=call_id, tool_calls=[ToolCall(id=call_id, type="function",
                                                          function=FunctionCall(name=call_name, arguments="{}"))]),
        ToolMessage(id=str(uuid.uuid4()), content=result, tool_call_id=call_id),
    ]
