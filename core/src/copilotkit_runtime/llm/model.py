"""The contract between the chat loop and an LLM SDK: one request in, a stream of deltas out.

The loop (:mod:`.loop`) is written once. A provider plugin (``copilotkit-provider-openai``,
``copilotkit-provider-anthropic``, or yours) implements :class:`ChatModel`: it translates a
:class:`ModelRequest` into its SDK's call and the SDK's stream into :class:`TextDelta`,
:class:`ToolCallDelta` and :class:`Usage` values, and its SDK's exceptions into the
:class:`LLMError` subclasses below. It does no retries (the loop does, the same for every SDK)
and never puts a key in an error message.

Messages stay AG-UI messages (``ag_ui.core``): ``system``/``developer``, ``user`` (text or
parts with images), ``assistant`` (text and ``tool_calls``) and ``tool`` (a result answering a
call). Each SDK maps them to its own shape.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ag_ui.core import Message

from ..errors import CopilotKitRuntimeError

__all__ = [
    "ChatModel",
    "LLMAuthError",
    "LLMBadRequestError",
    "LLMError",
    "LLMRateLimitError",
    "LLMStreamError",
    "LLMTimeoutError",
    "LLMUpstreamError",
    "ModelDelta",
    "ModelRequest",
    "TextDelta",
    "ToolCallDelta",
    "ToolChoice",
    "ToolSpec",
    "Usage",
]


@dataclass(frozen=True)
class ToolSpec:
    """A tool offered to the model: a frontend action or a backend action."""

    name: str
    description: str
    #: JSON schema of the arguments object
    parameters: dict[str, Any]


@dataclass(frozen=True)
class ToolChoice:
    """``mode``: ``auto`` (the model decides), ``none``, ``required`` (some tool), or
    ``function`` (the tool ``name``)."""

    mode: str = "auto"
    name: str | None = None


@dataclass
class ModelRequest:
    model: str
    #: the system prompt: the agent's instructions and the app's readables
    system: str
    messages: Sequence[Message]
    tools: Sequence[ToolSpec] = ()
    tool_choice: ToolChoice = field(default_factory=ToolChoice)
    temperature: float | None = None
    max_tokens: int | None = None
    stop: Sequence[str] | None = None
    #: the agent's name, for log lines and error messages
    agent: str = ""


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of a streamed tool call. ``index`` tells calls apart within one response; the
    first delta of a call carries its ``id`` and ``name``, later ones argument fragments."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None


ModelDelta = TextDelta | ToolCallDelta | Usage


class ChatModel(ABC):
    """One configured model endpoint (an SDK client with its base URL and key)."""

    @abstractmethod
    def stream(self, request: ModelRequest) -> AsyncGenerator[ModelDelta, None]:
        """Call the model, streaming. An ``async def`` generator.

        When the consumer stops early (a stop, a client that went away) the generator is
        closed: close the SDK's stream in ``finally`` / ``async with`` so the upstream HTTP
        connection is closed too.
        """

    async def transcribe(self, audio: bytes, *, filename: str, mime_type: str) -> str:
        """Speech to text; models that cannot raise :class:`NotImplementedError`."""
        raise NotImplementedError

    @property
    def can_transcribe(self) -> bool:
        return False

    async def aclose(self) -> None:
        """Release the SDK client (called at shutdown)."""


class LLMError(CopilotKitRuntimeError):
    """The model call failed. ``message`` is shown to the user: no keys, no request bodies."""

    code = "LLM_ERROR"
    retryable = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LLMAuthError(LLMError):
    """401/403: the key is missing, wrong or lacks access."""

    code = "LLM_AUTH_FAILED"


class LLMRateLimitError(LLMError):
    """429: retried by the loop, honouring ``retry_after`` (seconds) when the server sent it."""

    code = "LLM_RATE_LIMITED"
    retryable = True

    def __init__(self, message: str, *, status: int | None = 429,
                 retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class LLMTimeoutError(LLMError):
    """No answer (or no next chunk) within the configured timeout."""

    code = "LLM_TIMEOUT"


class LLMUpstreamError(LLMError):
    """5xx, or the connection failed. Retried before the first delta only."""

    code = "LLM_UPSTREAM_ERROR"
    retryable = True


class LLMBadRequestError(LLMError):
    """4xx other than auth and rate limits: an unknown model, a bad parameter."""

    code = "LLM_BAD_REQUEST"


class LLMStreamError(LLMError):
    """The stream was malformed or ended before the model finished."""

    code = "LLM_BAD_STREAM"
