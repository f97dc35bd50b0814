"""An in-process client: a runtime's real ASGI app driven over HTTP (``httpx``), both protocols.

No port and no thread: requests go through the whole app (middleware, protocol layers,
engine, provider) exactly as a client's would. ::

    async with RuntimeClient(make_runtime(config, plugins={"mine": my_plugin})) as client:
        events = await client.run("my-agent", "hello")           # AG-UI v2, SSE parsed
        assert events[-1]["type"] == "RUN_FINISHED"
        info = await client.info()                                # GET {base}/info
        answer = await client.graphql("{ availableAgents { agents { name } } }")  # v1
        response = await client.http.get("/health")               # anything else

The runtime is started on enter and stopped on exit. Use :func:`serve_runtime` instead when a
real port is needed (the npm clients, a browser).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..runtime import Runtime

if TYPE_CHECKING:
    import httpx

__all__ = ["RuntimeClient", "parse_sse"]


def parse_sse(text: str) -> list[dict[str, Any]]:
    """The JSON of every ``data:`` line of a ``text/event-stream`` body, in order."""
    return [json.loads(line[5:].strip()) for line in text.splitlines()
            if line.startswith("data:") and line[5:].strip()]


class RuntimeClient:
    """Talk to ``runtime`` through its ASGI app, in-process (see the module docstring)."""

    def __init__(self, runtime: Runtime, *, headers: Mapping[str, str] | None = None,
                 app: Any = None) -> None:
        try:
            import httpx
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("RuntimeClient needs httpx: pip install 'copilotkit-runtime[testing]'"
                              ) from exc
        from ..server import create_app

        self.runtime = runtime
        self.app = app if app is not None else create_app(runtime)
        #: the underlying ``httpx.AsyncClient`` (base URL ``http://testserver``)
        self.http: httpx.AsyncClient = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://testserver",
            headers=dict(headers or {}))

    @property
    def base_path(self) -> str:
        return self.runtime.settings.server.base_path

    async def __aenter__(self) -> RuntimeClient:
        await self.runtime.startup()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.http.aclose()
        await self.runtime.shutdown()

    # -- AG-UI (v2) ------------------------------------------------------------------------------

    @staticmethod
    def run_body(messages: str | Sequence[Mapping[str, Any]] | None = None, *,
                 thread_id: str | None = None, run_id: str | None = None,
                 state: Any = None, tools: Sequence[Mapping[str, Any]] = (),
                 context: Sequence[Mapping[str, Any]] = (),
                 forwarded_props: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A ``RunAgentInput`` body (wire JSON). A string is one user message."""
        if isinstance(messages, str):
            messages = [{"id": f"msg-{uuid.uuid4().hex}", "role": "user", "content": messages}]
        return {"threadId": thread_id or f"thread-{uuid.uuid4().hex}",
                "runId": run_id or f"run-{uuid.uuid4().hex}",
                "messages": list(messages or []), "state": state if state is not None else {},
                "tools": list(tools), "context": list(context),
                "forwardedProps": dict(forwarded_props or {})}

    async def run(self, agent: str, messages: str | Sequence[Mapping[str, Any]] | None = None,
                  *, check: bool = True, headers: Mapping[str, str] | None = None,
                  **body: Any) -> list[dict[str, Any]]:
        """``POST {base}/agent/{agent}/run``: the run's events as wire JSON dicts.

        ``messages`` is a user text or a list of AG-UI messages; other keywords are those of
        :meth:`run_body` (``thread_id``, ``state``, ``tools``, ``context``...). With ``check``
        a non-200 answer raises ``httpx.HTTPStatusError``."""
        response = await self.http.post(f"{self.base_path}/agent/{agent}/run",
                                        json=self.run_body(messages, **body),
                                        headers={"accept": "text/event-stream", **(headers or {})})
        if check:
            response.raise_for_status()
        return parse_sse(response.text)

    async def connect(self, agent: str, thread_id: str) -> list[dict[str, Any]]:
        """``POST {base}/agent/{agent}/connect``: the thread's history (and a live run's tail)."""
        response = await self.http.post(f"{self.base_path}/agent/{agent}/connect",
                                        json=self.run_body(thread_id=thread_id),
                                        headers={"accept": "text/event-stream"})
        response.raise_for_status()
        return parse_sse(response.text)

    async def stop(self, agent: str, thread_id: str) -> dict[str, Any]:
        """``POST {base}/agent/{agent}/stop/{thread_id}``."""
        response = await self.http.post(f"{self.base_path}/agent/{agent}/stop/{thread_id}")
        return response.json()

    async def info(self) -> dict[str, Any]:
        """``GET {base}/info``: the runtime's agents and version."""
        response = await self.http.get(f"{self.base_path}/info")
        response.raise_for_status()
        return response.json()

    async def single_route(self, method: str, params: Mapping[str, Any] | None = None,
                           body: Any = None) -> httpx.Response:
        """``POST {base}`` with the single-route envelope ``{"method", "params", "body"}``."""
        envelope: dict[str, Any] = {"method": method}
        if params is not None:
            envelope["params"] = dict(params)
        if body is not None:
            envelope["body"] = body
        return await self.http.post(self.base_path, json=envelope,
                                    headers={"accept": "text/event-stream, application/json"})

    # -- GraphQL (v1) ----------------------------------------------------------------------------

    async def graphql(self, query: str, variables: Mapping[str, Any] | None = None, *,
                      operation_name: str | None = None,
                      headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """``POST {base}`` with a GraphQL document: the whole result as one JSON document
        (a streamed ``generateCopilotResponse`` is answered buffered, as for a client that
        does not accept ``multipart/mixed``)."""
        payload: dict[str, Any] = {"query": query, "variables": dict(variables or {})}
        if operation_name:
            payload["operationName"] = operation_name
        response = await self.http.post(self.base_path, json=payload,
                                        headers={"accept": "application/json", **(headers or {})})
        return response.json()
