"""Every AG-UI error body, in one place: the JSON shapes ``@copilotkit/core`` reads.

Before a stream starts an error is a JSON body with an HTTP status, ``{"error": <short>,
"message": <for people>}`` (validation failures put the details in ``details``, as the
TypeScript runtime does); once a stream has started it is a ``RUN_ERROR`` event
(:func:`.sse.error_frame`).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from starlette.responses import JSONResponse

from ..errors import UnauthorizedError


def error_response(error: str, message: str | None = None, status: int = 400,
                   **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"error": error}
    if message is not None:
        body["message"] = message
    body.update(extra)
    return JSONResponse(body, status_code=status)


def agent_not_found(agent_id: str) -> JSONResponse:
    return error_response("Agent not found", f"Agent '{agent_id}' does not exist", 404)


def invalid_body(details: str, status: int = 400) -> JSONResponse:
    return error_response("Invalid request body", details=details, status=status)


def validation_failed(exc: ValidationError) -> JSONResponse:
    details = [{"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
               for e in exc.errors()]
    return invalid_body(json.dumps(details))


def envelope_error(message: str, status: int = 400) -> JSONResponse:
    """A single-route envelope that cannot be dispatched."""
    return error_response("invalid_request", message, status)


def thread_busy(message: str) -> JSONResponse:
    return error_response("Thread busy", message, 409)


def server_error(what: str, message: str) -> JSONResponse:
    return error_response(what, message, 500)


class AguiErrors:
    """:class:`~copilotkit_runtime.pipeline.WireErrors` for AG-UI routes."""

    def bad_request(self, message: str, status: int = 400, code: str = "BAD_REQUEST") -> JSONResponse:
        if status == 413:
            return error_response("Payload too large", message, 413)
        return invalid_body(message, status)

    def unauthorized(self, exc: UnauthorizedError) -> JSONResponse:
        return error_response("Unauthorized", exc.message, exc.status_code, code=exc.code)


AGUI_ERRORS = AguiErrors()
