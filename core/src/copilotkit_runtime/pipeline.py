"""The request pipeline: what every protocol request goes through, in one place.

For each request to a protocol route (GraphQL, AG-UI multi-route and single-route, whatever
the HTTP method)::

    read the body (bounded) and parse it (JSON)
        →  authenticate  →  before_request  →  the protocol's handler  →  after_request(status)

in that order, always. Each protocol says how its errors look on the wire through a
:class:`WireErrors` (a GraphQL client needs a GraphQL-shaped error, an AG-UI client a JSON
``{"error", "message"}``), so a refusal is understood by the client that made the request.

The body is read first, on every route, because ``POST {base}`` carries both protocols and
only its body says which (and so which shape a refusal must have). Reading is bounded by
``limits.max_body_bytes``; a body that is too large or not JSON is answered at once (400/413),
before any middleware runs. Every request that gets past that meets the middleware, and
``after_request`` sees every response from then on, refusals included.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from .errors import UnauthorizedError
from .jsontext import JSONInputError, load_json
from .logs import bind_log_context, principal_id, request_id_for
from .middleware import RequestContext
from .telemetry import route_template, tracer

if TYPE_CHECKING:
    from .runtime import Runtime

log = logging.getLogger("copilotkit_runtime.server")

__all__ = ["BadRequest", "Pipeline", "WireErrors", "parse_json", "read_bounded"]


class WireErrors(Protocol):
    """How one protocol answers a request it refuses before its handler runs."""

    def bad_request(self, message: str, status: int = 400, code: str = "BAD_REQUEST") -> Response:
        """Malformed input: not JSON, too large (413), the wrong shape."""

    def unauthorized(self, exc: UnauthorizedError) -> Response:
        """Middleware refused the request (401, or the status the middleware gave)."""


class BadRequest(Exception):
    """The request body cannot be used: ``status`` and a message for the client."""

    def __init__(self, message: str, status: int = 400, code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


def parse_json(raw: bytes, what: str = "Request body") -> Any:
    """``raw`` as JSON, or :class:`BadRequest` saying why not (never a 500).

    Deeply nested documents are refused like any other malformed input, and lone surrogates
    are replaced (:mod:`.jsontext`: every protocol route reads its body through here).
    """
    try:
        return load_json(raw, what)
    except JSONInputError as exc:
        raise BadRequest(exc.message) from None


async def read_bounded(request: Request, limit: int, setting: str = "limits.max_body_bytes"
                       ) -> bytes:
    """The whole body, or :class:`BadRequest` (413) once it is larger than ``limit`` bytes
    (told by ``Content-Length`` before reading, else while reading)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, setting)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit, setting)
            chunks.append(chunk)
    except ClientDisconnect:
        # Nobody will read the answer: one line in the log, no traceback.
        log.info("%s %s: the client went away (or timed out) after %d bytes of the body",
                 request.method, request.url.path, size)
        raise BadRequest("The client disconnected before sending the whole body.", 400,
                         "CLIENT_DISCONNECTED") from None
    return b"".join(chunks)


def _too_large(limit: int, setting: str) -> BadRequest:
    return BadRequest(f"Request body is larger than the limit of {limit} bytes ({setting}).",
                      413, "PAYLOAD_TOO_LARGE")


Handler = Callable[[RequestContext], Awaitable[Response]]


class Pipeline:
    """Runs requests through the runtime's middleware. One per mounted runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.limit = runtime.settings.limits.max_body_bytes

    async def read_body(self, request: Request) -> bytes:
        """The whole body, or :class:`BadRequest` (413) past ``limits.max_body_bytes``."""
        return await read_bounded(request, self.limit)

    async def read_json(self, request: Request, *, optional: bool = False) -> Any:
        """The body parsed as JSON. With ``optional``, an empty body is ``None``."""
        raw = await self.read_body(request)
        if optional and not raw.strip():
            return None
        return parse_json(raw)

    async def run(self, context: RequestContext, handler: Handler, errors: WireErrors) -> Response:
        """Authenticate, ``before_request``, ``handler``, ``after_request``: for every route,
        in a ``copilotkit.request`` span (child of an incoming ``traceparent``) that ends with
        the response's body, and with the request id in every log line."""
        request = context.request
        request_id = request_id_for(request.headers.get("x-request-id"))
        context.state["request_id"] = request_id
        bind_log_context(request_id=request_id)
        route = route_template(request.scope)
        base = self.runtime.settings.server.base_path
        if not route.startswith(base + "/") and route != base:
            route = base + route  # the AG-UI table's templates are relative to the base
        span = tracer.start_span(
            "copilotkit.request", context=propagate.extract(request.headers), kind=SpanKind.SERVER,
            attributes={"http.request.method": request.method, "http.route": route,
                        "copilotkit.protocol": context.protocol,
                        "copilotkit.request_id": request_id})
        try:
            with trace.use_span(span, end_on_exit=False):
                response = await self._run(context, handler, errors)
        except BaseException as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            span.end()
            raise
        span.set_attribute("http.response.status_code", response.status_code)
        if response.status_code >= 500:
            span.set_status(Status(StatusCode.ERROR))
        response.headers.setdefault("x-request-id", request_id)
        if isinstance(response, StreamingResponse):
            response.body_iterator = _ending(span, response.body_iterator)
        else:
            span.end()
        return response

    async def _run(self, context: RequestContext, handler: Handler, errors: WireErrors
                   ) -> Response:
        middleware = self.runtime.middleware
        try:
            for item in middleware:
                principal = await item.authenticate(context)
                if principal is not None:
                    context.principal = principal
                    bind_log_context(principal_id=principal_id(principal))
            for item in middleware:
                await item.before_request(context)
        except UnauthorizedError as exc:
            response = errors.unauthorized(exc)
        else:
            try:
                response = await handler(context)
            except BadRequest as exc:
                response = errors.bad_request(exc.message, exc.status, exc.code)
        for item in middleware:
            await item.after_request(context, response.status_code)
        return response


async def _ending(span: Any, body: Any) -> Any:
    """``body``, then the request's span ends (a stream is over when its last chunk is sent,
    or when the client went away)."""
    try:
        async for chunk in body:
            yield chunk
    finally:
        span.end()
