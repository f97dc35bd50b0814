"""The ``agui`` provider type: an agent served by another process that speaks AG-UI.

For each run it POSTs the run's ``RunAgentInput`` (camelCase JSON, ``Accept:
text/event-stream``) to ``url`` and yields the events of the SSE answer. The engine checks and
normalises them like any provider's, stores the thread and relays both protocols, so guardrails,
``/connect`` replay and stop behave as for a local agent.

A stop, a client going away or shutdown cancel the run: the ``async with`` below closes the
HTTP response, which closes its connection (an unfinished response is never put back in the
pool), and the remote sees its client disconnect. A remote that answers non-2xx, is unreachable,
goes silent past ``timeout``, sends something that is not SSE or not an AG-UI event, or closes
the stream before ``RUN_FINISHED``/``RUN_ERROR`` fails that run with a :class:`RemoteAgentError`
naming the agent and the URL.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from ag_ui.core import BaseEvent, Event, EventType
from pydantic import Field, TypeAdapter, ValidationError, field_validator

from copilotkit_runtime import AgentProvider, CopilotKitRuntimeError, ProviderOptions, RunRequest
from copilotkit_runtime.http import LeanHTTPTransport

from .identity import remote_headers
from .sse import SSEError, iter_sse_data

log = logging.getLogger("copilotkit_provider_agui")

_EVENT = TypeAdapter(Event)
_RUN_STARTED = EventType.RUN_STARTED
_TERMINAL = frozenset({EventType.RUN_FINISHED, EventType.RUN_ERROR})


class RemoteAgentError(CopilotKitRuntimeError):
    """The remote agent failed the run (its message says which agent, where, and what)."""

    code = "REMOTE_AGENT_ERROR"


class AguiRemoteOptions(ProviderOptions):
    """``[agents.NAME]`` keys of ``provider = "agui"``."""

    #: the AG-UI endpoint (the path the server's agent is mounted at)
    url: str
    #: sent with every run; values may be ``"${ENV_VAR}"``; win over forwarded headers
    headers: dict[str, str] = Field(default_factory=dict)
    #: names of the client's request headers to pass on (among those the runtime forwards)
    forward_headers: list[str] = Field(default_factory=list)
    #: send ``properties["authorization"]`` as ``Authorization: Bearer ...``
    forward_authorization: bool = True
    #: a header that carries the authenticated principal's id (e.g. ``"x-copilotkit-user"``)
    principal_header: str | None = None
    #: seconds of silence from the remote (no byte) before the run fails
    timeout: float = Field(default=300.0, gt=0)
    #: seconds to open the connection
    connect_timeout: float = Field(default=10.0, gt=0)
    #: plain-http remotes through the httptools transport (:mod:`.transport`); ``false``: httpx's
    lean_transport: bool = True
    #: the largest single event accepted from the remote
    max_event_bytes: int = Field(default=8 * 1024 * 1024, gt=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parsed = httpx.URL(value)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value


class AguiRemoteProvider(AgentProvider):
    Options = AguiRemoteOptions
    options: AguiRemoteOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: httpx.AsyncClient | None = None

    def _new_client(self) -> httpx.AsyncClient:
        opts = self.options
        return httpx.AsyncClient(
            timeout=httpx.Timeout(opts.timeout, connect=opts.connect_timeout),
            # Every open run holds a connection for as long as it streams: no pool cap.
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
            follow_redirects=False,
            transport=LeanHTTPTransport() if opts.lean_transport else None,
        )

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = self._new_client()
        return self._client

    async def startup(self) -> None:
        self.client  # noqa: B018 - create it in the runtime's loop

    async def shutdown(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- one run -------------------------------------------------------------------------------

    def request_body(self, request: RunRequest) -> bytes:
        """The ``RunAgentInput`` sent to the remote, as JSON bytes."""
        run_input = request.input
        if request.properties and request.protocol != "agui":
            # GraphQL ``properties`` have no AG-UI field: they travel in forwardedProps (the
            # client's own forwarded props win). On AG-UI they *are* the forwarded props.
            merged = {**request.properties, **request.forwarded_props}
            run_input = run_input.model_copy(update={"forwarded_props": merged})
        return run_input.model_dump_json(by_alias=True, exclude_none=True).encode()

    def request_headers(self, request: RunRequest) -> dict[str, str]:
        opts = self.options
        headers = remote_headers(request, static=opts.headers, forward=opts.forward_headers,
                                 principal_header=opts.principal_header,
                                 bearer_from_properties=opts.forward_authorization)
        headers["content-type"] = "application/json"
        headers["accept"] = "text/event-stream"
        return headers

    def _fail(self, what: str) -> RemoteAgentError:
        return RemoteAgentError(f"Remote AG-UI agent '{self.name}' at {self.options.url} {what}")

    async def run(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        url = self.options.url
        body = self.request_body(request)
        headers = self.request_headers(request)
        finished = False
        try:
            async with self.client.stream("POST", url, content=body, headers=headers) as response:
                if not 200 <= response.status_code < 300:
                    raw = await response.aread()
                    raise self._fail(f"answered HTTP {response.status_code}: "
                                     f"{_excerpt(raw) or response.reason_phrase}")
                ctype = response.headers.get("content-type", "")
                if "text/event-stream" not in ctype:
                    raw = await response.aread()
                    raise self._fail(f"answered with content-type {ctype!r}, not an SSE stream "
                                     f"(text/event-stream): {_excerpt(raw)}")
                async for data in iter_sse_data(response.aiter_bytes(),
                                                max_event_bytes=self.options.max_event_bytes):
                    event = self._parse(data)
                    kind = event.type
                    if kind is _RUN_STARTED or kind in _TERMINAL:
                        event = _own_ids(event, request)
                        finished = kind in _TERMINAL
                    yield event
                    if finished:
                        return
        except httpx.TimeoutException as exc:
            raise self._fail(f"did not answer within {self._timeout_of(exc)} s "
                             f"({type(exc).__name__})") from exc
        except httpx.ConnectError as exc:
            raise self._fail(f"could not be reached: {exc or type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            # RemoteProtocolError, ReadError: the connection broke mid-answer.
            raise self._fail(f"broke the connection mid-run: {type(exc).__name__}: {exc}") from exc
        except SSEError as exc:
            raise self._fail(f"sent a malformed SSE stream: {exc}") from exc
        if not finished:
            raise self._fail("closed the stream before the run finished "
                             "(no RUN_FINISHED or RUN_ERROR)")

    def _parse(self, data: bytes) -> BaseEvent:
        try:
            return _EVENT.validate_json(data)
        except ValidationError as exc:
            try:
                json.loads(data)
            except ValueError:
                raise self._fail(f"sent SSE data that is not JSON: {_excerpt(data)}") from None
            errors = exc.errors()
            where = ".".join(str(p) for p in errors[0]["loc"]) if errors else "?"
            what = errors[0]["msg"] if errors else str(exc)
            raise self._fail(f"sent an invalid AG-UI event ({where}: {what}): "
                             f"{_excerpt(data)}") from None

    def _timeout_of(self, exc: httpx.TimeoutException) -> float:
        if isinstance(exc, httpx.ConnectTimeout):
            return self.options.connect_timeout
        return self.options.timeout


def _own_ids(event: BaseEvent, request: RunRequest) -> BaseEvent:
    """RUN_STARTED/RUN_FINISHED with this run's ids (a remote may number runs its own way)."""
    thread_id = getattr(event, "thread_id", None)
    run_id = getattr(event, "run_id", None)
    if thread_id is None and run_id is None:
        return event  # RUN_ERROR carries neither
    if thread_id == request.thread_id and run_id == request.run_id:
        return event
    return event.model_copy(update={"thread_id": request.thread_id, "run_id": request.run_id})


def _excerpt(raw: bytes, limit: int = 300) -> str:
    text = raw.decode("utf-8", "replace").strip()
    return text if len(text) <= limit else text[:limit] + "..."
