"""copilotkit-runtime: a CopilotKit runtime in Python.

Plugins write ``from copilotkit_runtime import hookimpl``.
"""

from __future__ import annotations

from .actions import Action
from .config import Settings, load_settings
from .errors import (
    AgentNotFoundError,
    ConfigError,
    CopilotKitRuntimeError,
    GuardrailBlockedError,
    PluginError,
    StoreError,
    ThreadBusyError,
    ThreadNotFoundError,
    UnknownTypeError,
    VersionConflictError,
)
from .guardrails import Guardrail, GuardrailDecision, GuardrailOptions, GuardrailRules
from .hookspecs import hookimpl
from .middleware import Principal, RequestContext, RequestMiddleware
from .providers import (
    AgentInfo,
    AgentProvider,
    ProviderContext,
    ProviderOptions,
    RunRequest,
    ThreadSnapshot,
)
from .runtime import Runtime
from .stores import (
    LiveBatch,
    RunLease,
    StateStore,
    StoredEvent,
    StoreOptions,
    ThreadRecord,
    update_thread,
)

__version__ = "0.1.0"
RUNTIME_VERSION_HEADER = "x-copilotkit-runtime-version"
#: The @copilotkit/runtime version whose protocol we serve (clients compare it with their own).
COMPATIBLE_RUNTIME_VERSION = "1.10.6"

__all__ = [
    "COMPATIBLE_RUNTIME_VERSION",
    "RUNTIME_VERSION_HEADER",
    "Action",
    "AgentInfo",
    "AgentNotFoundError",
    "AgentProvider",
    "ConfigError",
    "CopilotKitRuntimeError",
    "Guardrail",
    "GuardrailBlockedError",
    "GuardrailDecision",
    "GuardrailOptions",
    "GuardrailRules",
    "LiveBatch",
    "PluginError",
    "Principal",
    "ProviderContext",
    "ProviderOptions",
    "RequestContext",
    "RequestMiddleware",
    "RunLease",
    "RunRequest",
    "Runtime",
    "Settings",
    "StateStore",
    "StoreError",
    "StoreOptions",
    "StoredEvent",
    "ThreadBusyError",
    "ThreadNotFoundError",
    "ThreadRecord",
    "ThreadSnapshot",
    "UnknownTypeError",
    "VersionConflictError",
    "hookimpl",
    "load_settings",
    "update_thread",
]
