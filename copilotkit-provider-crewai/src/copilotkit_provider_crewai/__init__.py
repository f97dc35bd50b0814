"""copilotkit-runtime plugin: serve CrewAI flows and crews to CopilotKit frontends.

Flows import their helpers from :mod:`copilotkit_provider_crewai.sdk`::

    from copilotkit_provider_crewai.sdk import CopilotKitState, copilotkit_stream

(Those names are also available here, loaded on first use so that installing the plugin does
not import CrewAI.)
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_SDK_NAMES = {
    "AttrDict", "CopilotKitProperties", "CopilotKitState", "copilotkit_emit_message",
    "copilotkit_emit_state", "copilotkit_emit_tool_call", "copilotkit_exit",
    "copilotkit_predict_state", "copilotkit_stream",
}


def __getattr__(name: str) -> Any:
    if name in _SDK_NAMES:
        from . import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
