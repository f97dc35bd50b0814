"""copilotkit-provider-agui: agents that live in another service speaking AG-UI over HTTP + SSE
(an ``ag-ui-langgraph`` or ``ag-ui-crewai`` FastAPI endpoint, Mastra, Pydantic AI, ADK, Agno,
LlamaIndex...), run through the runtime's engine like local ones."""

from __future__ import annotations

from .provider import AguiRemoteOptions, AguiRemoteProvider, RemoteAgentError
from .sse import SSEError, iter_sse_data

__version__ = "0.1.0"

__all__ = [
    "AguiRemoteOptions",
    "AguiRemoteProvider",
    "RemoteAgentError",
    "SSEError",
    "__version__",
    "iter_sse_data",
]
