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

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..middleware import RequestContext
from ..pipeline import BadRequest
from . import endpoints, errors
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

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(_PARAM.findall(self.path))


ROUTES: tuple[Route, ...] = (
    Route("info", "GET", "/info", endpoints.info_endpoint, body="none"),
    Route("agent/run", "POST", "/agent/{agentId}/run", endpoints.run_endpoint),
    Route("agent/connect", "POST", "/agent/{agentId}/connect", endpoints.connect_endpoint),
    Route("agent/stop", "POST", "/agent/{agentId}/stop/{threadId}", endpoints.stop_endpoint,
          body="optional"),
    Route("agent/suggest", "POST", "/agent/{agentId}/suggest", endpoints.suggest_endpoint),
    Route("transcribe", "POST", "/transcribe", endpoints.transcribe_endpoint, body="raw"),
)


class AguiService:
    """The AG-UI protocol of one runtime."""

    protocol = "agui"

    def __init__(self, runtime: Runtime, pipeline: Pipeline,
                 routes: Sequence[Route] = ROUTES) -> None:
        self.runtime = runtime
        self.pipeline = pipeline
        self.routes = tuple(routes)
        self.by_method = {route.method: route for route in self.routes}

    # -- multi-route -------------------------------------------------------------------------

    def add_routes(self, router: APIRouter) -> None:
        """Put every route of the table on ``router`` (paths relative to the base)."""
        for route in self.routes:
            router.add_api_route(route.path, self._endpoint(route), methods=[route.http_method],
                                 include_in_schema=False)

    def _endpoint(self, route: Route) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            context = RequestContext(request=request, protocol=self.protocol)
            params = {name: request.path_params[name] for name in route.params}
            body = None
            if route.body in ("json", "optional"):
                try:
                    body = await self.pipeline.read_json(request, optional=True)
                except BadRequest as exc:
                    return errors.AGUI_ERRORS.bad_request(exc.message, exc.status, exc.code)

            async def handle(context: RequestContext) -> Response:
                return await route.handler(AguiCall(self.runtime, context, params, body))

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
        route = self.by_method.get(method)
        if route is None:
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
