"""Shared by the Anthropic plugin's tests: backend actions (a plugin module), HTTP helpers."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from copilotkit_runtime import hookimpl
from copilotkit_runtime.actions import Action

#: the configured key: tests assert it never shows in an error or a log line
SECRET_KEY = "sk-ant-test-SECRET-0123456789"

ORDERS = {7: "shipped", 8: "packing"}


async def lookup_order(order_id: int) -> str:
    """Look up the status of an order."""
    return f"order {order_id} is {ORDERS.get(order_id, 'unknown')}"


def explode(reason: str) -> str:
    """An action that always fails."""
    raise RuntimeError(f"boom: {reason}")


@hookimpl
def register_actions(registry: Any) -> None:
    registry.add("lookup_order", Action.from_function(lookup_order))
    registry.add("explode", Action.from_function(explode))


SET_COLOR = {"name": "setColor", "description": "Set the page color",
             "parameters": {"type": "object", "properties": {"color": {"type": "string"}},
                            "required": ["color"]}}


def run_input(text: str | None, *, thread_id: str | None = None,
              messages: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    if messages is None:
        messages = [{"id": str(uuid.uuid4()), "role": "user", "content": text}]
    return {"threadId": thread_id or str(uuid.uuid4()), "runId": str(uuid.uuid4()),
            "state": {}, "tools": [], "context": [], "forwardedProps": {},
            "messages": messages, **extra}


def sse_events(body: str) -> list[dict[str, Any]]:
    frames = [f for f in body.split("\n\n") if f.strip() and not f.startswith(":")]
    return [json.loads(f.removeprefix("data: ")) for f in frames]


def run(url: str, agent: str, body: dict[str, Any], timeout: float = 30) -> list[dict[str, Any]]:
    """POST an AG-UI run and return its events (the stream read to its end)."""
    response = httpx.post(f"{url}/agent/{agent}/run", json=body, timeout=timeout)
    assert response.status_code == 200, response.text
    return sse_events(response.text)


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def text_of(events: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")


def run_error(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert events[-1]["type"] == "RUN_ERROR", types(events)
    return events[-1]
