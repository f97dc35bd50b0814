"""A real CopilotKit SDK remote endpoint (the installed ``copilotkit`` SDK) with backend actions."""

from __future__ import annotations

from typing import Any

from copilotkit import Action, CopilotKitRemoteEndpoint
from copilotkit.integrations.fastapi import add_fastapi_endpoint
from fastapi import FastAPI


def lookup_order(order_id: int) -> dict[str, Any]:
    return {"order": order_id, "status": "shipped"}


async def greet(name: str, loud: bool = False) -> str:
    text = f"Hello, {name}"
    return text.upper() if loud else text


def explode(reason: str) -> str:
    raise ValueError(f"exploded: {reason}")


def build() -> FastAPI:
    sdk = CopilotKitRemoteEndpoint(actions=[
        Action(name="lookup_order", description="Look up an order", handler=lookup_order,
               parameters=[{"name": "order_id", "type": "number", "description": "the order"}]),
        Action(name="greet", description="Greet someone", handler=greet,
               parameters=[{"name": "name", "type": "string"},
                           {"name": "loud", "type": "boolean", "required": False}]),
        Action(name="explode", description="Always fails", handler=explode,
               parameters=[{"name": "reason", "type": "string"}]),
    ])
    app = FastAPI()
    add_fastapi_endpoint(app, sdk, "/copilotkit")
    return app
