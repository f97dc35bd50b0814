"""GraphQL error shapes the CopilotKit client understands.

The client reads ``extensions.code`` (e.g. ``AGENT_NOT_FOUND``), ``visibility`` and
``severity``. Unlike the reference runtime we never put a stack trace in an error.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import GraphQLError
from starlette.responses import JSONResponse

from ..errors import AgentNotFoundError, CopilotKitRuntimeError, UnauthorizedError


def error_extensions(code: str, *, visibility: str = "banner", status: int = 400,
                     **extra: Any) -> dict[str, Any]:
    return {"code": code, "name": "CopilotError", "statusCode": status, "visibility": visibility,
            "severity": "critical", **extra}


def agent_not_found_error(exc: AgentNotFoundError) -> GraphQLError:
    return GraphQLError(exc.message, extensions=error_extensions("AGENT_NOT_FOUND", status=404))


def runtime_error(exc: CopilotKitRuntimeError, status: int = 400) -> GraphQLError:
    return GraphQLError(exc.message, extensions=error_extensions(exc.code, status=status))


def request_error(message: str, code: str = "BAD_REQUEST") -> dict[str, Any]:
    """A request-level error (bad document, limits) as a JSON error entry."""
    return {"message": message, "extensions": {"code": code}}


# Where graphql-core's coercion messages start quoting the client's value back.
_ECHOED_VALUE = re.compile(r"(?:, found: |(?<=value): |(?<=got invalid value) ).*", re.S)
MAX_INPUT_ERROR_CHARS = 300


def input_error_message(message: str) -> str:
    """A variable coercion message without the client's value in it (it may be large or
    hold what the client would not want logged or echoed), at most 300 characters."""
    message = _ECHOED_VALUE.sub("", message).rstrip(" :;,")
    if len(message) > MAX_INPUT_ERROR_CHARS:
        message = message[:MAX_INPUT_ERROR_CHARS - 1] + "\u2026"
    return message if message.endswith(".") else message + "."


def format_error(error: GraphQLError) -> dict[str, Any]:
    formatted: dict[str, Any] = error.formatted  # type: ignore[assignment]
    if not formatted.get("extensions") and error.message.startswith("Variable '$"):
        # The client's variables do not fit the schema: a client error, not ours.
        formatted = {**formatted, "message": input_error_message(error.message),
                     "extensions": {"code": "BAD_USER_INPUT"}}
    elif not formatted.get("extensions") and error.original_error is not None:
        formatted = {**formatted, "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
    return formatted


def error_body(message: str, code: str | None = None) -> dict[str, Any]:
    """A whole response body with one request-level error (``data: null``)."""
    error: dict[str, Any] = {"message": message}
    if code:
        error["extensions"] = {"code": code}
    return {"data": None, "errors": [error]}


class GraphQLWireErrors:
    """:class:`~copilotkit_runtime.pipeline.WireErrors` for GraphQL: the shape the client
    shows (``errors[].message`` and ``extensions.code``)."""

    def bad_request(self, message: str, status: int = 400, code: str = "BAD_REQUEST") -> JSONResponse:
        return JSONResponse(error_body(message, code), status_code=status)

    def unauthorized(self, exc: UnauthorizedError) -> JSONResponse:
        return JSONResponse(error_body(exc.message, exc.code), status_code=exc.status_code)


GRAPHQL_ERRORS = GraphQLWireErrors()
