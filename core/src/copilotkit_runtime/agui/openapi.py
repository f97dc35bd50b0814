"""An OpenAPI 3.1 description of the AG-UI REST routes, built from the route table.

Served at ``GET {base}/openapi.json``: for client generators and for property-based testing of
the routes (the test suite runs schemathesis against it). Every route of :data:`.service.ROUTES`
appears; ``agent/run`` and ``agent/connect`` take a ``RunAgentInput`` (the ``ag-ui-protocol``
model's own JSON schema), ``agent/stop`` an optional ``{"runId"}``, other JSON routes any JSON
object. Streams are ``text/event-stream``; refusals are ``{"error", "message"}``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from ag_ui.core import RunAgentInput

from .service import ROUTES, Route

_ERROR = {"type": "object", "properties": {"error": {"type": "string"},
                                           "message": {"type": "string"}},
          "required": ["error"]}
_STOP = {"type": "object", "properties": {"runId": {"type": "string", "minLength": 1}},
         "additionalProperties": False}
_STREAMS = {"agent/run", "agent/connect"}


@functools.cache
def _run_agent_input() -> tuple[dict[str, Any], dict[str, Any]]:
    """RunAgentInput's schema and the component schemas it refers to."""
    schema = RunAgentInput.model_json_schema(by_alias=True,
                                             ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    components["RunAgentInput"] = schema
    return {"$ref": "#/components/schemas/RunAgentInput"}, components


def _body(route: Route) -> dict[str, Any] | None:
    if route.body == "none":
        return None
    if route.body == "raw":
        return {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}}
    if route.method in _STREAMS:
        schema: dict[str, Any] = _run_agent_input()[0]
    elif route.method == "agent/stop":
        schema = _STOP
    else:
        schema = {"type": "object"}
    return {"required": route.body == "json",
            "content": {"application/json": {"schema": schema}}}


def _operation(route: Route) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "the answer"}
    if route.method in _STREAMS:
        ok["content"] = {"text/event-stream": {"schema": {"type": "string"}}}
    else:
        ok["content"] = {"application/json": {"schema": {"type": "object"}}}
    refused = {"description": "refused", "content": {"application/json": {"schema": _ERROR}}}
    operation: dict[str, Any] = {
        "operationId": route.method.replace("/", "_"),
        "summary": f"AG-UI '{route.method}'",
        "parameters": [{"name": name, "in": "path", "required": True,
                        "schema": {"type": "string", "minLength": 1}} for name in route.params],
        "responses": {"200": ok, "400": refused, "404": refused, "409": refused,
                      "413": refused, "503": refused},
    }
    body = _body(route)
    if body is not None:
        operation["requestBody"] = body
    return operation


def openapi_document(base_path: str, version: str,
                     routes: Sequence[Route] = ROUTES) -> dict[str, Any]:
    """The OpenAPI document of ``routes`` served under ``base_path``."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(base_path + route.path, {})[route.http_method.lower()] = _operation(route)
    paths[base_path + "/health"] = {"get": {"operationId": "health", "summary": "liveness and store readiness",
                                "responses": {"200": {"description": "ready"},
                                              "503": {"description": "not ready"}}}}
    return {"openapi": "3.1.0",
            "info": {"title": "copilotkit-runtime AG-UI REST routes", "version": version},
            "paths": paths, "components": {"schemas": _run_agent_input()[1]}}
