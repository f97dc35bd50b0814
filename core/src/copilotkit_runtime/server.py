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
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import COMPATIBLE_RUNTIME_VERSION, RUNTIME_VERSION_HEADER, __version__
from .agui.service import AguiService
from .config import Settings, load_settings
from .errors import StoreError
from .graphql.errors import GRAPHQL_ERRORS
from .graphql.http import GraphQLService
from .middleware import RequestContext
from .pipeline import BadRequest, Pipeline, parse_json
from .runtime import Runtime

log = logging.getLogger("copilotkit_runtime.server")

class RuntimeVersionHeader:
    """Adds ``x-copilotkit-runtime-version`` to every response (the client checks it)."""

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

        await self.app(scope, receive, send_with_header)


def build_router(runtime: Runtime) -> APIRouter:
    """The routes of the runtime, relative to its base path: ``POST``/``GET {base}`` (GraphQL,
    or the AG-UI single-route envelope) and the AG-UI multi-route table."""
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
    return router


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

    outer = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with runtime.lifespan(), outer(a) as state:
            yield state

    app.router.lifespan_context = lifespan
    app.state.copilotkit_runtime = runtime
    return app


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
    origins = settings.server.cors_origins
    if origins:
        wildcard = "*" in origins
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[] if wildcard else origins,
            allow_origin_regex=".*" if wildcard else None,
            allow_credentials=settings.server.cors_allow_credentials,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=[RUNTIME_VERSION_HEADER],
        )
    app.add_middleware(RuntimeVersionHeader)
    return app
