"""A provider whose behaviour a test chooses: the agent on the other side of a runtime test.

Register it with :data:`scripted_plugin` (provider type ``scripted``) and pick a behaviour per
agent with ``mode``::

    runtime = make_runtime({"agents": {
        "reply": {"provider": "scripted"},                      # "w0 w1 w2 " then a state
        "slow": {"provider": "scripted", "mode": "wait"},       # waits for release()
    }}, plugins={"scripted": scripted_plugin})
    provider = runtime.providers["slow"]        # a ScriptedProvider: what did it see?
    provider.release(thread_id)                 # let a waiting run finish
    provider.started, provider.cleaned_up, provider.requests

Modes (``ScriptedProvider.Options.mode``):

``reply`` (default)
    ``chunks`` text chunks ``"w0 " "w1 " ...`` (or the words of ``text``), then a
    ``STATE_SNAPSHOT`` of the starting state plus ``{"done": true}`` (or ``final_state``). With
    frontend tools offered, it behaves like a tool-calling model: a user message naming a tool
    calls it (arguments ``tool_arguments``) and ends the run; a run whose last message is that
    tool's result answers ``"The tool returned: <result>"``.
``say``
    Repeats the last user message.
``echo``
    Answers with what reached it, as JSON text: :func:`received` of the request (messages,
    tools, context, forwarded props, properties, state, config, node name, resume, guardrail
    rules), to check what a protocol layer hands a provider.
``count``
    What a graph agent looks like: ``STEP_STARTED think``, a ``STATE_SNAPSHOT`` of the
    starting state with ``count`` one higher and ``status = "thinking"``, the text
    ``"Count is N."``, ``STEP_FINISHED think``, then the state with ``status = "done"``.
``interrupt``
    A LangGraph-style interrupt: ``STEP_STARTED`` ``step``, the starting state plus
    ``{"interrupted": true}``, then a ``CUSTOM on_interrupt`` event whose value is
    ``interrupt``; the run ends there. A run that carries a resume answers
    ``"You answered: <payload>"`` and keeps ``{"answer": payload}`` in its state.
``wait``
    Sends ``"first"``, then waits until :meth:`ScriptedProvider.release` is called for the
    thread (or the run is cancelled), then sends ``" second"``.
``raise_midway``
    Starts a message (``"partial"``, or the words of ``text``), then raises
    ``RuntimeError(error)``.
``bad_stream``
    A ``TEXT_MESSAGE_CONTENT`` for a message that never started (an invalid stream).
``chunks``
    ``TEXT_MESSAGE_CHUNK`` and ``TOOL_CALL_CHUNK`` events, for the runtime to expand.
``events``
    Plays back ``events``: AG-UI events as wire JSON (``{"type": "TEXT_MESSAGE_START", ...}``,
    as in a TOML config), or event objects in a config dict (``[*text_message("hi"),
    CustomEvent(...)]`` from :mod:`copilotkit_runtime.events`).

``final_state``, when set, is sent as a last ``STATE_SNAPSHOT`` by every mode that ends
normally (in ``reply`` it replaces the default snapshot).

``delay`` (seconds) is awaited before each event after the first, so a run can be caught
in the middle (never needed to wait *for* something: use ``wait`` and :meth:`release`).

The lists a provider records (``started``, ``cleaned_up``, ``cancelled``, ``requests``) may be
read from another thread, such as a test driving a :func:`~copilotkit_runtime.testing.serve_runtime`
server; :meth:`ScriptedProvider.release` may be called from any thread, and
:meth:`ScriptedProvider.wait_for` blocks a test thread until a run got somewhere.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator
from types import SimpleNamespace
from typing import Any, Literal

from ag_ui.core import Event, Tool
from pydantic import Field

from ..events import (
    INTERRUPT_EVENT,
    BaseEvent,
    CustomEvent,
    StateSnapshotEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageChunkEvent,
    TextMessageContentEvent,
    ToolCallChunkEvent,
    text_message,
    tool_call,
)
from ..hookspecs import hookimpl
from ..llm import ChatModel, ModelDelta, ModelRequest, TextDelta
from ..providers import AgentProvider, ProviderOptions, RunRequest

__all__ = ["ScriptedChatModel", "ScriptedOptions", "ScriptedProvider", "received", "scripted_plugin"]

Mode = Literal["reply", "say", "echo", "count", "interrupt", "wait", "raise_midway", "bad_stream",
               "chunks", "events"]


class ScriptedOptions(ProviderOptions):
    """The keys of an ``[agents.NAME]`` section with ``provider = "scripted"``."""

    mode: Mode = Field("reply", description="What the agent does (see the module docstring).")
    chunks: int = Field(3, ge=0, description="mode reply: how many text chunks.")
    text: str | None = Field(None, description="modes reply and raise_midway: this text, a chunk "
                                                "per word, instead of the default chunks.")
    error: str = Field("the agent broke", description="mode raise_midway: the message of the "
                                                      "RuntimeError raised.")
    final_state: dict[str, Any] | None = Field(
        None, description="A STATE_SNAPSHOT sent last by a run that ends normally.")
    step: str = Field("interrupt", description="mode interrupt: the step (LangGraph node) "
                                               "that asks.")
    interrupt: Any = Field(default_factory=lambda: {"question": "Continue?"},
                           description="mode interrupt: the value of the on_interrupt event.")
    delay: float = Field(0.0, ge=0, description="Seconds awaited between events.")
    tool_arguments: dict[str, Any] = Field(default_factory=dict,
                                           description="mode reply: the arguments of a tool call.")
    events: list[Event] = Field(default_factory=list,
                                description="mode events: the events to send (wire JSON, or "
                                            "event objects in a config dict).")


class ScriptedProvider(AgentProvider[ScriptedOptions]):
    """The provider type ``scripted``: it records what it was asked, and does what its
    ``mode`` says (see :mod:`copilotkit_runtime.testing.scripted`)."""

    Options = ScriptedOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: run ids, in the order the runs reached the provider
        self.started: list[str] = []
        #: run ids whose generator has ended, whichever way (finished, failed, cancelled)
        self.cleaned_up: list[str] = []
        #: run ids that were cancelled (``CancelledError`` or ``GeneratorExit`` inside the run)
        self.cancelled: list[str] = []
        #: every request, as received
        self.requests: list[RunRequest] = []
        self._gates: dict[str, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed = threading.Condition()

    def gate(self, thread_id: str) -> asyncio.Event:
        """The event a ``wait`` run of this thread waits for (created on first use)."""
        return self._gates.setdefault(thread_id, asyncio.Event())

    def release(self, thread_id: str) -> None:
        """Let the ``wait`` run of this thread (running now or later) finish. Callable from
        any thread: from outside the runtime's event loop it is handed to that loop."""
        loop = self._loop
        if loop is not None and loop.is_running() and not _inside(loop):
            loop.call_soon_threadsafe(self.gate(thread_id).set)
        else:
            self.gate(thread_id).set()

    def wait_for(self, what: Literal["started", "cleaned_up", "cancelled"], count: int = 1,
                 timeout: float = 10.0) -> None:
        """Block the calling thread until ``len(self.<what>) >= count``; ``TimeoutError`` after
        ``timeout`` seconds. For tests driving a served runtime from their own thread (never
        call it on the runtime's event loop)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(getattr(self, what)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.name}: {len(getattr(self, what))} run(s) {what}, "
                                       f"not {count}, after {timeout}s")
                self._changed.wait(left)

    def _record(self, into: list[str], run_id: str) -> None:
        with self._changed:
            into.append(run_id)
            self._changed.notify_all()

    async def run(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        self._loop = asyncio.get_running_loop()
        self.requests.append(request)
        self._record(self.started, request.run_id)
        first = True
        try:
            async for event in self._script(request):
                if not first and self.options.delay:
                    await asyncio.sleep(self.options.delay)
                first = False
                yield event
            if self.options.final_state is not None and self.options.mode != "reply":
                yield StateSnapshotEvent(snapshot=self.options.final_state)
        except (asyncio.CancelledError, GeneratorExit):
            self._record(self.cancelled, request.run_id)
            raise
        finally:
            self._record(self.cleaned_up, request.run_id)

    async def _script(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        options = self.options
        if options.mode == "reply":
            for event in self._reply(request):
                yield event
        elif options.mode == "say":
            for event in text_message(request.last_user_text()):
                yield event
        elif options.mode == "echo":
            for event in text_message(json.dumps(received(request))):
                yield event
        elif options.mode == "count":
            state = {**request.state, "count": int(request.state.get("count", 0)) + 1}
            yield StepStartedEvent(step_name="think")
            yield StateSnapshotEvent(snapshot={**state, "status": "thinking"})
            for event in text_message([f"Count is {state['count']}", "."]):
                yield event
            yield StepFinishedEvent(step_name="think")
            yield StateSnapshotEvent(snapshot={**state, "status": "done"})
        elif options.mode == "interrupt":
            yield StepStartedEvent(step_name=options.step)
            if request.resume:
                answer = request.resume[0].payload
                for event in text_message(["You answered: ", str(answer)]):
                    yield event
                yield StateSnapshotEvent(snapshot={**request.state, "answer": answer})
            else:
                yield StateSnapshotEvent(snapshot={**request.state, "interrupted": True})
                yield CustomEvent(name=INTERRUPT_EVENT, value=options.interrupt)
        elif options.mode == "wait":
            events = text_message(["first", " second"])
            yield events[0]
            yield events[1]
            await self.gate(request.thread_id).wait()
            yield events[2]
            yield events[3]
        elif options.mode == "raise_midway":
            for event in text_message(_words(options.text) if options.text else ["partial"])[:-1]:
                yield event
            raise RuntimeError(options.error)
        elif options.mode == "bad_stream":
            yield TextMessageContentEvent(message_id="never-started", delta="x")
        elif options.mode == "chunks":
            yield TextMessageChunkEvent(message_id="m1", delta="a")
            yield TextMessageChunkEvent(message_id="m1", delta="b")
            yield ToolCallChunkEvent(tool_call_id="t1", tool_call_name="act", delta='{"x":')
            yield ToolCallChunkEvent(tool_call_id="t1", delta="1}")
        elif options.mode == "events":
            for event in options.events:
                yield event

    def _reply(self, request: RunRequest) -> list[BaseEvent]:
        messages = request.messages
        last = messages[-1] if messages else None
        if last is not None and last.role == "tool":
            return text_message(f"The tool returned: {last.content}")
        tool = _named_tool(request.tools, request.last_user_text())
        if tool is not None:
            return tool_call(tool.name, json.dumps(self.options.tool_arguments))
        if self.options.text is not None:
            chunks = _words(self.options.text)
        else:
            chunks = [f"w{i} " for i in range(self.options.chunks)]
        final = self.options.final_state
        return [*text_message(chunks), StateSnapshotEvent(
            snapshot={**request.state, "done": True} if final is None else final)]


def received(request: RunRequest) -> dict[str, Any]:
    """What reached a provider, as JSON-ready data (what mode ``echo`` answers): the thread id,
    messages, tools and context (wire JSON), forwarded props, properties, state, config, node
    name, resume entries and guardrail rules (``{"allow": [...], "deny": [...]}`` or ``None``)."""
    rules = request.guardrail_rules
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
        "guardrail_rules": None if rules is None else {"allow": rules.allow_list,
                                                       "deny": rules.deny_list},
    }


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w + " " for w in words[:-1]] + words[-1:]


def _inside(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _named_tool(tools: list[Tool], text: str) -> Tool | None:
    return next((tool for tool in tools if tool.name and tool.name in text), None)


@hookimpl
def register_agent_providers(registry: Any) -> None:
    registry.add("scripted", ScriptedProvider)


#: The plugin object registering the provider type ``scripted``:
#: ``make_runtime(config, plugins={"scripted": scripted_plugin})``.
scripted_plugin = SimpleNamespace(register_agent_providers=register_agent_providers)



class ScriptedChatModel(ChatModel):
    """A :class:`~copilotkit_runtime.llm.ChatModel` for LLM providers' tests: each call plays
    back the next entry of :attr:`script` (a list of ``TextDelta``/``ToolCallDelta``, or an
    exception to raise; ``[TextDelta("ok")]`` when the script is empty) and records the
    request in :attr:`requests`. Return it from your ``LLMProvider.create_model``."""

    def __init__(self) -> None:
        self.script: list[Any] = []
        self.requests: list[ModelRequest] = []

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelDelta, None]:
        self.requests.append(request)
        entry = self.script.pop(0) if self.script else [TextDelta("ok")]
        if isinstance(entry, BaseException):
            raise entry
        for delta in entry:
            yield delta
