"""Test agents for the GraphQL tests: a provider whose behaviour the config picks (``mode``).

Registered as a plugin object: ``make_runtime(config, plugins={"graphql-test": graphql_test_agents})``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

from pydantic import Field

from copilotkit_runtime import AgentProvider, ProviderOptions, RunRequest, hookimpl
from copilotkit_runtime.events import (
    COPILOTKIT_INTERRUPT_EVENT,
    EXIT_EVENT,
    INTERRUPT_EVENT,
    BaseEvent,
    CustomEvent,
    StateSnapshotEvent,
    StepFinishedEvent,
    StepStartedEvent,
    ToolCallResultEvent,
    new_id,
    text_message,
    tool_call,
)


class Observed:
    """What runs did, for tests to wait on (thread-safe: the server runs in another thread)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.cancelled: list[str] = []
        self.finished: list[str] = []
        self.requests: list[RunRequest] = []
        self.started_event = threading.Event()
        self.cancelled_event = threading.Event()

    def reset(self) -> None:
        with self.lock:
            self.started.clear()
            self.cancelled.clear()
            self.finished.clear()
            self.requests.clear()
        self.started_event.clear()
        self.cancelled_event.clear()


OBSERVED = Observed()


class ScriptOptions(ProviderOptions):
    mode: str = "echo"
    chunks: int = Field(200, ge=0)
    delay: float = Field(0.0, ge=0)


def inputs_of(request: RunRequest) -> dict[str, Any]:
    """What reached the provider, as JSON."""
    return {
        "thread_id": request.thread_id,
        "messages": [m.model_dump(mode="json", by_alias=True, exclude_none=True)
                     for m in request.messages],
        "tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in request.tools],
        "context": [c.model_dump(mode="json") for c in request.context],
        "forwarded_props": request.forwarded_props,
        "properties": request.properties,
        "state": request.state,
        "config": request.config,
        "node_name": request.node_name,
        "resume": [r.model_dump(mode="json", exclude_none=True) for r in request.resume],
        "guardrail_rules": None if request.guardrail_rules is None else {
            "allow": request.guardrail_rules.allow_list, "deny": request.guardrail_rules.deny_list},
    }


class ScriptProvider(AgentProvider):
    Options = ScriptOptions

    async def run(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        options: ScriptOptions = self.options
        with OBSERVED.lock:
            OBSERVED.started.append(request.run_id)
            OBSERVED.requests.append(request)
        OBSERVED.started_event.set()
        try:
            async for event in getattr(self, f"_{options.mode}")(request, options):
                yield event
        except asyncio.CancelledError:
            with OBSERVED.lock:
                OBSERVED.cancelled.append(request.run_id)
            OBSERVED.cancelled_event.set()
            raise
        finally:
            with OBSERVED.lock:
                OBSERVED.finished.append(request.run_id)

    async def _echo(self, request: RunRequest, options: ScriptOptions) -> AsyncIterator[BaseEvent]:
        """Replies with what it received, and keeps it in its state."""
        seen = inputs_of(request)
        yield StateSnapshotEvent(snapshot={**request.state, "seen_tools": [t["name"] for t in seen["tools"]]})
        for event in text_message(json.dumps(seen)):
            yield event

    async def _many(self, request: RunRequest, options: ScriptOptions) -> AsyncIterator[BaseEvent]:
        """``chunks`` text chunks ``w0 w1 ...``, with ``delay`` between them."""
        for i, event in enumerate(text_message([f"w{i} " for i in range(options.chunks)])):
            yield event
            if options.delay and 0 < i <= options.chunks:
                await asyncio.sleep(options.delay)

    async def _stateful(self, request: RunRequest, options: ScriptOptions) -> AsyncIterator[BaseEvent]:
        """Steps, state snapshots and a reply: what a graph agent looks like."""
        state = dict(request.state)
        state["count"] = int(state.get("count", 0)) + 1
        yield StepStartedEvent(step_name="think")
        yield StateSnapshotEvent(snapshot={**state, "status": "thinking"})
        for event in text_message([f"Count is {state['count']}", "."]):
            yield event
        yield StepFinishedEvent(step_name="think")
        state["status"] = "done"
        yield StateSnapshotEvent(snapshot=state)

    async def _interrupt(self, request: RunRequest, options: ScriptOptions) -> AsyncIterator[BaseEvent]:
        """Asks a question with a LangGraph-style interrupt; answers it on the resumed run."""
        if request.resume:
            answer = request.resume[0].payload
            yield StepStartedEvent(step_name="confirm_delete")
            for event in text_message(["You answered: ", str(answer)]):
                yield event
            yield StateSnapshotEvent(snapshot={**request.state, "answer": answer})
            return
        yield StepStartedEvent(step_name="confirm_delete")
        yield StateSnapshotEvent(snapshot={**request.state, "pending": "delete buy milk"})
        yield CustomEvent(name=INTERRUPT_EVENT, value={"question": "Delete buy milk?", "todo": 1})

    async def _ck_interrupt(self, request: RunRequest, options: ScriptOptions) -> AsyncIterator[BaseEvent]:
        """A CopilotKit SDK style interrupt: the question travels as a message of the event."""
        question = {"id": "question-1", "role": "assistant", "content": "Clear all todos?"}
        yield CustomEvent(name=COPILOTKIT_INTERRUPT_EVENT,
                          value={"value": "Clear all todos?", "messages": [question]})

    async def _fail(self, request: RunRequest, options: ScriptOptions) -> AsyncIterator[BaseEvent]:
        """Streams two chunks, then raises."""
        mid = new_id("msg_")
        events = text_message(["Partial ", "answer"], message_id=mid)
        for event in events[:3]:
            yield event
        raise RuntimeError("database password is hunter2")

    async def _wait(self, request: RunRequest, options: ScriptOptions) -> AsyncIterator[BaseEvent]:
        """One chunk, then waits until cancelled."""
        events = text_message(["started"])
        for event in events[:2]:
            yield event
        await asyncio.Event().wait()

    async def _backend_action(self, request: RunRequest, options: ScriptOptions) -> AsyncIterator[BaseEvent]:
        """A tool call the agent runs itself, with its result, then a reply."""
        call_id = "call-1"
        for event in tool_call("lookup", ['{"q":', '"milk"}'], tool_call_id=call_id):
            yield event
        yield ToolCallResultEvent(message_id="result-1", tool_call_id=call_id, content="2 litres")
        for event in text_message("You have 2 litres."):
            yield event

    async def _exit(self, request: RunRequest, options: ScriptOptions) -> AsyncIterator[BaseEvent]:
        for event in text_message("Bye"):
            yield event
        yield CustomEvent(name=EXIT_EVENT, value={})
        yield StateSnapshotEvent(snapshot={"bye": True})


@hookimpl
def register_agent_providers(registry: Any) -> None:
    registry.add("script", ScriptProvider)
