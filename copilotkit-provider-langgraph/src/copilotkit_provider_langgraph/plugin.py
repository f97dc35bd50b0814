"""Entry point module: registers the ``langgraph`` provider type with copilotkit-runtime.

Loading it imports neither LangGraph nor LangChain: plugin discovery and ``copilotkit-runtime``
start-up pay for them only when an ``[agents.*]`` section uses ``provider = "langgraph"``
(the registered type builds the real :class:`~.provider.LangGraphProvider` on first use).
"""

from __future__ import annotations

from typing import Any

from copilotkit_runtime import hookimpl
from copilotkit_runtime.providers import AgentProvider

from .options import LangGraphOptions


class LangGraphProviderType(AgentProvider[LangGraphOptions]):
    """What the registry holds for ``langgraph``: the options model, and a constructor that
    imports the provider (and LangGraph) when the first langgraph agent is built."""

    Options = LangGraphOptions

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        from .provider import LangGraphProvider

        LangGraphProvider.type_name = cls.type_name
        return LangGraphProvider(*args, **kwargs)


@hookimpl
def register_agent_providers(registry: Any) -> None:
    registry.add("langgraph", LangGraphProviderType)
