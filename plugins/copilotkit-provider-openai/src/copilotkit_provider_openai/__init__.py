"""OpenAI (and OpenAI-compatible) LLM agents for copilotkit-runtime: provider type ``openai``."""

from .model import OpenAIChatModel
from .plugin import OpenAIOptions, OpenAIProvider

__all__ = ["OpenAIChatModel", "OpenAIOptions", "OpenAIProvider"]
