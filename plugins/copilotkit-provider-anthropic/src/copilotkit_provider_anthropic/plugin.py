"""The plugin: provider type ``anthropic`` and, with ``ANTHROPIC_API_KEY`` set and no agents
configured, an embedded ``default`` chat agent (the OpenAI plugin's wins when both keys are set).

Config::

    [agents.assistant]
    provider = "anthropic"
    model = "claude-3-5-sonnet-latest"     # the default
    # api_key = "${ANTHROPIC_API_KEY}"     # the default
    # base_url = "https://my-proxy.example.com"   # a gateway or proxy speaking the Messages API
    # headers = { "anthropic-beta" = "..." }
    # temperature = 0.2                    # 0..1 (higher values are clamped to 1)
    # max_tokens = 4096                    # the default (the Messages API requires one)
    # system_prompt = "You are ..."
    # actions = ["lookup_order"]           # backend actions it may call (default: all)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, cast

from pydantic import Field

from copilotkit_runtime import hookimpl
from copilotkit_runtime.llm import ChatModel, LLMOptions, LLMProvider

from .defaults import DEFAULT_MAX_TOKENS

DEFAULT_MODEL = "claude-3-5-sonnet-latest"
KEY_VARIABLE = "ANTHROPIC_API_KEY"


class AnthropicOptions(LLMOptions):
    model: str = DEFAULT_MODEL
    max_tokens: int | None = Field(DEFAULT_MAX_TOKENS, gt=0,
                                   description="most tokens in one answer (required by the API)")


class AnthropicProvider(LLMProvider):
    Options = AnthropicOptions
    key_variable = KEY_VARIABLE
    default_model = DEFAULT_MODEL

    def create_model(self, api_key: str | None) -> ChatModel:
        # Imported here: the SDK takes seconds to import, which a runtime that loads this
        # plugin without configuring an Anthropic agent should not pay at start-up.
        from .model import AnthropicChatModel

        opts = cast(AnthropicOptions, self.options)
        return AnthropicChatModel(
            api_key=api_key, base_url=opts.base_url, headers=opts.headers, timeout=opts.timeout,
            key_hint=(f"the {KEY_VARIABLE} environment variable" if opts.api_key is None
                      else f"the key {self.section}.api_key gives"),
            lean_transport=opts.lean_transport)


@hookimpl
def register_agent_providers(registry: Any) -> None:
    registry.add("anthropic", AnthropicProvider)


@hookimpl(trylast=True)
def embedded_agents(environ: Mapping[str, str]) -> dict[str, dict[str, Any]] | None:
    if not environ.get(KEY_VARIABLE):
        return None
    section: dict[str, Any] = {"provider": "anthropic",
                               "description": "Chat with an Anthropic model"}
    if environ[KEY_VARIABLE] != os.environ.get(KEY_VARIABLE):
        # Only when the runtime was given an environment of its own (tests, embedding):
        # otherwise the provider reads the variable itself, and a refused key names it.
        section["api_key"] = environ[KEY_VARIABLE]
    model = environ.get("ANTHROPIC_MODEL")
    if model:
        section["model"] = model
    base_url = environ.get("ANTHROPIC_BASE_URL")
    if base_url:
        section["base_url"] = base_url
    return {"default": section}
