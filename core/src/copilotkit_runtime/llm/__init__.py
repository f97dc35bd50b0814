"""LLM agents: the runtime calls a model itself, with frontend and backend actions.

* :mod:`.model`: the contract an SDK plugin implements (:class:`ChatModel`, the deltas, errors);
* :mod:`.loop`: the chat loop, written once (:class:`ChatLoop`);
* :mod:`.provider`: the base of LLM provider types (:class:`LLMProvider`, :class:`LLMOptions`).

The SDKs live in plugins (``copilotkit-provider-openai``, ``copilotkit-provider-anthropic``);
the core imports neither.
"""

from .loop import ChatLoop, LoopSettings, forwarded_settings, system_prompt
from .model import (
    ChatModel,
    LLMAuthError,
    LLMBadRequestError,
    LLMError,
    LLMRateLimitError,
    LLMStreamError,
    LLMTimeoutError,
    LLMUpstreamError,
    ModelDelta,
    ModelRequest,
    TextDelta,
    ToolCallDelta,
    ToolChoice,
    ToolSpec,
    Usage,
)
from .provider import DEFAULT_SYSTEM_PROMPT, LLMOptions, LLMProvider

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "ChatLoop",
    "ChatModel",
    "LLMAuthError",
    "LLMBadRequestError",
    "LLMError",
    "LLMOptions",
    "LLMProvider",
    "LLMRateLimitError",
    "LLMStreamError",
    "LLMTimeoutError",
    "LLMUpstreamError",
    "LoopSettings",
    "ModelDelta",
    "ModelRequest",
    "TextDelta",
    "ToolCallDelta",
    "ToolChoice",
    "ToolSpec",
    "Usage",
    "forwarded_settings",
    "system_prompt",
]
