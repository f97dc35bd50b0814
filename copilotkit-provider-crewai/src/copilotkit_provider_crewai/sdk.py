"""What a CrewAI flow imports to talk to CopilotKit, with the CopilotKit SDK's names.

A flow written for ``copilotkit.crewai`` runs here after changing one import::

    # from copilotkit.crewai import CopilotKitState, copilotkit_stream, copilotkit_emit_state
    from copilotkit_provider_crewai.sdk import CopilotKitState, copilotkit_stream, copilotkit_emit_state

On each run the flow's state gets ``messages`` (the conversation, OpenAI chat dicts with ids) and
``copilotkit.actions`` (the frontend's actions as OpenAI function tools, ready for
``tools=``), plus ``copilotkit.context`` (the frontend's readables). To call a frontend action,
let the model call the tool (stream it with :func:`copilotkit_stream`), append the returned
message to ``state.messages`` and return: the run ends, the frontend executes the action, and the
next run's ``messages`` carry its result as a ``{"role": "tool"}`` message.

The emit helpers act immediately and return an awaitable, so both ``await
copilotkit_emit_message("...")`` (as with the SDK) and a plain call from a synchronous step work.
Outside a run served by the provider (e.g. ``flow.kickoff()`` in a script) they do nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator
from typing import Any

from crewai.flow.flow import FlowState
from pydantic import BaseModel, Field

from copilotkit_runtime.events import (
    EXIT_EVENT,
    CustomEvent,
    StateSnapshotEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallStartEvent,
    new_id,
    text_message,
    tool_call,
)

from .bridge import RunChannel, current_channel
from .messages import plain
from .translate import PREDICT_STATE_EVENT, public_state

log = logging.getLogger("copilotkit_provider_crewai")

__all__ = [
    "AttrDict",
    "CopilotKitProperties",
    "CopilotKitState",
    "copilotkit_emit_message",
    "copilotkit_emit_state",
    "copilotkit_emit_tool_call",
    "copilotkit_exit",
    "copilotkit_predict_state",
    "copilotkit_stream",
]


class CopilotKitProperties(BaseModel):
    """``state.copilotkit``: what the frontend offers this run."""

    actions: list[Any] = Field(default_factory=list)
    context: list[Any] = Field(default_factory=list)


class CopilotKitState(FlowState):
    """Base state of a CopilotKit flow: ``messages`` and ``copilotkit`` (add your own fields)."""

    messages: list[Any] = Field(default_factory=list)
    copilotkit: CopilotKitProperties = Field(default_factory=CopilotKitProperties)


class AttrDict(dict[str, Any]):
    """A dict whose keys are also attributes: ``message["content"] == message.content``.

    What :func:`copilotkit_stream` returns, so code written for litellm's ``ModelResponse``
    (``response.choices[0]["message"]``) and for OpenAI objects (``.choices[0].message``) both
    work, and the message can go straight into ``state.messages``.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


class _Done:
    """An already-finished awaitable."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, None, Any]:
        return self.value
        yield  # pragma: no cover - makes this a generator


def _channel(helper: str) -> RunChannel | None:
    channel = current_channel()
    if channel is None:
        log.debug("%s called outside a run served by copilotkit-provider-crewai; ignored", helper)
    return channel


def copilotkit_emit_state(state: Any) -> _Done:
    """Send the flow's current state to the frontend now (a ``STATE_SNAPSHOT``), e.g. to show
    progress during a long step. ``messages`` and ``copilotkit`` are left out."""
    channel = _channel("copilotkit_emit_state")
    if channel is not None:
        channel.emit(StateSnapshotEvent(snapshot=public_state(state)))
    return _Done(True)


def copilotkit_emit_message(message: str) -> _Done:
    """Show a whole assistant message now. Returns (awaitably) its id; store the message in
    ``state.messages`` with that id to keep it in the thread."""
    message_id = new_id("msg_")
    channel = _channel("copilotkit_emit_message")
    if channel is not None:
        channel.emit(text_message(message, message_id=message_id))
    return _Done(message_id)


def copilotkit_emit_tool_call(*, name: str, args: dict[str, Any],
                              tool_call_id: str | None = None) -> _Done:
    """Show a tool call (e.g. a frontend action to render) now; returns its id."""
    if not isinstance(name, str) or not name:
        raise ValueError("copilotkit_emit_tool_call needs a non-empty tool name")
    if tool_call_id is not None and (not isinstance(tool_call_id, str) or not tool_call_id.strip()):
        raise ValueError("tool_call_id must be a non-empty string when given")
    call_id = tool_call_id or new_id("call_")
    channel = _channel("copilotkit_emit_tool_call")
    if channel is not None:
        channel.emit(tool_call(name, json.dumps(plain(args)), tool_call_id=call_id,
                               parent_message_id=call_id))
    return _Done(call_id)


def copilotkit_predict_state(config: dict[str, dict[str, Any]]) -> _Done:
    """Until the current step ends, show a tool's arguments as state while the model streams them.

    ``{"steps": {"tool_name": "plan", "tool_argument": "steps"}}`` makes ``state.steps`` follow
    the ``steps`` argument of calls to ``plan`` (the whole arguments without ``tool_argument``).
    """
    entries = [{"state_key": key, "tool": spec.get("tool_name") or spec.get("tool"),
                "tool_argument": spec.get("tool_argument")} for key, spec in config.items()]
    channel = _channel("copilotkit_predict_state")
    if channel is not None:
        channel.emit(CustomEvent(name=PREDICT_STATE_EVENT, value=entries))
    return _Done(True)


def copilotkit_exit() -> _Done:
    """End the frontend's session with this agent once this run completes."""
    channel = _channel("copilotkit_exit")
    if channel is not None:
        channel.exit_requested = True
        channel.emit(CustomEvent(name=EXIT_EVENT, value=True))
    return _Done(True)


# -- streaming a completion -------------------------------------------------------------------


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


class _StreamState:
    def __init__(self, channel: RunChannel | None) -> None:
        self.channel = channel
        self.message_id = new_id("msg_")
        self.text: list[str] = []
        self.text_open = False
        self.calls: dict[int, dict[str, Any]] = {}
        self.open_call: int | None = None
        self.finish_reason: str | None = None
        self.model: str | None = None
        self.created: int | None = None

    def emit(self, *events: Any) -> None:
        if self.channel is not None:
            for event in events:
                self.channel.put("agui", event)

    def feed(self, chunk: Any) -> None:
        self.model = self.model or _get(chunk, "model")
        self.created = self.created or _get(chunk, "created")
        choices = _get(chunk, "choices") or []
        if not choices:
            return
        choice = choices[0]
        self.finish_reason = _get(choice, "finish_reason") or self.finish_reason
        delta = _get(choice, "delta")
        content = _get(delta, "content")
        tool_calls = _get(delta, "tool_calls") or []
        if content:
            self._close_call()
            if not self.text_open:
                self.text_open = True
                self.emit(TextMessageStartEvent(message_id=self.message_id, role="assistant"))
            self.text.append(content)
            self.emit(TextMessageContentEvent(message_id=self.message_id, delta=content))
        for part in tool_calls:
            index = _get(part, "index") or 0
            function = _get(part, "function")
            name = _get(function, "name")
            arguments = _get(function, "arguments") or ""
            call = self.calls.get(index)
            if call is None:
                self._close_text()
                self._close_call()
                call = self.calls[index] = {"id": _get(part, "id") or new_id("call_"),
                                            "name": name or "", "arguments": ""}
                self.open_call = index
                self.emit(ToolCallStartEvent(tool_call_id=call["id"], tool_call_name=call["name"],
                                             parent_message_id=self.message_id))
            elif name and not call["name"]:
                call["name"] = name
            if arguments:
                call["arguments"] += arguments
                self.emit(ToolCallArgsEvent(tool_call_id=call["id"], delta=arguments))

    def _close_text(self) -> None:
        if self.text_open:
            self.text_open = False
            self.emit(TextMessageEndEvent(message_id=self.message_id))

    def _close_call(self) -> None:
        if self.open_call is not None:
            self.emit(ToolCallEndEvent(tool_call_id=self.calls[self.open_call]["id"]))
            self.open_call = None

    def result(self) -> AttrDict:
        self._close_text()
        self._close_call()
        tool_calls = [AttrDict(id=c["id"], type="function",
                               function=AttrDict(name=c["name"], arguments=c["arguments"]))
                      for _, c in sorted(self.calls.items())]
        message = AttrDict(id=self.message_id, role="assistant", content="".join(self.text),
                           tool_calls=tool_calls or None)
        choice = AttrDict(index=0, finish_reason=self.finish_reason, message=message)
        return AttrDict(id=self.message_id, object="chat.completion", model=self.model,
                        created=self.created, choices=[choice])


async def copilotkit_stream(response: Any) -> Any:
    """Stream a chat completion to the frontend as it arrives; return the whole response.

    Takes what ``litellm.completion(..., stream=True)`` or the OpenAI client's
    ``chat.completions.create(..., stream=True)`` return (sync or async streams, or a coroutine
    of one). Text deltas become a streamed assistant message, tool-call deltas streamed tool
    calls (a frontend action shows up in the frontend as it is called). Returns an
    :class:`AttrDict` shaped like a chat completion whose ``choices[0]["message"]`` carries the
    streamed message's id: append it to ``state.messages``. A non-streamed response is returned
    untouched.
    """
    if hasattr(response, "__await__") and not hasattr(response, "__aiter__"):
        response = await response
    streaming = hasattr(response, "__aiter__") or (
        hasattr(response, "__iter__") and not isinstance(response, (dict, str, bytes))
        and _get(response, "choices") is None)
    if not streaming:
        return response
    state = _StreamState(current_channel())
    if hasattr(response, "__aiter__"):
        async for chunk in response:
            state.feed(chunk)
    else:
        for chunk in response:
            state.feed(chunk)
    return state.result()
