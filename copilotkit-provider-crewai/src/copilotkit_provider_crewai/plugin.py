"""Entry point module (group ``copilotkit_runtime``, name ``crewai``).

Importing this module must stay cheap and must not import CrewAI: every runtime with this
package installed loads it, whether or not a CrewAI agent is configured. CrewAI is imported
when the first ``provider = "crewai"`` agent is built, after its environment is set.
"""

from __future__ import annotations

from typing import Any

from copilotkit_runtime import hookimpl

from .provider import CrewAIProvider


@hookimpl
def register_agent_providers(registry: Any) -> None:
    registry.add("crewai", CrewAIProvider)
