"""The entry point module (group ``copilotkit_runtime``): keep it light, import on use."""

from __future__ import annotations

from typing import Any

from copilotkit_runtime import hookimpl


@hookimpl
def register_agent_providers(registry: Any) -> None:
    from .provider import TemplateProvider

    registry.add("template-echo", TemplateProvider)
