"""``copilotkit.crewai`` for flows written for the CopilotKit SDK, served by this provider.

The CopilotKit SDK's CrewAI module (``pip install copilotkit``) cannot be imported with CrewAI
1.x: it imports ``crewai.utilities.events``, which CrewAI 1.x moved to ``crewai.events``, so a
flow module starting with ``from copilotkit.crewai import copilotkit_stream`` fails before it
runs. Even where it does import, its helpers write to the SDK's own run loop
(``copilotkit.runloop``), which nothing reads under this runtime.

:func:`install` (called before the provider imports a flow or crew) puts an import hook in
front of ``sys.meta_path`` so that ``import copilotkit.crewai`` gives a module with the SDK's
names backed by :mod:`copilotkit_provider_crewai.sdk`: ``CopilotKitState``,
``CopilotKitProperties``, ``copilotkit_stream``, ``copilotkit_emit_state``,
``copilotkit_emit_message``, ``copilotkit_emit_tool_call``, ``copilotkit_predict_state``,
``copilotkit_exit``. The rest of the ``copilotkit`` package is left alone: when the SDK is
installed, ``copilotkit`` and its other modules are the real ones; when it is not, a minimal
``copilotkit`` package holding only ``crewai`` is provided, and any other name in it fails with
an error that says so. The SDK's server-side classes (``CrewAIAgent``, ``CopilotKitFlow``, ...)
are not provided: this runtime serves the flow itself.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import sys
import types
from collections.abc import Sequence
from typing import Any

log = logging.getLogger("copilotkit_provider_crewai")

MODULE = "copilotkit.crewai"
PACKAGE = "copilotkit"

# The SDK's server-side names, not helpers a flow calls: the runtime replaces them.
_NOT_PROVIDED = frozenset({
    "CrewAIAgent", "CopilotKitFlow", "CopilotKitToolCallEvent", "register_tool_call_listener",
    "tool_calls_log", "create_tool_proxy", "FlowInputState", "CopilotKitStateUpdateEvent",
    "emit_copilotkit_state_update_event",
})


def _module_getattr(name: str) -> Any:
    if name in _NOT_PROVIDED:
        raise AttributeError(
            f"copilotkit.crewai.{name} is part of the CopilotKit SDK's own server, which "
            "copilotkit-runtime replaces: serve the flow with `provider = \"crewai\"` instead "
            "(copilotkit-provider-crewai provides the helpers flows call)")
    raise AttributeError(f"module 'copilotkit.crewai' (copilotkit-provider-crewai) has no "
                         f"attribute {name!r}")


def _package_getattr(name: str) -> Any:
    raise AttributeError(
        f"copilotkit.{name}: the CopilotKit SDK is not installed (`pip install copilotkit`); "
        "copilotkit-provider-crewai provides only copilotkit.crewai")


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None  # the default module object

    def exec_module(self, module: types.ModuleType) -> None:
        if module.__name__ == PACKAGE:
            module.__doc__ = ("Stand-in for the CopilotKit SDK (not installed), provided by "
                              "copilotkit-provider-crewai: only copilotkit.crewai is here.")
            module.__dict__["__getattr__"] = _package_getattr
            return
        from . import sdk

        module.__doc__ = __doc__
        for name in sdk.__all__:
            setattr(module, name, getattr(sdk, name))
        module.__dict__["__all__"] = list(sdk.__all__)
        module.__dict__["__getattr__"] = _module_getattr
        module.__dict__["__copilotkit_provider_crewai__"] = True


class CopilotKitCrewAIFinder(importlib.abc.MetaPathFinder):
    """Answers ``copilotkit.crewai`` (and ``copilotkit`` when the SDK is not installed)."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname == MODULE:
            return importlib.util.spec_from_loader(fullname, _Loader(), origin=__name__)
        if fullname == PACKAGE and not _sdk_installed():
            spec = importlib.util.spec_from_loader(fullname, _Loader(), origin=__name__,
                                                   is_package=True)
            assert spec is not None
            spec.submodule_search_locations = []
            return spec
        return None


def _sdk_installed() -> bool:
    for finder in sys.meta_path:
        if isinstance(finder, CopilotKitCrewAIFinder):
            continue
        find = getattr(finder, "find_spec", None)
        if find is not None and find(PACKAGE, None) is not None:
            return True
    return False


def is_shim(module: Any) -> bool:
    return bool(getattr(module, "__copilotkit_provider_crewai__", False))


def install() -> None:
    """Make ``import copilotkit.crewai`` give the provider's helpers (idempotent)."""
    if not any(isinstance(f, CopilotKitCrewAIFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, CopilotKitCrewAIFinder())
    loaded = sys.modules.get(MODULE)
    if loaded is not None and not is_shim(loaded):
        log.warning("copilotkit.crewai was imported before the CrewAI provider started: flows "
                    "that use its helpers will not stream through copilotkit-runtime")


def uninstall() -> None:
    """Remove the import hook (tests)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, CopilotKitCrewAIFinder)]
