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
    ``STATE_SNAPSHOT`` of the starting state plus ``{"done": true}``. With frontend tools
    offered, it behaves like a tool-calling model: a user message naming a tool calls it
    (arguments ``tool_arguments``) and ends the run; a run whose last message is that tool's
    result answers ``"The tool returned: <result>"``.
``say``
    Repeats the last user message.
``wait``
    Sends ``"first"``, then waits until :meth:`ScriptedProvider.release` is called for the
    thread (or the run is cancelled), then sends ``" second"``.
``raise_midway``
    Starts a message, then raises ``RuntimeError("the agent broke")``.
``bad_stream``
    A ``TEXT_MESSAGE_CONTENT`` for a message that never started (an invalid stream).
``chunks``
    ``TEXT_MESSAGE_CHUNK`` and ``TOOL_CALL_CHUNK`` events, for the runtime to expand.
``events``
    Plays back ``events``: AG-UI events as wire JSON (``{"type": "TEXT_MESSAGE_START", ...}``).

``delay`` (seconds) is awaited before each event after the first, so a run can be caught
in the middle (never needed to wait *for* something: use ``wait`` and :meth:`release`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from types import SimpleNamespace
from typing import Any, Literal

from ag_ui.core import Event, Tool
from pydantic import Field, TypeAdapter

from ..events import (
    BaseEvent,
    StateSnapshotEvent,
    TextMessageChunkEvent,
    TextMessageContentEvent,
    ToolCallChunkEvent,
    text_message,
    tool_call,
)
from ..hookspecs import hookimpl
from ..llm import ChatModel, ModelDelta, ModelRequest, TextDelta
from ..providers import AgentProvider, ProviderOptions, RunRequest

__all__ = ["ScriptedChatModel", "ScriptedOptions", "ScriptedProvider", "scripted_plugin"]

Mode = Literal["reply", "say", "wait", "raise_midway", "bad_stream", "chunks", "events"]
_EVENT = TypeAdapter(Event)


class ScriptedOptions(ProviderOptions):
    """The keys of an ``[agents.NAME]`` section with ``provider = "scripted"``."""

    mode: Mode = Field("reply", description="What the agent does (see the module docstring).")
    chunks: int = Field(3, ge=0, description="mode reply: how many text chunks.")
    text: str | None = Field(None, description="mode reply: this text, a chunk per word, "
                                                "instead of the w0 w1 ... chunks.")
    delay: float = Field(0.0, ge=0, description="Seconds awaited between events.")
    tool_arguments: dict[str, Any] = Field(default_factory=dict,
                                           description="mode reply: the arguments of a tool call.")
    events: list[dict[str, Any]] = Field(default_factory=list,
                                         description="mode events: the events to send.")


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

    def gate(self, thread_id: str) -> asyncio.Event:
        """The event a ``wait`` run of this thread waits for (created on first use)."""
        return self._gates.setdefault(thread_id, asyncio.Event())

    def release(self, thread_id: str) -> None:
        """Let the ``wait`` run of this thread (running now or later) finish."""
        self.gate(thread_id).set()

    async def run(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        self.started.append(request.run_id)
        self.requests.append(request)
        first = True
        try:
            async for event in self._script(request):
                if not first and self.options.delay:
                    await asyncio.sleep(self.options.delay)
                first = False
                yield event
        except (asyncio.CancelledError, GeneratorExit):
            self.cancelled.append(request.run_id)
            raise
        finally:
            self.cleaned_up.append(request.run_id)

    async def _script(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        options = self.options
        if options.mode == "reply":
            for event in self._reply(request):
                yield event
        elif options.mode == "say":
            for event in text_message(request.last_user_text()):
                yield event
        elif options.mode == "wait":
            events = text_message(["first", " second"])
            yield events[0]
            yield events[1]
            await self.gate(request.thread_id).wait()
            yield events[2]
            yield events[3]
        elif options.mode == "raise_midway":
            for event in text_message(["partial"])[:2]:
                yield event
            raise RuntimeError("the agent broke")
        elif options.mode == "bad_stream":
            yield TextMessageContentEvent(message_id="never-started", delta="x")
        elif options.mode == "chunks":
            yield TextMessageChunkEvent(message_id="m1", delta="a")
            yield TextMessageChunkEvent(message_id="m1", delta="b")
            yield ToolCallChunkEvent(tool_call_id="t1", tool_call_name="act", delta='{"x":')
            yield ToolCallChunkEvent(tool_call_id="t1", delta="1}")
        elif options.mode == "events":
            for raw in options.events:
                yield _EVENT.validate_python(raw)

    def _reply(self, request: RunRequest) -> list[BaseEvent]:
        messages = request.messages
        last = messages[-1] if messages else None
        if last is not None and last.role == "tool":
            return text_message(f"The tool returned: {last.content}")
        tool = _named_tool(request.tools, request.last_user_text())
        if tool is not None:
            return tool_call(tool.name, json.dumps(self.options.tool_arguments))
        if self.options.text is not None:
            words = self.options.text.split(" ")
            chunks = [w + " " for w in words[:-1]] + words[-1:]
        else:
            chunks = [f"w{i} " for i in range(self.options.chunks)]
        return [*text_message(chunks), StateSnapshotEvent(snapshot={**request.state, "done": True})]


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
