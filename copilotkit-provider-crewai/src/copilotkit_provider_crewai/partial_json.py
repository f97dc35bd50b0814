"""Parse the JSON prefix an LLM has streamed so far (for predictive state): the core's parser."""

from __future__ import annotations

from copilotkit_runtime.events import parse_partial_json

__all__ = ["parse_partial_json"]
