"""The chat loop, written once for every LLM SDK.

One run of an LLM agent::

    system prompt + the app's readables (context) + the conversation  →  the model
        streamed text                      →  TEXT_MESSAGE_START / _CONTENT / _END
        streamed tool calls                →  TOOL_CALL_START / _ARGS / _END
    a call to a backend action             →  executed here, its result streamed as
                                              TOOL_CALL_RESULT and fed back to the model,
                                              then the model is called again
    a call to a frontend action            →  the run ends: the frontend executes it and its
                                              follow-up run continues the conversation
    an answer with no tool call            →  the run ends

bounded by ``max_iterations`` model calls. A model error becomes the run's ``RUN_ERROR``
(with the :class:`~.model.LLMError` code); rate limits and 5xx are retried with backoff
(``Retry-After`` honoured, bounded) as long as nothing of that response was streamed yet.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ag_ui.core import (
    AssistantMessage,
    BaseEvent,
    FunctionCall,
    Message,
    RunErrorEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCall,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
    ToolMessage,
)
from opentelemetry.trace import Status, StatusCode

from ..actions import Action, ActionArgumentsError, result_text
from ..events import new_id
from ..providers import RunRequest
from ..telemetry import record_llm_usage, tracer
from .model import (
    ChatModel,
    LLMError,
    LLMRateLimitError,
    ModelRequest,
    TextDelta,
    ToolCallDelta,
    ToolChoice,
    ToolSpec,
    Usage,
)

log = logging.getLogger("copilotkit_runtime.llm")

__all__ = ["ChatLoop", "LoopSettings", "forwarded_settings", "system_prompt"]


@dataclass(frozen=True)
class LoopSettings:
    model: str
    system_prompt: str = ""
    temperature: float | None = None
    max_tokens: int | None = None
    #: most model calls in one run (each backend-action round is one more)
    max_iterations: int = 10
    #: retries of one model call after a rate limit or a 5xx (before anything streamed)
    max_retries: int = 3
    #: longest wait before a retry; a ``Retry-After`` beyond it fails the run at once
    max_retry_wait: float = 30.0
    #: seconds a backend action may take unless it sets its own
    action_timeout: float = 30.0
    #: config section, for messages that tell the user what to change
    section: str = ""


@dataclass
class _Call:
    index: int
    id: str
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    started: bool = False
    ended: bool = False


def system_prompt(instructions: str, request: RunRequest) -> str:
    """The agent's instructions, then the readables the app shared (``useCopilotReadable``)."""
    parts = [instructions.strip()] if instructions.strip() else []
    context = request.context
    if context:
        lines = "\n".join(f"- {c.description}: {c.value}" for c in context)
        parts.append("The user has provided the following context:\n" + lines)
    return "\n\n".join(parts)


def forwarded_settings(props: Mapping[str, Any]) -> dict[str, Any]:
    """What a request may override, from v1 ``forwardedParameters`` or v2 ``forwardedProps``:
    ``model``, ``temperature``, ``maxTokens``, ``stop``, ``toolChoice`` (v1: ``"auto"``,
    ``"none"``, ``"required"``, ``"function"`` with ``toolChoiceFunctionName``; v2: OpenAI's
    ``{"type": "function", "function": {"name": ...}}``)."""
    out: dict[str, Any] = {}
    model = props.get("model")
    if isinstance(model, str) and model:
        out["model"] = model
    temperature = props.get("temperature")
    if isinstance(temperature, int | float) and not isinstance(temperature, bool):
        out["temperature"] = float(temperature)
    max_tokens = props.get("maxTokens", props.get("max_tokens"))
    # GraphQL types maxTokens as a Float: 20.0 is 20.
    if isinstance(max_tokens, int | float) and not isinstance(max_tokens, bool) and max_tokens >= 1:
        out["max_tokens"] = int(max_tokens)
    stop = props.get("stop")
    if isinstance(stop, str):
        out["stop"] = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop) and stop:
        out["stop"] = list(stop)
    choice = props.get("toolChoice", props.get("tool_choice"))
    if isinstance(choice, str):
        if choice == "function":
            name = props.get("toolChoiceFunctionName")
            if isinstance(name, str) and name:
                out["tool_choice"] = ToolChoice("function", name)
        elif choice in ("auto", "none", "required"):
            out["tool_choice"] = ToolChoice(choice)
    elif isinstance(choice, Mapping):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else choice.get("name")
        if isinstance(name, str) and name:
            out["tool_choice"] = ToolChoice("function", name)
    return out


class ChatLoop:
    """Runs one LLM agent's requests against ``model`` with the backend ``actions`` it may call."""

    def __init__(self, model: ChatModel, actions: Mapping[str, Action], settings: LoopSettings
                 ) -> None:
        self.model = model
        self.actions = dict(actions)
        self.settings = settings

    async def run(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        settings = self.settings
        overrides = forwarded_settings(request.forwarded_props)
        frontend = {tool.name: tool for tool in request.tools}
        backend = {name: action for name, action in self.actions.items() if name not in frontend}
        tools = [ToolSpec(a.name, a.description, a.parameters) for a in backend.values()]
        tools += [ToolSpec(t.name, t.description, t.parameters if isinstance(t.parameters, dict)
                           else {"type": "object", "properties": {}}) for t in frontend.values()]
        choice: ToolChoice = overrides.get("tool_choice", ToolChoice())
        if choice.mode == "function" and choice.name not in frontend and choice.name not in backend:
            choice = ToolChoice()  # forcing a tool nobody offered would fail upstream
        if not tools:
            choice = ToolChoice()
        conversation = _paired(request.messages)
        base = ModelRequest(
            model=overrides.get("model", settings.model),
            system=system_prompt(settings.system_prompt, request),
            messages=conversation,
            tools=tools,
            tool_choice=choice,
            temperature=overrides.get("temperature", settings.temperature),
            max_tokens=overrides.get("max_tokens", settings.max_tokens),
            stop=overrides.get("stop"),
            agent=request.agent,
        )
        where = f"thread {request.thread_id}, run {request.run_id}"
        for iteration in range(settings.max_iterations):
            turn = _Turn()
            try:
                async for event in turn.stream(self._call(base, where)):
                    yield event
            except LLMError as exc:
                for event in turn.close():
                    yield event
                log.warning("agent %s: the model call failed (%s): %s", request.agent, where,
                            exc.message)
                yield RunErrorEvent(message=exc.message, code=exc.code)
                return
            for event in turn.close():
                yield event
            if not turn.calls:
                return
            calls: list[tuple[_Call, Any]] = []
            for call in turn.calls:
                if call.name not in frontend and call.name not in backend:
                    offered = ", ".join(sorted({*frontend, *backend})) or "none"
                    yield RunErrorEvent(
                        message=f"The model called an action that does not exist: "
                                f"'{call.name}' (offered: {offered}).",
                        code="LLM_UNKNOWN_ACTION")
                    return
                text = "".join(call.arguments)
                try:
                    arguments = json.loads(text) if text.strip() else {}
                except ValueError as exc:
                    yield RunErrorEvent(
                        message=f"The model called '{call.name}' with arguments that are not "
                                f"valid JSON ({exc}): {text[:200]!r}",
                        code="LLM_BAD_TOOL_ARGUMENTS")
                    return
                calls.append((call, arguments))
            assistant = AssistantMessage(
                id=turn.message_id, content=turn.text or None,
                tool_calls=[ToolCall(id=c.id, function=FunctionCall(name=c.name,
                                                                    arguments="".join(c.arguments)))
                            for c, _ in calls])
            results: list[Message] = []
            for call, arguments in calls:
                action = backend.get(call.name)
                if action is None:
                    continue
                content = await self._execute(action, arguments, request, where)
                message_id = new_id("msg_")
                results.append(ToolMessage(id=message_id, content=content, tool_call_id=call.id))
                yield ToolCallResultEvent(message_id=message_id, tool_call_id=call.id,
                                          content=content, role="tool")
            if any(call.name in frontend for call, _ in calls):
                return  # the frontend executes its actions; its follow-up run continues
            conversation = [*conversation, assistant, *results]
            base.messages = conversation
            log.debug("agent %s: iteration %d done (%s)", request.agent, iteration + 1, where)
        yield RunErrorEvent(
            message=f"The model kept calling backend actions: stopped after "
                    f"{settings.max_iterations} model calls without an answer "
                    f"(raise {settings.section or 'the agent'}.max_iterations to allow more).",
            code="LLM_TOO_MANY_ITERATIONS")

    async def _call(self, request: ModelRequest, where: str) -> AsyncIterator[Any]:
        """The model's stream, retried after rate limits and 5xx until something streamed."""
        settings = self.settings
        attempt = 0
        while True:
            stream = self.model.stream(request)
            streamed = False
            span = tracer.start_span("copilotkit.llm", attributes={
                "gen_ai.request.model": request.model, "copilotkit.agent": request.agent,
                "copilotkit.llm.attempt": attempt + 1})
            usage: Usage | None = None
            try:
                async for delta in stream:
                    streamed = True
                    if type(delta) is Usage:
                        usage = delta
                    yield delta
                return
            except LLMError as exc:
                span.set_status(Status(StatusCode.ERROR, exc.code))
                span.set_attribute("copilotkit.error_code", exc.code)
                if not exc.retryable or streamed or attempt >= settings.max_retries:
                    raise
                wait = _backoff(attempt)
                if isinstance(exc, LLMRateLimitError) and exc.retry_after is not None:
                    if exc.retry_after > settings.max_retry_wait:
                        raise LLMRateLimitError(
                            f"{exc.message} The provider asks to retry after "
                            f"{exc.retry_after:.0f} s, longer than this server waits.",
                            retry_after=exc.retry_after) from None
                    wait = max(exc.retry_after, 0.0)
                wait = min(wait, settings.max_retry_wait)
                attempt += 1
                log.info("agent %s: %s; retry %d of %d in %.2f s (%s)", request.agent,
                         exc.message, attempt, settings.max_retries, wait, where)
                await asyncio.sleep(wait)
            finally:
                if usage is not None:
                    record_llm_usage(span, request.agent, request.model, usage.input_tokens,
                                     usage.output_tokens)
                else:
                    record_llm_usage(span, request.agent, request.model, None, None)
                span.end()
                await stream.aclose()

    async def _execute(self, action: Action, arguments: Any, request: RunRequest, where: str) -> str:
        """Run a backend action; a failure is a result the model reads, never a failed run."""
        try:
            result = await action.invoke(arguments, default_timeout=self.settings.action_timeout)
        except ActionArgumentsError as exc:
            log.warning("agent %s: action %s got invalid arguments (%s): %s", request.agent,
                        action.name, where, exc)
            return f"Error: invalid arguments for action '{action.name}': {exc}"
        except TimeoutError:
            timeout = action.timeout if action.timeout is not None else self.settings.action_timeout
            log.warning("agent %s: action %s timed out after %.1f s (%s)", request.agent,
                        action.name, timeout, where)
            return f"Error: action '{action.name}' did not finish within {timeout:g} seconds."
        except Exception as exc:
            log.warning("agent %s: action %s raised %s: %s (%s)", request.agent, action.name,
                        type(exc).__name__, exc, where, exc_info=True)
            return f"Error: action '{action.name}' failed: {type(exc).__name__}: {exc}"
        return result_text(result)


class _Turn:
    """One model response turned into AG-UI events as it streams."""

    def __init__(self) -> None:
        self.message_id = new_id("msg_")
        self.text_id: str | None = None
        self.text_parts: list[str] = []
        self.calls: list[_Call] = []
        self._by_index: dict[int, _Call] = {}
        self._open: _Call | None = None
        self.usage: Usage | None = None

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    async def stream(self, deltas: AsyncIterator[Any]) -> AsyncIterator[BaseEvent]:
        async for delta in deltas:
            if type(delta) is TextDelta:
                if not delta.text:
                    continue
                if self._open is not None:
                    yield _end(self._open)
                    self._open = None
                if self.text_id is None:
                    # A second stretch of text after tool calls is a message of its own.
                    self.text_id = self.message_id if not self.text_parts else new_id("msg_")
                    yield TextMessageStartEvent(message_id=self.text_id, role="assistant")
                self.text_parts.append(delta.text)
                yield TextMessageContentEvent(message_id=self.text_id, delta=delta.text)
            elif type(delta) is ToolCallDelta:
                for event in self._tool_delta(delta):
                    yield event
            elif type(delta) is Usage:
                self.usage = delta

    def _tool_delta(self, delta: ToolCallDelta) -> list[BaseEvent]:
        out: list[BaseEvent] = []
        call = self._by_index.get(delta.index)
        if call is None:
            call = _Call(delta.index, delta.id or new_id("call_"))
            self._by_index[delta.index] = call
            self.calls.append(call)
        elif delta.id and not call.started:
            call.id = delta.id
        if delta.name and not call.name:
            call.name = delta.name
        if delta.arguments:
            call.arguments.append(delta.arguments)
        if not call.started and call.name:
            if self.text_id is not None:
                out.append(TextMessageEndEvent(message_id=self.text_id))
                self.text_id = None
            if self._open is not None:
                out.append(_end(self._open))
            call.started = True
            self._open = call
            out.append(ToolCallStartEvent(tool_call_id=call.id, tool_call_name=call.name,
                                          parent_message_id=self.message_id))
            buffered = "".join(call.arguments)
            if buffered:
                out.append(ToolCallArgsEvent(tool_call_id=call.id, delta=buffered))
        elif call is self._open and delta.arguments:
            out.append(ToolCallArgsEvent(tool_call_id=call.id, delta=delta.arguments))
        return out

    def close(self) -> list[BaseEvent]:
        out: list[BaseEvent] = []
        if self.text_id is not None:
            out.append(TextMessageEndEvent(message_id=self.text_id))
            self.text_id = None
        if self._open is not None:
            out.append(_end(self._open))
            self._open = None
        # A call that never got a name cannot be run or shown: the stream was malformed.
        self.calls = [c for c in self.calls if c.started]
        return out


def _end(call: _Call) -> ToolCallEndEvent:
    call.ended = True
    return ToolCallEndEvent(tool_call_id=call.id)


def _backoff(attempt: int) -> float:
    return min(0.5 * (2 ** attempt), 8.0) * (0.75 + random.random() / 2)


def _paired(messages: Sequence[Message]) -> list[Message]:
    """The conversation with every tool call answered and every result attached to a call.

    Models refuse a history where an assistant's tool call has no result (an action the
    frontend never reported back) or a result answers no call. Missing results are filled in
    ("not executed"), orphan results dropped.
    """
    answered = {m.tool_call_id for m in messages if m.role == "tool"}
    called: set[str] = set()
    out: list[Message] = []
    for message in messages:
        if message.role == "tool":
            if message.tool_call_id in called:
                out.append(message)
            continue
        out.append(message)
        if message.role == "assistant" and message.tool_calls:
            for call in message.tool_calls:
                called.add(call.id)
            missing = [c for c in message.tool_calls if c.id not in answered]
            for call in missing:
                out.append(ToolMessage(id=new_id("msg_"), tool_call_id=call.id,
                                       content="The action was not executed."))
    return out
