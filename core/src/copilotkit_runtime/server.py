"""The HTTP server: a FastAPI app (or routes on your own app) serving every protocol.

``POST {base}`` carries both client generations: a body with ``query`` is GraphQL (v1), a body
with ``method`` is the AG-UI single-route protocol (v2); the AG-UI multi-route paths
(``/info``, ``/agent/{id}/run|connect|stop/{thread}``) live under the same base.
``GET /health`` reports liveness and store readiness.

Standalone::

    app = create_app()                      # settings from copilotkit.toml / environment

On an existing FastAPI app::

    runtime = Runtime(load_settings("copilotkit.toml"))
    mount(app, runtime, path="/api/copilotkit")
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import COMPATIBLE_RUNTIME_VERSION, RUNTIME_VERSION_HEADER, __version__
from .agui.errors import envelope_error
from .agui.openapi import openapi_document
from .agui.service import AguiService
from .config import Settings, load_settings
from .errors import StoreError
from .graphql.errors import GRAPHQL_ERRORS
from .graphql.http import GraphQLService
from .graphql.ide import graphiql_response, wants_html
from .headers import is_simple_cross_site_post
from .middleware import RequestContext
from .pipeline import BadRequest, Pipeline, parse_json
from .responses import streaming_outside
from .runtime import Runtime

log = logging.getLogger("copilotkit_runtime.server")

class RuntimeVersionHeader:
    """Adds ``x-copilotkit-runtime-version`` to every response (the client checks it), and
    sends event streams from here, once the routing inside has returned (see
    :mod:`copilotkit_runtime.responses`: the routing's frames are not held per open stream)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.header = (RUNTIME_VERSION_HEADER.encode(), COMPATIBLE_RUNTIME_VERSION.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append(self.header)
                message["headers"] = headers
            await send(message)

        await streaming_outside(self.app, scope, receive, send_with_header)


def build_router(runtime: Runtime) -> APIRouter:
    """The routes of the runtime, relative to its base path: ``POST``/``GET {base}`` (GraphQL,
    or the AG-UI single-route envelope; GraphiQL for a browser's ``GET``) and the AG-UI
    multi-route table."""
    router = APIRouter()
    pipeline = Pipeline(runtime)
    graphql = GraphQLService(runtime)
    agui = AguiService(runtime, pipeline)

    async def graphql_request(request: Request, body: dict[str, Any]) -> Response:
        async def handle(context: RequestContext) -> Response:
            return await graphql.handle(request, body, context)

        return await pipeline.run(RequestContext(request=request, protocol="graphql"), handle,
                                  GRAPHQL_ERRORS)

    @router.post("")
    @router.post("/")
    async def protocol_endpoint(request: Request) -> Response:
        try:
            raw = await pipeline.read_body(request)
            body = parse_json(raw) if raw.strip() else None
        except BadRequest as exc:
            return GRAPHQL_ERRORS.bad_request(exc.message, exc.status, exc.code)
        if isinstance(body, dict) and is_simple_cross_site_post(request.headers):
            return _cross_site_refusal("method" in body and "query" not in body)
        if isinstance(body, dict) and "query" in body:
            return await graphql_request(request, body)
        if isinstance(body, dict) and "method" in body:
            return await agui.single_route(request, body)
        if not isinstance(body, dict):
            return GRAPHQL_ERRORS.bad_request("Request body must be a JSON object with a GraphQL "
                                              "'query' or an AG-UI 'method'.")
        return GRAPHQL_ERRORS.bad_request("Request body has neither 'query' (GraphQL) nor "
                                          "'method' (AG-UI single route).")

    @router.get("")
    @router.get("/")
    async def protocol_get(request: Request) -> Response:
        params = request.query_params
        if not params.get("query") and wants_html(request.headers):  # a browser: GraphiQL
            return graphiql_response(runtime.settings.introspection_enabled())
        if not params.get("query"):
            return JSONResponse({
                "name": "copilotkit-runtime",
                "version": __version__,
                "protocols": ["agui", "graphql"],
                "agents": [a.name for a in runtime.engine.agent_infos()],
                "hint": "POST a GraphQL document here (CopilotKit runtimeUrl).",
            })
        body: dict[str, Any] = {"query": params["query"]}
        if "variables" in params:
            try:
                body["variables"] = parse_json(params["variables"].encode(), "'variables'")
            except BadRequest as exc:
                return GRAPHQL_ERRORS.bad_request(exc.message, exc.status, exc.code)
        if "operationName" in params:
            body["operationName"] = params["operationName"]
        return await graphql_request(request, body)

    agui.add_routes(router)

    @router.get("/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        """The AG-UI REST routes as OpenAPI 3.1 (:mod:`.agui.openapi`)."""
        return JSONResponse(openapi_document(runtime.settings.server.base_path, __version__,
                                             agui.routes))
    return router


CROSS_SITE_MESSAGE = (
    "This request could come from a page on any site without the browser asking first (a "
    "form, or a no-cors fetch): send it with Content-Type: application/json, or with the "
    "header the CopilotKit client sends (x-copilotkit-runtime-client-gql-version).")


def _cross_site_refusal(single_route: bool) -> Response:
    if single_route:
        return envelope_error(CROSS_SITE_MESSAGE, 415)
    return GRAPHQL_ERRORS.bad_request(CROSS_SITE_MESSAGE, 415, "UNSUPPORTED_MEDIA_TYPE")


def _origin_pattern(origin: str) -> str:
    """A ``cors_origins`` entry with ``*`` as a regular expression: ``*`` stands for one host
    label part or a port (``http://localhost:*`` also matches the port-less origin)."""
    if origin.endswith(":*"):
        return _origin_pattern(origin[:-2]) + r"(?::\d+)?"
    return r"[A-Za-z0-9-]+".join(re.escape(part) for part in origin.split("*"))


def cors_options(settings: Settings) -> dict[str, Any] | None:
    """The CORS policy of ``[server] cors_origins`` (``None``: no CORS headers at all).

    Never ``*`` with credentials, never an echoed origin that is not listed: ``["*"]`` allows
    any origin *without* credentials; listed origins (with ``*`` patterns) get credentials
    when ``cors_allow_credentials``.
    """
    server = settings.server
    origins = [o.strip().rstrip("/") for o in server.cors_origins if o.strip()]
    if not origins:
        return None
    common: dict[str, Any] = {
        "allow_methods": ["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
        "allow_headers": ["*"],
        "expose_headers": [RUNTIME_VERSION_HEADER],
        "max_age": 600,
    }
    if "*" in origins:
        if len(origins) > 1:
            log.warning("[server] cors_origins has '*' next to other origins: any origin is "
                        "allowed, and none with credentials")
        return {**common, "allow_origins": ["*"], "allow_credentials": False}
    exact = [o for o in origins if "*" not in o]
    patterns = [_origin_pattern(o) for o in origins if "*" in o]
    return {**common, "allow_origins": exact,
            "allow_origin_regex": "(?:" + "|".join(patterns) + ")" if patterns else None,
            "allow_credentials": server.cors_allow_credentials}


async def health(runtime: Runtime) -> JSONResponse:
    """Liveness and store readiness. Any origin may read it, so it names the store's type and
    nothing of where it is (no path, host or error text: those go to the log)."""
    store: dict[str, Any] = {"type": runtime.store.describe().get("type")}
    try:
        await runtime.store.ping()
        store["ready"] = True
    except Exception as exc:  # a broken store must not break the health endpoint
        message = exc.message if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
        log.warning("health: the store is not ready: %s", message)
        store["ready"], store["error"] = False, (f"The {store['type']} store is not reachable "
                                                 "(details in the server log).")
    ready = store["ready"] and runtime.started
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "version": __version__,
         "started": runtime.started, "store": store,
         "agents": [a.name for a in runtime.engine.agent_infos()]},
        status_code=200 if ready else 503)


def _health_endpoint(runtime: Runtime) -> Callable[[], Awaitable[JSONResponse]]:
    async def health_endpoint() -> JSONResponse:
        return await health(runtime)

    return health_endpoint


def mount(app: FastAPI, runtime: Runtime, path: str | None = None) -> FastAPI:
    """Serve ``runtime`` on an existing FastAPI ``app`` at ``path`` (default: the configured
    base path). The runtime starts and stops with the app."""
    runtime.build()
    base = runtime.settings.server.base_path if path is None else "/" + path.strip("/")
    app.include_router(build_router(runtime), prefix=base.rstrip("/"))
    app.add_api_route(f"{base.rstrip('/')}/health", _health_endpoint(runtime), methods=["GET"],
                      include_in_schema=False)
    for hook in runtime.run_hooks:
        # Endpoints a run hook serves at the app's root (the metrics plugin's /metrics).
        for route_path, endpoint in getattr(hook, "http_routes", list)():
            app.add_api_route(route_path, endpoint, methods=["GET"], include_in_schema=False)

    outer = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with runtime.lifespan(), outer(a) as state:
            yield state

    app.router.lifespan_context = lifespan
    app.state.copilotkit_runtime = runtime
    return app


class _CORS(CORSMiddleware):
    """starlette's CORS middleware, with ``["*"]`` meaning ``*`` on every starlette the core
    allows: before starlette 1.0 a request carrying a cookie got its own origin echoed back
    (which a browser treats as "this origin may read the answer"), whatever the credentials
    setting. The cookie is hidden from the CORS decision only; the app still receives it."""

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        if self.allow_all_origins and "cookie" in request_headers:
            request_headers = Headers(raw=[(k, v) for k, v in request_headers.raw
                                           if k.lower() != b"cookie"])
        await super().send(message, send, request_headers)


def create_app(config: Settings | Runtime | str | Path | None = None) -> FastAPI:
    """A FastAPI app serving the runtime at the configured base path, plus ``/health``."""
    if isinstance(config, Runtime):
        runtime = config
    elif isinstance(config, Settings):
        runtime = Runtime(config)
    else:
        runtime = Runtime(load_settings(config))
    runtime.build()
    settings = runtime.settings
    # No slash redirects: ``POST {base}//`` is a 404, not a 307 to somewhere else.
    app = FastAPI(title="copilotkit-runtime", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None, redirect_slashes=False)
    app.add_api_route("/health", _health_endpoint(runtime), methods=["GET"])
    mount(app, runtime)
    cors = cors_options(settings)
    if cors is not None:
        app.add_middleware(_CORS, **cors)
    app.add_middleware(RuntimeVersionHeader)
    return app
