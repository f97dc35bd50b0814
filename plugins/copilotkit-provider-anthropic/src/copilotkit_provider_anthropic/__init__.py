"""Anthropic (Claude) LLM agents for copilotkit-runtime: provider type ``anthropic``."""

from .model import AnthropicChatModel
from .plugin import AnthropicOptions, AnthropicProvider

__all__ = ["AnthropicChatModel", "AnthropicOptions", "AnthropicProvider"]
