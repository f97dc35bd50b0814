"""OpenAI (and OpenAI-compatible) LLM agents for copilotkit-runtime: provider type ``openai``.

The ``openai`` SDK is imported only when an agent uses it, so the plugin costs a server that
does not nothing at start-up.
"""

from __future__ import annotations

from typing import Any

from .plugin import OpenAIOptions, OpenAIProvider

__all__ = ["OpenAIChatModel", "OpenAIOptions", "OpenAIProvider"]


def __getattr__(name: str) -> Any:
    if name == "OpenAIChatModel":
        from .model import OpenAIChatModel

        return OpenAIChatModel
    raise AttributeError(name)
