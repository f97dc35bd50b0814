"""copilotkit-runtime plugin: serve LangGraph graphs in-process (provider type ``langgraph``).

Config::

    [agents.research]
    provider = "langgraph"
    graph = "my_app.graphs:research"

Importing this package does not import LangGraph; ``LangGraphProvider`` does, on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .options import CheckpointerOptions, LangGraphOptions

if TYPE_CHECKING:
    from .provider import LangGraphProvider

__all__ = ["CheckpointerOptions", "LangGraphOptions", "LangGraphProvider"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "LangGraphProvider":
        from .provider import LangGraphProvider

        return LangGraphProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
