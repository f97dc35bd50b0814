"""GraphQL "v1" protocol: the contract of @copilotkit/runtime 1.10.6 (placeholder)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from ..middleware import RequestContext


async def handle_graphql(runtime: Any, request: Request, body: dict[str, Any],
                         context: RequestContext) -> Response:
    return JSONResponse({"data": None, "errors": [{"message": "GraphQL layer not built yet"}]})
