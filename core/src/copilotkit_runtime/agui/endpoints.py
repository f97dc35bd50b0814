"""The AG-UI endpoints: each a function of an :class:`AguiCall`, whichever way it arrived
(a multi-route path or the single-route envelope; :mod:`.service` holds the table)."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ag_ui.core import BaseEvent, RunAgentInput
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import __version__
from ..errors import (
    AgentNotFoundError,
    GuardrailBlockedError,
    ServerShuttingDownError,
    StoreError,
    ThreadBusyError,
    ThreadNotFoundError,
    TooManyMessagesError,
)
from ..headers import forwarded_headers
from ..llm.model import LLMAuthError, LLMError
from ..middleware import RequestContext
from ..multipart import FormPart, parse_form_data
from ..pipeline import parse_json, read_bounded
from ..providers import RunRequest
from ..responses import EventStream
from ..threads import owner_of
from . import errors
from .sse import SSE_HEADERS, encode_dicts, encode_events, error_frame

if TYPE_CHECKING:
    from ..engine import Run
    from ..runtime import Runtime

log = logging.getLogger("copilotkit_runtime.agui")

DEFAULT_AGENT_ID = "default"
KEEPALIVE_SECONDS = 15.0
KEEPALIVE = b": keep-alive\n\n"


@dataclass
class AguiCall:
    """One AG-UI request, protocol-neutral: path (or envelope) parameters and the JSON body."""

    runtime: Runtime
    context: RequestContext
    params: dict[str, str] = field(default_factory=dict)
    #: the parsed JSON body (``None`` when there is none, or for ``raw`` routes over HTTP)
    body: Any = None
    #: how the request arrived: ``"multi"`` (a path) or ``"single"`` (the envelope)
    via: str = "multi"
    #: the query parameters (of the URL, or of a ``resource/request`` envelope's ``path``)
    query: Mapping[str, str] = field(default_factory=dict)

    @property
    def request(self) -> Request:
        return self.context.request


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
        "audioFileTranscriptionEnabled": transcriber(runtime) is not None,
        "mode": "sse",
        "threadEndpoints": thread_endpoints(runtime),
        "singleRoute": {"resourceOperations": True, "threadEndpoints": thread_endpoints(runtime)},
        # /suggest exists for every agent; the client uses it only when told so, and a
        # stateless suggestion run makes sense for agents that are a model with tools.
        "suggestions": any(a.capabilities.get("suggestions") for a in runtime.engine.agent_infos()),
        "a2uiEnabled": False,
        "openGenerativeUIEnabled": False,
        "telemetryDisabled": True,
    }


def transcriber(runtime: Runtime) -> Any:
    """The first agent provider that can turn speech into text (e.g. the OpenAI plugin's)."""
    for provider in runtime.providers.values():
        if getattr(provider, "can_transcribe", False):
            return provider
    return None
def thread_endpoints(runtime: Runtime) -> dict[str, bool]:
    """``/info.threadEndpoints``: all offered when the store keeps thread owners."""
    on = bool(runtime.engine.keeps_owners)
    return {"list": on, "inspect": on, "mutations": on, "realtimeMetadata": False}


def thread_not_found(thread_id: str) -> JSONResponse:
    return errors.error_response("Thread not found", f"Thread '{thread_id}' was not found", 404)


def resolve_agent(runtime: Runtime, agent_id: str) -> str | None:
    if agent_id in runtime.engine.agents:
        return agent_id
    if agent_id == DEFAULT_AGENT_ID:
        default = runtime.settings.effective_default_agent()
        if default in runtime.engine.agents:
            return default
    return None


def parse_input(body: Any) -> RunAgentInput | JSONResponse:
    if not isinstance(body, dict):
        return errors.invalid_body("the body must be a RunAgentInput JSON object")
    try:
        return RunAgentInput.model_validate(body)
    except ValidationError as exc:
        return errors.validation_failed(exc)


def stream(body: AsyncIterator[bytes]) -> EventStream:
    return EventStream(body, media_type="text/event-stream", headers=SSE_HEADERS)


def encode_batch(batch: Sequence[BaseEvent] | Sequence[dict[str, Any]]) -> bytes:
    if not batch:
        return KEEPALIVE
    if isinstance(batch[0], dict):
        return encode_dicts(batch)  # type: ignore[arg-type]
    return encode_events(batch)  # type: ignore[arg-type]


async def _follow(run: Run) -> AsyncIterator[bytes]:
    async for batch in run.event_batches(idle_timeout=KEEPALIVE_SECONDS):
        yield encode_events(batch) if batch else KEEPALIVE


# -- endpoints ---------------------------------------------------------------------------------

async def info_endpoint(call: AguiCall) -> Response:
    return JSONResponse(info(call.runtime))


async def run_endpoint(call: AguiCall) -> Response:
    runtime = call.runtime
    agent_id = call.params["agentId"]
    agent = resolve_agent(runtime, agent_id)
    if agent is None:
        return errors.agent_not_found(agent_id)
    run_input = parse_input(call.body)
    if isinstance(run_input, JSONResponse):
        return run_input
    props = run_input.forwarded_props
    server = runtime.settings.server
    request = RunRequest(agent=agent, input=run_input, protocol="agui",
                         principal=call.context.principal,
                         properties=dict(props) if isinstance(props, dict) else {},
                         headers=forwarded_headers(call.request.headers.items(),
                                                   server.forward_headers,
                                                   server.provider_headers))
    try:
        run = await runtime.engine.start(request, detached=True)
    except AgentNotFoundError:
        return errors.agent_not_found(agent_id)
    except TooManyMessagesError as exc:
        return errors.invalid_body(f"more than {exc.limit} messages")
    except ThreadBusyError as exc:
        return errors.thread_busy(exc.message)
    except ServerShuttingDownError as exc:
        return errors.error_response("Server shutting down", exc.message, 503)
    except ThreadNotFoundError as exc:
        return thread_not_found(exc.thread_id)
    except GuardrailBlockedError as exc:
        frame = error_frame(exc.message, exc.code)

        async def blocked() -> AsyncIterator[bytes]:
            yield frame

        return stream(blocked())
    except StoreError as exc:
        log.exception("could not start a run")
        return errors.server_error("Failed to run agent", exc.message)
    return stream(_follow(run))


async def suggest_endpoint(call: AguiCall) -> Response:
    """``/run``, statelessly: nothing stored, no thread lock (dynamic chat suggestions: the
    client forces its ``copilotkitSuggest`` tool through ``forwardedProps.toolChoice``)."""
    runtime = call.runtime
    agent_id = call.params["agentId"]
    agent = resolve_agent(runtime, agent_id)
    if agent is None:
        return errors.agent_not_found(agent_id)
    run_input = parse_input(call.body)
    if isinstance(run_input, JSONResponse):
        return run_input
    props = run_input.forwarded_props
    request = RunRequest(agent=agent, input=run_input, protocol="agui",
                         principal=call.context.principal,
                         properties=dict(props) if isinstance(props, dict) else {},
                         metadata={"requestType": "Suggestions"})
    try:
        events = await runtime.engine.ephemeral(request)
    except AgentNotFoundError:
        return errors.agent_not_found(agent_id)
    except TooManyMessagesError as exc:
        return errors.invalid_body(f"more than {exc.limit} messages")
    except GuardrailBlockedError as exc:
        frame = error_frame(exc.message, exc.code)

        async def blocked() -> AsyncIterator[bytes]:
            yield frame

        return stream(blocked())

    async def body() -> AsyncIterator[bytes]:
        async for event in events:
            yield encode_events([event])

    return stream(body())


async def transcribe_endpoint(call: AguiCall) -> Response:
    """Speech to text: ``multipart/form-data`` with an ``audio`` file, or JSON
    ``{"audio": "<base64>", "mimeType": "audio/webm", "filename"?}`` (the single-route body).
    Answers ``{"text", "size", "type"}``."""
    provider = transcriber(call.runtime)
    if provider is None:
        return errors.error_response(
            "Transcription not available",
            "No configured agent can transcribe audio (e.g. an agent with provider = "
            "\"openai\" and a transcription_model).", 501)
    limit = call.runtime.settings.limits.max_audio_bytes
    payload: Any = call.body
    if call.via == "multi":
        content_type = call.request.headers.get("content-type", "")
        raw = await read_bounded(call.request, limit, "limits.max_audio_bytes")
        if content_type.lower().startswith("multipart/form-data"):
            try:
                form = parse_form_data(raw, content_type)
            except ValueError as exc:
                return errors.invalid_body(f"not a usable multipart/form-data body: {exc}")
            part = form.get("audio") or form.get("file")
            if part is None:
                return errors.invalid_body("the form has no 'audio' file")
            payload = part
        else:
            payload = parse_json(raw) if raw.strip() else None
    if isinstance(payload, FormPart):
        audio, mime = payload.data, payload.content_type
        filename = payload.filename or _filename(mime)
    else:
        decoded = _json_audio(payload, limit)
        if isinstance(decoded, JSONResponse):
            return decoded
        audio, mime, filename = decoded
    if not audio:
        return errors.invalid_body("the audio file is empty")
    try:
        text = await provider.transcribe(audio, filename=filename, mime_type=mime)
    except LLMError as exc:
        status = 502 if not isinstance(exc, LLMAuthError) else 503
        return errors.error_response("Transcription failed", exc.message, status, code=exc.code)
    except Exception as exc:
        log.exception("transcription failed")
        return errors.server_error("Transcription failed", f"{type(exc).__name__}")
    return JSONResponse({"text": text, "size": len(audio), "type": mime})


def _filename(mime: str) -> str:
    subtype = mime.split("/", 1)[-1].split(";", 1)[0] or "webm"
    return f"audio.{subtype}"


def _json_audio(payload: Any, limit: int) -> tuple[bytes, str, str] | JSONResponse:
    if not isinstance(payload, dict) or not isinstance(payload.get("audio"), str):
        return errors.invalid_body('expected multipart/form-data with an "audio" file, or JSON '
                                   '{"audio": "<base64>", "mimeType": "audio/webm"}')
    encoded = payload["audio"]
    if "," in encoded[:100] and encoded.startswith("data:"):
        encoded = encoded.split(",", 1)[1]  # a data: URL
    if len(encoded) * 3 // 4 > limit:
        return errors.error_response("Payload too large", f"the audio is larger than {limit} "
                                     "bytes (limits.max_audio_bytes)", 413)
    try:
        audio = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return errors.invalid_body("audio is not valid base64")
    mime = payload.get("mimeType") or payload.get("type") or "audio/webm"
    if not isinstance(mime, str):
        return errors.invalid_body("mimeType must be a string")
    filename = payload.get("filename")
    return audio, mime, filename if isinstance(filename, str) and filename else _filename(mime)


async def connect_endpoint(call: AguiCall) -> Response:
    """The thread's stored history, then the live tail of a run still in progress (the
    engine's :meth:`~copilotkit_runtime.engine.Engine.connect`)."""
    runtime = call.runtime
    agent_id = call.params["agentId"]
    agent = resolve_agent(runtime, agent_id)
    if agent is None:
        return errors.agent_not_found(agent_id)
    run_input = parse_input(call.body)
    if isinstance(run_input, JSONResponse):
        return run_input
    try:
        replay = await runtime.engine.connect(run_input.thread_id, idle_timeout=KEEPALIVE_SECONDS,
                                              agent=agent, owner=owner_of(call.context.principal))
    except ThreadNotFoundError as exc:
        return thread_not_found(exc.thread_id)
    except StoreError as exc:
        return errors.server_error("Failed to connect", exc.message)

    async def body() -> AsyncIterator[bytes]:
        async for batch in replay:
            yield encode_batch(batch)

    return stream(body())


async def stop_endpoint(call: AguiCall) -> Response:
    runtime = call.runtime
    agent_id, thread_id = call.params["agentId"], call.params["threadId"]
    if resolve_agent(runtime, agent_id) is None:
        return errors.agent_not_found(agent_id)
    body = call.body
    run_id = None
    if body not in (None, {}):
        if not isinstance(body, dict) or set(body) - {"runId"}:
            return errors.error_response("Invalid stop request")
        run_id = body.get("runId")
        if not isinstance(run_id, str) or not run_id:
            return errors.error_response("Invalid runId")
    active = runtime.engine.active_run(thread_id)
    try:
        stopped = await runtime.engine.stop(thread_id, run_id,
                                            owner=owner_of(call.context.principal))
    except ThreadNotFoundError:
        return thread_not_found(thread_id)
    except StoreError as exc:
        return errors.server_error("Failed to stop agent", exc.message)
    if stopped:
        return JSONResponse({"stopped": True, "threadId": thread_id,
                             "runId": run_id or (active.request.run_id if active else None)})
    if run_id is not None and active is not None:
        message = f"Run '{run_id}' is not the active run for thread '{thread_id}'."
    else:
        message = f"No active run for thread '{thread_id}'."
    return JSONResponse({"stopped": False, "message": message})
