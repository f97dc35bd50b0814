"""Backend actions: functions the runtime offers to agents and LLM providers as tools.

Register them with the ``register_actions`` hook::

    @hookimpl
    def register_actions(registry):
        registry.add(Action(name="lookup_order", description="...", parameters={...},
                            handler=lookup_order))
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Action:
    name: str
    description: str
    handler: Callable[..., Any | Awaitable[Any]]
    parameters: dict[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )

    async def call(self, **arguments: Any) -> Any:
        result = self.handler(**arguments)
        if inspect.isawaitable(result):
            result = await result
        return result

    def as_tool(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": self.parameters}
