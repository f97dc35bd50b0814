"""copilotkit-runtime plugin: serve LangGraph graphs in-process (provider type ``langgraph``).

Config::

    [agents.research]
    provider = "langgraph"
    graph = "my_app.graphs:research"
"""

from __future__ import annotations

from .options import CheckpointerOptions, LangGraphOptions
from .provider import LangGraphProvider

__all__ = ["CheckpointerOptions", "LangGraphOptions", "LangGraphProvider"]
__version__ = "0.1.0"
