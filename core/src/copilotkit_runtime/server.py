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
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import COMPATIBLE_RUNTIME_VERSION, RUNTIME_VERSION_HEADER, __version__, agui
from .config import Settings, load_settings
from .errors import StoreError, UnauthorizedError
from .middleware import RequestContext
from .runtime import Runtime

log = logging.getLogger("copilotkit_runtime.server")

Handler = Callable[[Runtime, Request, dict[str, Any], RequestContext], Awaitable[Response]]


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def graphql_error(message: str, status: int = 200, code: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"message": message}
    if code:
        error["extensions"] = {"code": code}
    return JSONResponse({"data": None, "errors": [error]}, status_code=status)


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


def _protocol_handlers() -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    try:
        from .graphql import handle_graphql
    except ImportError:  # pragma: no cover - the GraphQL layer ships with the core
        log.exception("GraphQL layer unavailable")
    else:
        handlers["graphql"] = handle_graphql
    handlers["agui"] = agui.handle_single_route
    return handlers


def build_router(runtime: Runtime) -> APIRouter:
    """The routes of the runtime, relative to its base path."""
    router = APIRouter()
    handlers = _protocol_handlers()
    limits = runtime.settings.limits

    async def run_middleware(context: RequestContext) -> Response | None:
        try:
            for middleware in runtime.middleware:
                principal = await middleware.authenticate(context)
                if principal is not None:
                    context.principal = principal
            for middleware in runtime.middleware:
                await middleware.before_request(context)
        except UnauthorizedError as exc:
            return JSONResponse({"errors": [{"message": exc.message,
                                             "extensions": {"code": exc.code}}]},
                                status_code=exc.status_code)
        return None

    @router.post("")
    @router.post("/")
    async def protocol_endpoint(request: Request) -> Response:
        try:
            raw = await read_body(request, limits.max_body_bytes)
        except BodyTooLarge:
            return graphql_error(f"Request body is larger than the limit of "
                                 f"{limits.max_body_bytes} bytes.", 413, "PAYLOAD_TOO_LARGE")
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError) as exc:
            return graphql_error(f"Request body is not valid JSON: {exc}", 400, "BAD_REQUEST")
        if not isinstance(body, dict):
            return graphql_error("Request body must be a JSON object with a GraphQL 'query' "
                                 "or an AG-UI 'method'.", 400, "BAD_REQUEST")
        protocol = "graphql" if "query" in body else "agui" if "method" in body else None
        if protocol is None or protocol not in handlers:
            what = "a 'query' (GraphQL)" if protocol is None else f"the {protocol} protocol"
            return graphql_error(f"This endpoint needs {what}; it is not available here."
                                 if protocol else "Request body has neither 'query' (GraphQL) "
                                 "nor 'method' (AG-UI single route).", 400, "BAD_REQUEST")
        context = RequestContext(request=request, protocol=protocol)
        refused = await run_middleware(context)
        if refused is not None:
            return refused
        response = await handlers[protocol](runtime, request, body, context)
        for middleware in runtime.middleware:
            await middleware.after_request(context, response.status_code)
        return response

    @router.get("")
    @router.get("/")
    async def protocol_get(request: Request) -> Response:
        if "graphql" in handlers and request.query_params.get("query"):
            body: dict[str, Any] = {"query": request.query_params["query"]}
            if "variables" in request.query_params:
                try:
                    body["variables"] = json.loads(request.query_params["variables"])
                except ValueError:
                    return graphql_error("'variables' is not valid JSON.", 400, "BAD_REQUEST")
            if "operationName" in request.query_params:
                body["operationName"] = request.query_params["operationName"]
            context = RequestContext(request=request, protocol="graphql")
            refused = await run_middleware(context)
            if refused is not None:
                return refused
            return await handlers["graphql"](runtime, request, body, context)
        return JSONResponse({
            "name": "copilotkit-runtime",
            "version": __version__,
            "protocols": sorted(handlers),
            "agents": [a.name for a in runtime.engine.agent_infos()],
            "hint": "POST a GraphQL document here (CopilotKit runtimeUrl).",
        })

    async def json_body(request: Request) -> tuple[Any, Response | None]:
        try:
            raw = await read_body(request, limits.max_body_bytes)
        except BodyTooLarge:
            return None, JSONResponse({"error": "Payload too large", "message": f"Request body is "
                                       f"larger than the limit of {limits.max_body_bytes} bytes."},
                                      status_code=413)
        if not raw.strip():
            return None, None
        try:
            return json.loads(raw), None
        except (ValueError, UnicodeDecodeError) as exc:
            return None, JSONResponse({"error": "Invalid request body",
                                       "details": f"not valid JSON: {exc}"}, status_code=400)

    @router.get("/info")
    async def agui_info(request: Request) -> Response:
        refused = await run_middleware(RequestContext(request=request, protocol="agui"))
        return refused or JSONResponse(agui.info(runtime))

    async def agui_run(agent: str, request: Request, connect: bool) -> Response:
        context = RequestContext(request=request, protocol="agui")
        refused = await run_middleware(context)
        if refused is not None:
            return refused
        body, error = await json_body(request)
        if error is not None:
            return error
        response = await agui.run_endpoint(runtime, agent, body, context, connect=connect)
        for middleware in runtime.middleware:
            await middleware.after_request(context, response.status_code)
        return response

    @router.post("/agent/{agent}/run")
    async def agui_run_route(agent: str, request: Request) -> Response:
        return await agui_run(agent, request, connect=False)

    @router.post("/agent/{agent}/connect")
    async def agui_connect_route(agent: str, request: Request) -> Response:
        return await agui_run(agent, request, connect=True)

    @router.post("/agent/{agent}/stop/{thread_id}")
    async def agui_stop_route(agent: str, thread_id: str, request: Request) -> Response:
        """Stop the run on a thread (works across instances that share a store)."""
        refused = await run_middleware(RequestContext(request=request, protocol="agui"))
        if refused is not None:
            return refused
        body, error = await json_body(request)
        return error or await agui.stop_endpoint(runtime, agent, thread_id, body)

    return router


async def health(runtime: Runtime) -> JSONResponse:
    store: dict[str, Any] = dict(runtime.store.describe())
    try:
        await runtime.store.ping()
        store["ready"] = True
    except StoreError as exc:
        store["ready"], store["error"] = False, exc.message
    except Exception as exc:  # a broken store must not break the health endpoint
        store["ready"], store["error"] = False, f"{type(exc).__name__}: {exc}"
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
    app = FastAPI(title="copilotkit-runtime", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None)
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
