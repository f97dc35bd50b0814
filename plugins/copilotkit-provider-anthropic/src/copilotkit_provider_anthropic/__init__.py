"""Anthropic (Claude) LLM agents for copilotkit-runtime: provider type ``anthropic``.

``AnthropicChatModel`` (the SDK adapter) is imported on first use: the ``anthropic`` SDK takes
seconds to import, and loading the plugin should not.
"""

from typing import Any

from .plugin import AnthropicOptions, AnthropicProvider

__all__ = ["AnthropicChatModel", "AnthropicOptions", "AnthropicProvider"]


def __getattr__(name: str) -> Any:
    if name == "AnthropicChatModel":
        from .model import AnthropicChatModel

        return AnthropicChatModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
