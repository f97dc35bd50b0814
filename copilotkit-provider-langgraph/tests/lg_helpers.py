"""Test helpers: runtimes with the langgraph plugin, and a small AG-UI-style client.

Runs go through the real engine (``Engine.start`` → ``Run.events()``), so what the tests see is
the validated, normalised stream a protocol layer gets.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ag_ui.core import (
    AssistantMessage,
    BaseEvent,
    Context,
    EventType,
    FunctionCall,
    ResumeEntry,
    RunAgentInput,
    Tool,
    ToolCall,
    ToolMessage,
    UserMessage,
)

import copilotkit_provider_langgraph.plugin as langgraph_plugin
from copilotkit_runtime.events import AGENT_STATE_EVENT
from copilotkit_runtime.providers import RunRequest
from copilotkit_runtime.runtime import Runtime
from copilotkit_runtime.testing import make_runtime

TESTS = Path(__file__).parent
TODO_GRAPH = f"{TESTS / 'agents' / 'todo_agent.py'}:graph"


def build_runtime(agents: dict[str, Any], tmp_path: Path, **config: Any) -> Runtime:
    return make_runtime({"agents": agents, **config}, plugins={"langgraph": langgraph_plugin},
                        load_entry_points=False, tmp_path=tmp_path)


@dataclass
class Turn:
    """What one run produced, digested."""

    events: list[BaseEvent]

    @property
    def types(self) -> list[str]:
        return [e.type.value for e in self.events]

    def of(self, kind: EventType) -> list[Any]:
        return [e for e in self.events if e.type is kind]

    @property
    def texts(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for e in self.events:
            if e.type is EventType.TEXT_MESSAGE_START:
                out[e.message_id] = ""
            elif e.type is EventType.TEXT_MESSAGE_CONTENT:
                out[e.message_id] += e.delta
        return out

    @property
    def text(self) -> str:
        return "".join(self.texts.values())

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        calls: dict[str, dict[str, Any]] = {}
        for e in self.events:
            if e.type is EventType.TOOL_CALL_START:
                calls[e.tool_call_id] = {"id": e.tool_call_id, "name": e.tool_call_name,
                                         "parent": e.parent_message_id, "chunks": []}
            elif e.type is EventType.TOOL_CALL_ARGS:
                calls[e.tool_call_id]["chunks"].append(e.delta)
        for call in calls.values():
            call["args"] = "".join(call["chunks"])
        return list(calls.values())

    def custom(self, name: str) -> list[Any]:
        return [e.value for e in self.events if e.type is EventType.CUSTOM and e.name == name]

    @property
    def agent_states(self) -> list[dict[str, Any]]:
        """(facts, snapshot) pairs as the GraphQL layer pairs them."""
        out = []
        facts = None
        for e in self.events:
            if e.type is EventType.CUSTOM and e.name == AGENT_STATE_EVENT:
                facts = e.value
            elif e.type is EventType.STATE_SNAPSHOT:
                out.append({**(facts or {}), "state": e.snapshot})
        return out

    @property
    def state(self) -> Any:
        snapshots = self.of(EventType.STATE_SNAPSHOT)
        return snapshots[-1].snapshot if snapshots else None

    @property
    def messages(self) -> list[dict[str, Any]] | None:
        snapshots = self.of(EventType.MESSAGES_SNAPSHOT)
        if not snapshots:
            return None
        return [m.model_dump(mode="json", by_alias=True, exclude_none=True)
                for m in snapshots[-1].messages]

    @property
    def last(self) -> Any:
        return self.events[-1]


async def run_once(runtime: Runtime, request: RunRequest) -> Turn:
    run = await runtime.engine.start(request)
    return Turn([event async for event in run.events()])


def user(text: str) -> UserMessage:
    return UserMessage(id=f"user-{uuid.uuid4().hex[:8]}", content=text)


@dataclass
class Client:
    """Behaves like an AG-UI client: sends the whole conversation and the last state every
    time, replaces its messages with ``MESSAGES_SNAPSHOT`` and its state with the last
    ``STATE_SNAPSHOT``."""

    runtime: Runtime
    agent: str
    thread_id: str = field(default_factory=lambda: f"thread-{uuid.uuid4().hex[:8]}")
    messages: list[Any] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    tools: list[Tool] = field(default_factory=list)
    context: list[Context] = field(default_factory=list)
    node_name: str | None = None

    def request(self, *, resume: list[ResumeEntry] | None = None,
                forwarded_props: dict[str, Any] | None = None) -> RunRequest:
        return RunRequest(
            agent=self.agent,
            input=RunAgentInput(thread_id=self.thread_id, run_id=str(uuid.uuid4()),
                                messages=list(self.messages), state=dict(self.state),
                                tools=list(self.tools), context=list(self.context),
                                forwarded_props=forwarded_props or {}, resume=resume),
            node_name=self.node_name,
        )

    async def send(self, text: str | None = None, **kwargs: Any) -> Turn:
        if text is not None:
            self.messages.append(user(text))
        turn = await run_once(self.runtime, self.request(**kwargs))
        self.absorb(turn)
        return turn

    def absorb(self, turn: Turn) -> None:
        if turn.messages is not None:
            self.messages = [_message(m) for m in turn.messages]
        if isinstance(turn.state, dict):
            self.state = turn.state
        facts = turn.custom(AGENT_STATE_EVENT)
        if facts:
            self.node_name = facts[-1]["nodeName"]

    def answer_tool_call(self, tool_call_id: str, result: str) -> None:
        self.messages.append(ToolMessage(id=f"result-{tool_call_id}", content=result,
                                         tool_call_id=tool_call_id))


def _message(data: dict[str, Any]) -> Any:
    role = data["role"]
    if role == "assistant":
        calls = [ToolCall(id=c["id"], function=FunctionCall(name=c["function"]["name"],
                                                              arguments=c["function"]["arguments"]))
                 for c in data.get("toolCalls") or []]
        return AssistantMessage(id=data["id"], content=data.get("content"), tool_calls=calls or None)
    if role == "tool":
        return ToolMessage(id=data["id"], content=data["content"], tool_call_id=data["toolCallId"])
    if role == "user":
        return UserMessage(id=data["id"], content=data["content"])
    from ag_ui.core import SystemMessage

    return SystemMessage(id=data["id"], content=data["content"])
