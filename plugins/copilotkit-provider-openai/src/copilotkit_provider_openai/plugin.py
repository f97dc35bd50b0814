"""The plugin: provider type ``openai`` and, with ``OPENAI_API_KEY`` set and no agents
configured, an embedded ``default`` chat agent.

Config::

    [agents.assistant]
    provider = "openai"
    model = "gpt-4o-mini"                  # the default
    # api_key = "${OPENAI_API_KEY}"        # the default
    # base_url = "http://localhost:11434/v1"   # Ollama, vLLM, LM Studio, Groq, OpenRouter ...
    # organization = "org-..."
    # headers = { "api-key" = "${AZURE_OPENAI_KEY}" }   # Azure and proxies
    # temperature = 0.2
    # max_tokens = 1024
    # system_prompt = "You are ..."
    # actions = ["lookup_order"]           # backend actions it may call (default: all)
    # transcription_model = "whisper-1"    # for POST {base}/transcribe ("" turns it off)
    # lean_transport = true                # http:// base URLs on copilotkit_runtime.http
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from copilotkit_runtime import hookimpl
from copilotkit_runtime.llm import ChatModel, LLMOptions, LLMProvider

DEFAULT_MODEL = "gpt-4o-mini"
KEY_VARIABLE = "OPENAI_API_KEY"


class OpenAIOptions(LLMOptions):
    model: str = DEFAULT_MODEL
    transcription_model: str | None = "whisper-1"


class OpenAIProvider(LLMProvider[OpenAIOptions]):
    Options = OpenAIOptions
    key_variable = KEY_VARIABLE
    default_model = DEFAULT_MODEL

    def create_model(self, api_key: str | None) -> ChatModel:
        from .model import OpenAIChatModel  # the SDK, only when an agent uses it

        opts = self.options
        return OpenAIChatModel(
            api_key=api_key, base_url=opts.base_url, organization=opts.organization,
            headers=opts.headers, timeout=opts.timeout,
            key_hint=(f"the {KEY_VARIABLE} environment variable" if opts.api_key is None else
                      f"{self.section}.api_key (the key, or the environment variable it names)"),
            transcription_model=opts.transcription_model or None,
            lean_transport=opts.lean_transport)


@hookimpl
def register_agent_providers(registry: Any) -> None:
    registry.add("openai", OpenAIProvider)


@hookimpl(tryfirst=True)
def embedded_agents(environ: Mapping[str, str]) -> dict[str, dict[str, Any]] | None:
    if not environ.get(KEY_VARIABLE):
        return None
    section: dict[str, Any] = {"provider": "openai", "description": "Chat with an OpenAI model"}
    if environ[KEY_VARIABLE] != os.environ.get(KEY_VARIABLE):
        # Only for a runtime given an environment of its own (tests, embedding): the provider
        # reads the process environment, so a refused key names OPENAI_API_KEY.
        section["api_key"] = environ[KEY_VARIABLE]
    model = environ.get("OPENAI_MODEL")
    if model:
        section["model"] = model
    base_url = environ.get("OPENAI_BASE_URL")
    if base_url:
        section["base_url"] = base_url
    return {"default": section}
