"""The base of LLM agent provider types: options, action selection, the loop.

A plugin for an LLM SDK subclasses :class:`LLMProvider`, names the environment variable its
key comes from, and builds its :class:`~.model.ChatModel`::

    class OpenAIProvider(LLMProvider):
        class Options(LLMOptions):
            model: str = "gpt-4o-mini"

        key_variable = "OPENAI_API_KEY"

        def create_model(self, api_key):
            return OpenAIChatModel(api_key=api_key, base_url=self.options.base_url, ...)

Config (``[agents.NAME]``)::

    provider = "openai"
    model = "gpt-4o-mini"
    api_key = "${OPENAI_API_KEY}"     # the default: the key variable named by the plugin
    base_url = "http://localhost:11434/v1"   # any compatible server (Ollama, vLLM, ...)
    temperature = 0.2
    max_tokens = 1024
    system_prompt = "You are ..."
    actions = ["lookup_order"]        # backend actions it may call (default: all)
    lean_transport = true             # http:// base URLs through copilotkit_runtime.http
"""

from __future__ import annotations

import os
from abc import abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from ag_ui.core import BaseEvent
from pydantic import Field, SecretStr

from ..actions import missing_actions_text
from ..errors import ConfigError
from ..providers import AgentInfo, AgentProvider, ProviderContext, ProviderOptions, RunRequest
from .loop import ChatLoop, LoopSettings
from .model import ChatModel

__all__ = ["DEFAULT_SYSTEM_PROMPT", "LLMOptions", "LLMProvider"]

DEFAULT_SYSTEM_PROMPT = (
    "You are a helpful assistant inside an application. Answer concisely. When one of the "
    "tools you are given fits the user's request, call it."
)


class LLMOptions(ProviderOptions):
    model: str = Field("", description="model name as the provider knows it")
    base_url: str | None = Field(None, description="API base URL (compatible servers, proxies)")
    api_key: SecretStr | None = Field(
        None, description="API key; default: the plugin's environment variable")
    organization: str | None = None
    headers: dict[str, str] = Field(default_factory=dict, description="sent with every call")
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, gt=0)
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    actions: list[str] | None = Field(
        None, description="backend actions this agent may call (default: every one)")
    max_iterations: int = Field(10, ge=1, le=100, description="most model calls in one run")
    max_retries: int = Field(3, ge=0, le=10, description="retries after 429 / 5xx")
    max_retry_wait: float = Field(30.0, ge=0, description="longest wait before one retry (s)")
    timeout: float = Field(60.0, gt=0, description="seconds to wait for the model's next bytes")
    action_timeout: float = Field(30.0, gt=0, description="seconds a backend action may take")
    transcription_model: str | None = Field(
        None, description="speech-to-text model for /transcribe (when the provider has one)")
    lean_transport: bool = Field(
        True, description="plain-http base URLs through the core's httptools transport "
        "(copilotkit_runtime.http); false: httpx's own for every URL")


LLMOptionsT = TypeVar("LLMOptionsT", bound=LLMOptions)


class LLMProvider(AgentProvider[LLMOptionsT]):
    """An agent that is a model with tools: frontend actions and the runtime's backend actions."""

    Options: ClassVar[type[ProviderOptions]] = LLMOptions
    #: where the key comes from when ``api_key`` is not set (e.g. ``OPENAI_API_KEY``)
    key_variable: ClassVar[str] = ""
    #: a model name to use when the config gives none
    default_model: ClassVar[str] = ""

    def __init__(self, name: str, options: LLMOptionsT, context: ProviderContext,
                 description: str = "") -> None:
        super().__init__(name, options, context, description)
        opts = options
        self.section = f"agents.{name}"
        self.actions = self._select_actions(context.actions, opts.actions)
        #: why some discovered actions could not be listed (see :meth:`offer_actions`)
        self.unavailable_actions: list[str] = []
        self.model = self.create_model(self._api_key(opts))
        self.loop = ChatLoop(self.model, self.actions, LoopSettings(
            model=opts.model or self.default_model,
            system_prompt=opts.system_prompt,
            temperature=opts.temperature,
            max_tokens=opts.max_tokens,
            max_iterations=opts.max_iterations,
            max_retries=opts.max_retries,
            max_retry_wait=opts.max_retry_wait,
            action_timeout=opts.action_timeout,
            section=self.section,
        ))

    @abstractmethod
    def create_model(self, api_key: str | None) -> ChatModel:
        """The SDK-backed model for these options (``self.options``)."""

    def _api_key(self, opts: LLMOptions) -> str | None:
        if opts.api_key is not None:
            value = opts.api_key.get_secret_value()
            if value:
                return value
        if self.key_variable:
            value = os.environ.get(self.key_variable, "")
            if value:
                return value
        if opts.base_url:
            return None  # a local compatible server usually wants no key
        raise ConfigError(
            f"{self.section}: no API key for provider '{self.type_name}'. Set the environment "
            f"variable {self.key_variable or 'holding the key'}, or api_key = \"${{VARIABLE}}\" "
            "in that section (base_url for a local server that needs none).")

    def _select_actions(self, available: Mapping[str, Any], wanted: list[str] | None
                        ) -> dict[str, Any]:
        """The actions this agent may call: every one (no ``actions`` list), or those its list
        names that exist now. Names that do not exist yet may be discovered later (a remote
        endpoint's actions, MCP tools: :meth:`offer_actions`); the runtime checks them
        (:meth:`missing_actions`)."""
        if wanted is None:
            return dict(available)
        return {name: available[name] for name in wanted if name in available}

    def offer_actions(self, actions: Mapping[str, Any], *,
                      unavailable: Sequence[str] = ()) -> None:
        wanted = self.options.actions
        taken = {name: action for name, action in actions.items()
                 if wanted is None or name in wanted}
        self.actions.update(taken)
        self.loop.actions.update(taken)
        self.unavailable_actions.extend(r for r in unavailable if r not in self.unavailable_actions)

    def missing_actions(self) -> list[str]:
        wanted = self.options.actions or []
        return [name for name in wanted if name not in self.actions]

    def agents(self) -> list[AgentInfo]:
        opts = self.options
        model = opts.model or self.default_model
        return [AgentInfo(
            name=self.name,
            description=self.description or f"Chat with {model}",
            provider=self.type_name,
            capabilities={"streaming": True, "frontend_actions": True,
                          "backend_actions": sorted(self.actions), "suggestions": True,
                          "transcription": self.can_transcribe, "model": model},
        )]

    def run(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        if self.missing_actions():
            # Actions it names were not discovered (an MCP server that did not start): look
            # again (they may have been added since), else this run fails saying which.
            self.offer_actions(self.context.actions)
            if self.missing_actions():
                return _fail(ConfigError(missing_actions_text(
                    self.section, self.missing_actions(), self.context.actions,
                    self.unavailable_actions)))
        return self.loop.run(request)

    @property
    def can_transcribe(self) -> bool:
        return self.model.can_transcribe

    async def transcribe(self, audio: bytes, *, filename: str, mime_type: str) -> str:
        return await self.model.transcribe(audio, filename=filename, mime_type=mime_type)

    async def shutdown(self) -> None:
        await self.model.aclose()


async def _fail(error: Exception) -> AsyncIterator[BaseEvent]:
    raise error
    yield  # an async generator that fails when first read
