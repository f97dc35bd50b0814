"""Request builders and response readers shared by the hardening tests."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx

GRAPHQL_FIXTURES = Path(__file__).parents[1] / "graphql" / "fixtures"
GENERATE = (GRAPHQL_FIXTURES / "generate-copilot-response.graphql").read_text()
LOAD_STATE = (GRAPHQL_FIXTURES / "load-agent-state.graphql").read_text()
ACCEPT = "application/graphql-response+json, application/json, multipart/mixed"


def gql_data(text: str = "hello", *, agent: str | None = "demo", thread: str | None = None,
             **extra: Any) -> dict[str, Any]:
    """``generateCopilotResponse``'s ``data`` as the 1.10 client sends it."""
    data: dict[str, Any] = {
        "frontend": {"actions": [], "url": "http://localhost:3000"},
        "threadId": thread or str(uuid.uuid4()), "runId": None, "extensions": {},
        "metaEvents": [],
        "messages": [{"id": str(uuid.uuid4()), "createdAt": "2026-11-22T02:09:29.494Z",
                      "textMessage": {"content": text, "role": "user"}}],
        "metadata": {"requestType": "Chat"}, "agentStates": [], "forwardedParameters": {},
        "context": [], **extra}
    if agent:
        data["agentSession"] = {"agentName": agent}
    return data


def gql_body(data: dict[str, Any]) -> dict[str, Any]:
    return {"operationName": "generateCopilotResponse", "query": GENERATE,
            "variables": {"data": data, "properties": {}}}


def generate(url: str, data: dict[str, Any], **kwargs: Any) -> httpx.Response:
    return httpx.post(url, json=gql_body(data), headers={"accept": ACCEPT}, timeout=30, **kwargs)


def gql_parts(body: str) -> list[dict[str, Any]]:
    assert body.startswith("\r\n---") and body.endswith("\r\n-----\r\n"), body[-80:]
    return [json.loads(p.partition("\r\n\r\n")[2]) for p in body.split("\r\n---")[1:-1]]


def gql_status(body: str) -> dict[str, Any]:
    for payload in reversed(gql_parts(body)):
        for entry in payload.get("incremental", ()):
            if entry.get("path") == ["generateCopilotResponse"]:
                return dict(entry["data"]["status"])
    raise AssertionError("no response status")


def run_input(thread_id: str, text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"threadId": thread_id, "runId": str(uuid.uuid4()), "state": {}, "tools": [],
            "context": [], "forwardedProps": {},
            "messages": [{"id": str(uuid.uuid4()), "role": "user", "content": text}], **extra}


def sse_events(body: str | bytes) -> list[dict[str, Any]]:
    """The events of an SSE body; asserts it is valid UTF-8 framed as the client expects."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    assert "\r" not in text
    frames = [f for f in text.split("\n\n") if f and not f.startswith(":")]
    return [json.loads(f.removeprefix("data: ")) for f in frames]


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]
