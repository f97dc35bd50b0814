"""The AG-UI service: one table of routes, served both ways.

Each :class:`Route` is one endpoint. From the table come the multi-route paths
(``GET {base}/info``, ``POST {base}/agent/{agentId}/run``, ...) and the single-route
envelope (``POST {base}`` with ``{"method": "agent/run", "params": {"agentId": ...},
"body": {...}}``): a route's path parameters are the envelope's ``params`` of the same names.
Adding an endpoint is adding one entry to :data:`ROUTES`.

Every request goes through the :class:`~copilotkit_runtime.pipeline.Pipeline` (body,
authentication, middleware) and refusals are AG-UI shaped (:mod:`.errors`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..headers import is_simple_cross_site_post
from ..middleware import RequestContext
from ..pipeline import BadRequest, parse_json
from ..telemetry import RouteTemplate
from . import endpoints, errors, threads
from .endpoints import AguiCall

if TYPE_CHECKING:
    from ..pipeline import Pipeline
    from ..runtime import Runtime

BodyKind = Literal["json", "optional", "none", "raw"]

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Route:
    """One AG-UI endpoint.

    :param method: its single-route name (``"agent/run"``).
    :param http_method: its multi-route HTTP method.
    :param path: its multi-route path under the base; ``{name}`` segments are parameters
        (in the envelope: ``params.name``, required, a non-empty string).
    :param handler: the endpoint.
    :param body: ``"json"``: a JSON body is required (over HTTP an empty body is ``None``, as
        the TypeScript runtime accepts); ``"optional"``: may be absent; ``"none"``: ignored;
        ``"raw"``: over HTTP the handler reads the request itself (e.g. multipart), in the
        envelope it gets ``body`` as JSON.
    """

    method: str
    http_method: str
    path: str
    handler: Callable[[AguiCall], Awaitable[Response]]
    body: BodyKind = "json"
    #: reached in single-route mode through ``resource/request`` (by path and HTTP method)
    resource: bool = False

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(_PARAM.findall(self.path))

    def match(self, http_method: str, path: str) -> dict[str, str] | None:
        """The path parameters if ``http_method path`` is this route, else ``None``."""
        if http_method.upper() != self.http_method:
            return None
        pieces = _PARAM.split(self.path)  # literal, name, literal, name, ..., literal
        pattern = "".join(re.escape(piece) if i % 2 == 0 else f"(?P<{piece}>[^/]+)"
                          for i, piece in enumerate(pieces))
        found = re.fullmatch(pattern + "/?", path)
        if found is None:
            return None
        return {name: unquote(value) for name, value in found.groupdict().items()}


ROUTES: tuple[Route, ...] = (
    Route("info", "GET", "/info", endpoints.info_endpoint, body="none"),
    Route("agent/run", "POST", "/agent/{agentId}/run", endpoints.run_endpoint),
    Route("agent/connect", "POST", "/agent/{agentId}/connect", endpoints.connect_endpoint),
    Route("agent/stop", "POST", "/agent/{agentId}/stop/{threadId}", endpoints.stop_endpoint,
          body="optional"),
    Route("agent/suggest", "POST", "/agent/{agentId}/suggest", endpoints.suggest_endpoint),
    Route("transcribe", "POST", "/transcribe", endpoints.transcribe_endpoint, body="raw"),
    Route("threads/list", "GET", "/threads", threads.list_endpoint, body="none", resource=True),
    Route("threads/clear", "POST", "/threads/clear", threads.clear_endpoint, body="optional",
          resource=True),
    Route("threads/get", "GET", "/threads/{threadId}", threads.get_endpoint, body="none",
          resource=True),
    Route("threads/update", "PATCH", "/threads/{threadId}", threads.patch_endpoint,
          body="optional", resource=True),
    Route("threads/delete", "DELETE", "/threads/{threadId}", threads.delete_endpoint,
          body="optional", resource=True),
    Route("threads/archive", "POST", "/threads/{threadId}/archive", threads.archive_endpoint,
          body="optional", resource=True),
    Route("threads/messages", "GET", "/threads/{threadId}/messages",
          threads.messages_endpoint, body="none", resource=True),
    Route("threads/events", "GET", "/threads/{threadId}/events", threads.events_endpoint,
          body="none", resource=True),
    Route("threads/state", "GET", "/threads/{threadId}/state", threads.state_endpoint,
          body="none", resource=True),
)

CROSS_SITE_MESSAGE = (
    "This request could come from a page on any site without the browser asking first (a "
    "form, or a no-cors fetch): send it with Content-Type: application/json.")

#: the single-route method that reaches the ``resource`` routes by path and HTTP method
RESOURCE_METHOD = "resource/request"


class AguiService:
    """The AG-UI protocol of one runtime."""

    protocol = "agui"

    def __init__(self, runtime: Runtime, pipeline: Pipeline,
                 routes: Sequence[Route] | None = None) -> None:
        self.runtime = runtime
        self.pipeline = pipeline
        self.routes = tuple(ROUTES if routes is None else routes)  # the table as it is now
        self.by_method = {route.method: route for route in self.routes}

    # -- multi-route -------------------------------------------------------------------------

    def add_routes(self, router: APIRouter) -> None:
        """Put every route of the table on ``router`` (paths relative to the base)."""
        for route in self.routes:
            # A plain Starlette route, not a FastAPI APIRoute: the endpoint takes the request
            # and nothing else, and FastAPI's handler (dependency solving, two exit stacks)
            # would stay in memory for as long as a stream is open.
            router.add_route(route.path, self._endpoint(route), methods=[route.http_method],
                             include_in_schema=False)

    def _endpoint(self, route: Route) -> Callable[[Request], Awaitable[Response]]:
        template = RouteTemplate(route.path)

        async def endpoint(request: Request) -> Response:
            request.scope.setdefault("route", template)  # for the request span's http.route
            context = RequestContext(request=request, protocol=self.protocol)
            params = {name: request.path_params[name] for name in route.params}
            body = None
            if route.body in ("json", "optional"):
                try:
                    raw = await self.pipeline.read_body(request)
                    body = parse_json(raw) if raw.strip() else None
                except BadRequest as exc:
                    return errors.AGUI_ERRORS.bad_request(exc.message, exc.status, exc.code)
                # A body a page on another site could have sent without a preflight is
                # refused; so is any thread mutation that could (even without a body).
                if ((raw.strip() or route.resource) and route.http_method != "GET"
                        and is_simple_cross_site_post(request.headers)):
                    return errors.error_response("Unsupported media type", CROSS_SITE_MESSAGE,
                                                 415)

            query = dict(request.query_params)

            async def handle(context: RequestContext) -> Response:
                return await route.handler(AguiCall(self.runtime, context, params, body,
                                                    query=query))

            return await self.pipeline.run(context, handle, errors.AGUI_ERRORS)

        endpoint.__name__ = f"agui_{route.method.replace('/', '_')}"
        return endpoint

    # -- single-route ------------------------------------------------------------------------

    async def single_route(self, request: Request, envelope: dict[str, Any]) -> Response:
        """``POST {base}`` with ``{"method", "params", "body"}`` (the body already read)."""
        context = RequestContext(request=request, protocol=self.protocol)

        async def handle(context: RequestContext) -> Response:
            return await self._dispatch(context, envelope)

        return await self.pipeline.run(context, handle, errors.AGUI_ERRORS)

    async def _dispatch(self, context: RequestContext, envelope: dict[str, Any]) -> Response:
        method = envelope.get("method")
        if not isinstance(method, str) or not method:
            return errors.envelope_error("Missing method field")
        if method == RESOURCE_METHOD:
            return await self._resource(context, envelope)
        route = self.by_method.get(method)
        if route is None or route.resource:
            return errors.envelope_error(f"Unsupported method '{method}'")
        raw = envelope.get("params")
        given: dict[str, Any] = raw if isinstance(raw, dict) else {}
        params: dict[str, str] = {}
        for name in route.params:
            value = given.get(name)
            if not isinstance(value, str) or not value.strip():
                return errors.envelope_error(f"Missing or invalid parameter '{name}'")
            params[name] = value
        if route.body in ("json", "raw") and "body" not in envelope:
            return errors.envelope_error("Missing request body for JSON handler")
        body = envelope.get("body") if route.body != "none" else None
        return await route.handler(AguiCall(self.runtime, context, params, body, via="single"))

    async def _resource(self, context: RequestContext, envelope: dict[str, Any]) -> Response:
        """``resource/request``: ``params.path`` (runtime-relative, with its query string) and
        ``params.httpMethod`` pick a ``resource`` route; ``body`` is its JSON body."""
        raw = envelope.get("params")
        given: dict[str, Any] = raw if isinstance(raw, dict) else {}
        path, http_method = given.get("path"), given.get("httpMethod", "GET")
        if not isinstance(path, str) or not path.startswith("/"):
            return errors.envelope_error("Missing or invalid parameter 'path'")
        if not isinstance(http_method, str) or not http_method:
            return errors.envelope_error("Missing or invalid parameter 'httpMethod'")
        parts = urlsplit(path)
        for route in self.routes:
            if not route.resource:
                continue
            params = route.match(http_method, parts.path)
            if params is not None:
                body = envelope.get("body") if route.body != "none" else None
                return await route.handler(AguiCall(self.runtime, context, params, body,
                                                    via="single",
                                                    query=dict(parse_qsl(parts.query))))
        return errors.error_response("Not found", f"No resource {http_method.upper()} "
                                     f"{parts.path}", 404)
