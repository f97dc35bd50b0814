"""Side by side: the same graph served by us and by ``ag-ui-langgraph``'s FastAPI endpoint.

:class:`Conversation` is a small AG-UI client over real HTTP: it sends the same
``RunAgentInput`` bodies to either server (the whole conversation, the last state, the frontend
tools, ``forwardedProps.node_name``, ``resume`` answers), keeps what the server sends back the
way AG-UI clients do, and digests each run into what must be the same on both sides: messages,
tool calls, state, interrupts, predictive-state announcements.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from copilotkit_runtime.testing.server import free_port

#: Keys ag-ui-langgraph and we add to a graph's state for the frontend; not the app's state.
PLUMBING = {"tools", "ag-ui", "copilotkit", "messages"}


@contextlib.contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve an ASGI app on a free port in a thread; yields its origin."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, name=f"agui-reference-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "the reference server failed to start"
        assert time.monotonic() < deadline, "the reference server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def reference_app(graphs: dict[str, Any]) -> Any:
    """ag-ui-langgraph's own endpoint, one route per graph: ``POST /{name}``."""
    from ag_ui_langgraph import LangGraphAgent, add_langgraph_fastapi_endpoint
    from fastapi import FastAPI

    app = FastAPI()
    for name, graph in graphs.items():
        add_langgraph_fastapi_endpoint(app, LangGraphAgent(name=name, graph=graph), f"/{name}")
    return app


def read_sse(response: httpx.Response) -> list[dict[str, Any]]:
    events = []
    for line in response.iter_lines():
        if line.startswith("data:"):
            events.append(json.loads(line[5:].strip()))
    return events


@dataclass
class Digest:
    """One run, reduced to what both servers must agree on."""

    events: list[dict[str, Any]]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    @property
    def error(self) -> str | None:
        errors = self.of("RUN_ERROR")
        return errors[0].get("message") if errors else None

    @property
    def texts(self) -> list[str]:
        texts: dict[str, str] = {}
        for e in self.events:
            if e["type"] == "TEXT_MESSAGE_START":
                texts.setdefault(e["messageId"], "")
            elif e["type"] == "TEXT_MESSAGE_CONTENT":
                texts[e["messageId"]] = texts.get(e["messageId"], "") + e["delta"]
        return [t for t in texts.values() if t]

    @property
    def tool_calls(self) -> list[tuple[str, Any]]:
        calls: dict[str, list[Any]] = {}
        for e in self.events:
            if e["type"] == "TOOL_CALL_START":
                calls[e["toolCallId"]] = [e["toolCallName"], ""]
            elif e["type"] == "TOOL_CALL_ARGS":
                calls[e["toolCallId"]][1] += e["delta"]
        return [(name, json.loads(args or "{}")) for name, args in calls.values()]

    @property
    def messages(self) -> list[tuple[Any, ...]] | None:
        snapshots = self.of("MESSAGES_SNAPSHOT")
        if not snapshots:
            return None
        return [_message_digest(m) for m in snapshots[-1]["messages"]]

    @property
    def state(self) -> Any:
        snapshots = self.of("STATE_SNAPSHOT")
        if not snapshots:
            return None
        return app_state(snapshots[-1]["snapshot"])

    @property
    def states(self) -> list[Any]:
        return [app_state(e["snapshot"]) for e in self.of("STATE_SNAPSHOT")]

    @property
    def steps(self) -> set[str]:
        return {e["stepName"] for e in self.of("STEP_STARTED")}

    @property
    def interrupts(self) -> list[Any]:
        values = [e["value"] for e in self.of("CUSTOM") if e["name"] == "on_interrupt"]
        return [_parsed(v) for v in values]

    @property
    def predict_state(self) -> list[Any]:
        return [e["value"] for e in self.of("CUSTOM") if e["name"] == "PredictState"]

    def summary(self) -> dict[str, Any]:
        """What must match between the servers."""
        return {"error": self.error, "texts": self.texts, "tool_calls": self.tool_calls,
                "messages": self.messages, "state": self.state, "interrupts": self.interrupts,
                "predict_state": self.predict_state}


def app_state(snapshot: Any) -> Any:
    if not isinstance(snapshot, dict):
        return snapshot
    return {k: v for k, v in snapshot.items() if k not in PLUMBING}


def _parsed(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _message_digest(message: dict[str, Any]) -> tuple[Any, ...]:
    calls = tuple((c["function"]["name"], _parsed(c["function"]["arguments"]))
                  for c in message.get("toolCalls") or [])
    return (message["role"], message.get("content") or None, calls)


@dataclass
class Conversation:
    """An AG-UI client for one thread on one server."""

    url: str  # the agent's run URL
    tools: list[dict[str, Any]] = field(default_factory=list)
    context: list[dict[str, Any]] = field(default_factory=list)
    thread_id: str = field(default_factory=lambda: f"thread-{uuid.uuid4().hex[:10]}")
    messages: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    runs: list[Digest] = field(default_factory=list)

    def say(self, text: str) -> Digest:
        self.messages.append({"id": f"user-{uuid.uuid4().hex[:8]}", "role": "user",
                              "content": text})
        return self.run()

    def answer_tool_call(self, result: str, *, node_name: str | None = None) -> Digest:
        """Answer the last run's frontend tool call, as a client that ran it would."""
        call_id = self.runs[-1].of("TOOL_CALL_START")[-1]["toolCallId"]
        self.messages.append({"id": f"result-{call_id}", "role": "tool", "content": result,
                              "toolCallId": call_id})
        return self.run(node_name=node_name)

    def resume(self, payload: Any) -> Digest:
        """Answer the pending interrupt the way released clients do (ag-ui-langgraph's default:
        ``forwardedProps.command.resume``; it emits no structured interrupt outcome)."""
        assert self.runs[-1].interrupts, "the last run did not end with an interrupt"
        return self.run(forwarded_props={"command": {"resume": payload}})

    def run(self, *, node_name: str | None = None,
            forwarded_props: dict[str, Any] | None = None) -> Digest:
        props = dict(forwarded_props or {})
        if node_name:
            props["node_name"] = node_name
        body: dict[str, Any] = {
            "threadId": self.thread_id, "runId": str(uuid.uuid4()), "messages": self.messages,
            "state": self.state, "tools": self.tools, "context": self.context,
            "forwardedProps": props,
        }
        with httpx.Client(timeout=30) as client, client.stream(
                "POST", self.url, json=body,
                headers={"accept": "text/event-stream", **self.headers}) as response:
            assert response.status_code == 200, response.read()
            digest = Digest(read_sse(response))
        self.runs.append(digest)
        for e in digest.events:
            if e["type"] == "MESSAGES_SNAPSHOT":
                self.messages = [_as_input(m) for m in e["messages"]]
            elif e["type"] == "STATE_SNAPSHOT" and isinstance(e["snapshot"], dict):
                self.state = e["snapshot"]
        return digest


def _as_input(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k in
            ("id", "role", "content", "toolCalls", "toolCallId", "name")}
