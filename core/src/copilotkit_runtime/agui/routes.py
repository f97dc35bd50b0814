"""The v2 endpoints, shared by the multi-route paths and the single-route envelope."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any

from ag_ui.core import RunAgentInput
from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError

from .. import __version__
from ..errors import AgentNotFoundError, GuardrailBlockedError, StoreError, ThreadBusyError
from ..middleware import RequestContext
from ..providers import RunRequest
from ..stores import LiveBatch
from .sse import SSE_HEADERS, encode_dicts, encode_events, error_frame

if TYPE_CHECKING:
    from ..engine import Run
    from ..runtime import Runtime

log = logging.getLogger("copilotkit_runtime.agui")

DEFAULT_AGENT_ID = "default"
KEEPALIVE_SECONDS = 15.0


def info(runtime: Runtime) -> dict[str, Any]:
    """What ``GET {base}/info`` answers: the agents and the features this server offers."""
    agents = {
        a.name: {"name": a.name, "description": a.description or a.name,
                 "className": a.provider or "Agent"}
        for a in runtime.engine.agent_infos()
    }
    default = runtime.settings.effective_default_agent()
    if DEFAULT_AGENT_ID not in agents and default in agents:
        # The stock chat components talk to the agent "default".
        agents[DEFAULT_AGENT_ID] = {**agents[default], "name": DEFAULT_AGENT_ID}
    return {
        "version": __version__,
        "agents": agents,
        "audioFileTranscriptionEnabled": False,
        "mode": "sse",
        "threadEndpoints": {"list": False, "inspect": False, "mutations": False,
                            "realtimeMetadata": False},
        "suggestions": False,
        "a2uiEnabled": False,
        "openGenerativeUIEnabled": False,
        "telemetryDisabled": True,
    }


def resolve_agent(runtime: Runtime, agent_id: str) -> str | None:
    if agent_id in runtime.engine.agents:
        return agent_id
    if agent_id == DEFAULT_AGENT_ID:
        default = runtime.settings.effective_default_agent()
        if default in runtime.engine.agents:
            return default
    return None


def _agent_not_found(agent_id: str) -> JSONResponse:
    return JSONResponse({"error": "Agent not found", "message": f"Agent '{agent_id}' does not exist"},
                        status_code=404)


def parse_input(body: Any) -> RunAgentInput | JSONResponse:
    if not isinstance(body, dict):
        return JSONResponse({"error": "Invalid request body",
                             "details": "the body must be a RunAgentInput JSON object"}, status_code=400)
    try:
        return RunAgentInput.model_validate(body)
    except ValidationError as exc:
        details = [{"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                   for e in exc.errors()]
        return JSONResponse({"error": "Invalid request body", "details": json.dumps(details)},
                            status_code=400)


def _stream(body: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(body, media_type="text/event-stream", headers=SSE_HEADERS)


async def _follow(run: Run, start: int = 0) -> AsyncIterator[bytes]:
    async for batch in run.event_batches(start, idle_timeout=KEEPALIVE_SECONDS):
        yield encode_events(batch) if batch else b": keep-alive\n\n"


async def run_endpoint(runtime: Runtime, agent_id: str, body: Any, context: RequestContext,
                       *, connect: bool = False) -> Response:
    agent = resolve_agent(runtime, agent_id)
    if agent is None:
        return _agent_not_found(agent_id)
    run_input = parse_input(body)
    if isinstance(run_input, JSONResponse):
        return run_input
    if connect:
        return await _connect(runtime, agent, run_input)
    if len(run_input.messages) > runtime.settings.limits.max_messages:
        return JSONResponse({"error": "Invalid request body",
                             "details": f"more than {runtime.settings.limits.max_messages} messages"},
                            status_code=400)
    request = RunRequest(agent=agent, input=run_input, protocol="agui",
                         principal=context.principal,
                         properties=dict(run_input.forwarded_props or {})
                         if isinstance(run_input.forwarded_props, dict) else {})
    try:
        run = await runtime.engine.start(request, detached=True)
    except AgentNotFoundError:
        return _agent_not_found(agent_id)
    except ThreadBusyError as exc:
        return JSONResponse({"error": "Thread busy", "message": exc.message}, status_code=409)
    except GuardrailBlockedError as exc:
        frame = error_frame(exc.message, exc.code)

        async def blocked() -> AsyncIterator[bytes]:
            yield frame

        return _stream(blocked())
    except StoreError as exc:
        log.exception("could not start a run")
        return JSONResponse({"error": "Failed to run agent", "message": exc.message}, status_code=500)
    return _stream(_follow(run))


async def _connect(runtime: Runtime, agent: str, run_input: RunAgentInput) -> Response:
    """The thread's stored history, then the live tail of a run still in progress.

    A run in this process is followed directly. Otherwise, when the store relays live runs, a
    run going on in another process is followed through the store. Its relay is looked at
    *before* the history is read: a run saves its history before its relay says it has ended,
    so either the history holds the run (its relay is then skipped: no duplicate) or the relay
    still has all of it (nothing lost).
    """
    thread_id = run_input.thread_id
    engine = runtime.engine
    live = engine.active_run(thread_id)
    remote: AsyncGenerator[LiveBatch, None] | None = None
    first: LiveBatch | None = None
    try:
        if live is None and engine.relays_live:
            remote = runtime.store.follow_live(thread_id, idle_timeout=KEEPALIVE_SECONDS)
            first = await anext(remote, None)
        history = await runtime.store.get_events(thread_id)
    except StoreError as exc:
        if remote is not None:
            await remote.aclose()
        return JSONResponse({"error": "Failed to connect", "message": exc.message}, status_code=500)
    stored_runs = {stored.run_id for stored in history}
    if remote is not None and (first is None or first.run_id in stored_runs):
        await remote.aclose()
        remote = None

    async def body() -> AsyncIterator[bytes]:
        if history:
            yield encode_dicts([stored.event for stored in history])
        if live is not None:
            if live.request.run_id not in stored_runs:
                async for chunk in _follow(live):
                    yield chunk
        elif remote is not None and first is not None:
            async for chunk in _follow_remote(remote, first, thread_id):
                yield chunk

    return _stream(body())


async def _follow_remote(batches: AsyncGenerator[LiveBatch, None], first: LiveBatch,
                         thread_id: str) -> AsyncIterator[bytes]:
    """A run of another process, relayed by the store. If the store fails, the stream ends
    (without a terminal event: the run itself goes on, and a reconnect replays it)."""
    try:
        batch: LiveBatch | None = first
        while batch is not None:
            yield encode_dicts(batch.events) if batch.events else b": keep-alive\n\n"
            if batch.final:
                return
            batch = await anext(batches, None)
    except StoreError as exc:
        log.warning("stopped following run %s of thread %s: %s", first.run_id, thread_id,
                    exc.message)
    finally:
        await batches.aclose()


async def stop_endpoint(runtime: Runtime, agent_id: str, thread_id: str, body: Any) -> Response:
    if resolve_agent(runtime, agent_id) is None:
        return _agent_not_found(agent_id)
    run_id = None
    if body not in (None, {}):
        if not isinstance(body, dict) or set(body) - {"runId"}:
            return JSONResponse({"error": "Invalid stop request"}, status_code=400)
        run_id = body.get("runId")
        if not isinstance(run_id, str) or not run_id:
            return JSONResponse({"error": "Invalid runId"}, status_code=400)
    active = runtime.engine.active_run(thread_id)
    try:
        stopped = await runtime.engine.stop(thread_id, run_id)
    except StoreError as exc:
        return JSONResponse({"error": "Failed to stop agent", "message": exc.message}, status_code=500)
    if stopped:
        return JSONResponse({"stopped": True, "threadId": thread_id,
                             "runId": run_id or (active.request.run_id if active else None)})
    if run_id is not None and active is not None:
        message = f"Run '{run_id}' is not the active run for thread '{thread_id}'."
    else:
        message = f"No active run for thread '{thread_id}'."
    return JSONResponse({"stopped": False, "message": message})


def _envelope_error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": "invalid_request", "message": message}, status_code=status)


async def handle_single_route(runtime: Runtime, request: Request, body: dict[str, Any],
                              context: RequestContext) -> Response:
    """``POST {base}`` with ``{"method", "params", "body"}``."""
    method = body.get("method")
    if not isinstance(method, str) or not method:
        return _envelope_error("Missing method field")
    raw_params = body.get("params")
    params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
    if method == "info":
        return JSONResponse(info(runtime))

    def param(name: str) -> str | None:
        value = params.get(name)
        return value if isinstance(value, str) and value.strip() else None

    if method in ("agent/run", "agent/connect"):
        agent_id = param("agentId")
        if agent_id is None:
            return _envelope_error("Missing or invalid parameter 'agentId'")
        if "body" not in body:
            return _envelope_error("Missing request body for JSON handler")
        return await run_endpoint(runtime, agent_id, body["body"], context,
                                  connect=method == "agent/connect")
    if method == "agent/stop":
        agent_id, thread_id = param("agentId"), param("threadId")
        if agent_id is None:
            return _envelope_error("Missing or invalid parameter 'agentId'")
        if thread_id is None:
            return _envelope_error("Missing or invalid parameter 'threadId'")
        return await stop_endpoint(runtime, agent_id, thread_id, body.get("body"))
    return _envelope_error(f"Unsupported method '{method}'")
