"""The ``copilotkit-remote`` provider type: the agents (and backend actions) of a service built
with the CopilotKit Python SDK's remote endpoint, called as the TypeScript runtime 1.10.6
calls it (``copilotKitEndpoint``):

* ``POST {url}/info`` ``{properties, frontendUrl}`` → ``{agents, actions, sdkVersion}``: read
  once when the runtime is built (so the agents are known to ``/info`` and GraphQL);
* ``POST {url}/agents/execute`` → JSON lines of LangGraph events for LangGraph agents
  (:mod:`.translate`), of the SDK's runtime events for CrewAI agents (:mod:`.runtime_events`);
* ``POST {url}/agents/state`` → the thread as the remote's checkpointer has it;
* ``POST {url}/actions/execute`` ``{name, arguments}`` → ``{result}``: the remote's actions,
  offered to the runtime's LLM agents as backend actions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
from ag_ui.core import BaseEvent
from pydantic import Field, field_validator

from copilotkit_provider_agui.identity import remote_headers
from copilotkit_runtime import (
    Action,
    AgentInfo,
    AgentProvider,
    ConfigError,
    CopilotKitRuntimeError,
    ProviderOptions,
    RunRequest,
    ThreadSnapshot,
)

from .runtime_events import HIDDEN_FLOW_STATE_KEYS, RUNTIME_EVENT_TYPES, RuntimeEventTranslator
from .translate import HIDDEN_STATE_KEYS, RemoteEventTranslator
from .wire import copilotkit_messages, frontend_actions, meta_events, parameters_schema

log = logging.getLogger("copilotkit_remote")


class RemoteEndpointError(CopilotKitRuntimeError):
    code = "REMOTE_AGENT_ERROR"


class RemoteEndpointOptions(ProviderOptions):
    #: the endpoint's base URL (``add_fastapi_endpoint(app, sdk, "/copilotkit")`` → ``.../copilotkit``)
    url: str
    #: serve only these of its agents; listed agents also let the runtime start while the
    #: remote is down (otherwise ``/info`` must answer when the runtime is built)
    agents: list[str] | None = None
    #: offer the remote's actions to the runtime's LLM agents as backend actions
    actions: bool = True
    headers: dict[str, str] = Field(default_factory=dict)
    forward_headers: list[str] = Field(default_factory=list)
    forward_authorization: bool = True
    principal_header: str | None = None
    timeout: float = Field(default=300.0, gt=0)
    connect_timeout: float = Field(default=10.0, gt=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value.rstrip("/")


class RemoteEndpointProvider(AgentProvider):
    Options = RemoteEndpointOptions
    options: RemoteEndpointOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: httpx.AsyncClient | None = None
        self.remote_agents: list[dict[str, Any]] = []
        self.remote_actions: dict[str, Action] = {}
        self._discover()

    # -- discovery (at build time, synchronous) ------------------------------------------------

    def _discover(self) -> None:
        opts = self.options
        try:
            response = httpx.post(f"{opts.url}/info", json={"properties": {}, "frontendUrl": None},
                                  headers=dict(opts.headers),
                                  timeout=httpx.Timeout(opts.connect_timeout))
            response.raise_for_status()
            info = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            if opts.agents:
                log.warning("agents.%s: %s/info did not answer (%s); serving the listed agents "
                            "%s", self.name, opts.url, exc, ", ".join(opts.agents))
                self.remote_agents = [{"name": n, "description": ""} for n in opts.agents]
                return
            raise ConfigError(
                f"agents.{self.name}: the CopilotKit remote endpoint {opts.url}/info did not "
                f"answer ({type(exc).__name__}: {exc}). Start it first, or list its agents with "
                "agents = [...] to start without it.") from None
        agents = [a for a in info.get("agents") or () if isinstance(a, dict) and a.get("name")]
        if opts.agents is not None:
            known = {a["name"] for a in agents}
            missing = [n for n in opts.agents if n not in known]
            if missing:
                raise ConfigError(f"agents.{self.name}.agents: {opts.url} serves no agent "
                                  f"{', '.join(missing)} (it serves: {', '.join(sorted(known)) or 'none'}).")
            agents = [a for a in agents if a["name"] in opts.agents]
        self.remote_agents = agents
        if opts.actions:
            for spec in info.get("actions") or ():
                if isinstance(spec, dict) and spec.get("name"):
                    self.remote_actions[spec["name"]] = self._action(spec)
            actions = self.context.actions
            if isinstance(actions, dict):
                for name, action in self.remote_actions.items():
                    if name in actions:
                        raise ConfigError(f"agents.{self.name}: the remote action '{name}' has the "
                                          "name of an action already registered.")
                    actions[name] = action

    def agents(self) -> Sequence[AgentInfo]:
        return [AgentInfo(name=a["name"], description=a.get("description") or self.description,
                          provider=self.type_name,
                          capabilities={"remote": self.options.url, "type": a.get("type")})
                for a in self.remote_agents]

    def agent_type(self, agent: str) -> str | None:
        """What ``/info`` says the agent is: ``langgraph``, ``crewai`` (None if not known)."""
        for entry in self.remote_agents:
            if entry.get("name") == agent:
                kind = entry.get("type")
                return kind if isinstance(kind, str) else None
        return None

    def _action(self, spec: dict[str, Any]) -> Action:
        name = spec["name"]

        async def execute(**arguments: Any) -> Any:
            response = await self.client.post(f"{self.options.url}/actions/execute",
                                              json={"name": name, "arguments": arguments,
                                                    "properties": {}},
                                              headers=dict(self.options.headers))
            if response.status_code != 200:
                raise RemoteEndpointError(f"remote action '{name}' at {self.options.url} answered "
                                          f"HTTP {response.status_code}: {response.text[:300]}")
            body = response.json()
            return body.get("result") if isinstance(body, dict) else body

        return Action(name=name, description=spec.get("description") or "", handler=execute,
                      parameters=parameters_schema(spec.get("parameters")),
                      timeout=self.options.timeout)

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.options.timeout, connect=self.options.connect_timeout),
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=64))
        return self._client

    async def shutdown(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- runs ----------------------------------------------------------------------------------

    def _fail(self, agent: str, what: str) -> RemoteEndpointError:
        return RemoteEndpointError(f"CopilotKit remote agent '{agent}' at {self.options.url} {what}")

    def execute_body(self, request: RunRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": request.agent, "threadId": request.thread_id,
            "messages": copilotkit_messages(request),
            "state": request.state, "config": request.config or {},
            "properties": {**request.properties}, "actions": frontend_actions(request),
            "metaEvents": meta_events(request),
        }
        if request.node_name:
            body["nodeName"] = request.node_name
        return body

    def _headers(self, request: RunRequest) -> dict[str, str]:
        opts = self.options
        return remote_headers(request, static=opts.headers, forward=opts.forward_headers,
                              principal_header=opts.principal_header,
                              bearer_from_properties=opts.forward_authorization)

    async def run(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        agent = request.agent
        translator: RemoteEventTranslator | RuntimeEventTranslator | None = None
        try:
            async with self.client.stream("POST", f"{self.options.url}/agents/execute",
                                          json=self.execute_body(request),
                                          headers=self._headers(request)) as response:
                if response.status_code != 200:
                    raw = (await response.aread())[:300].decode("utf-8", "replace")
                    raise self._fail(agent, f"answered HTTP {response.status_code}: {raw}")
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    try:
                        event = json.loads(line)
                    except ValueError:
                        raise self._fail(agent, f"sent a line that is not JSON: {line[:200]}") from None
                    if not isinstance(event, dict):
                        raise self._fail(agent, f"sent a line that is not an event: {line[:200]}")
                    if translator is None:
                        # LangGraph agents stream LangGraph events ({"event": ...}), CrewAI
                        # agents the SDK's runtime events ({"type": "TextMessageStart", ...}).
                        translator = (RuntimeEventTranslator()
                                      if event.get("type") in RUNTIME_EVENT_TYPES
                                      else RemoteEventTranslator())
                    for out in translator.feed(event):
                        yield out
        except httpx.TimeoutException as exc:
            raise self._fail(agent, f"did not answer within {self.options.timeout} s "
                                    f"({type(exc).__name__})") from exc
        except httpx.ConnectError as exc:
            raise self._fail(agent, f"could not be reached: {exc}") from exc
        except httpx.HTTPError as exc:
            raise self._fail(agent, f"broke the connection mid-run: {type(exc).__name__}: {exc}") from exc
        for out in translator.close() if translator is not None else ():
            yield out

    async def load_thread(self, agent: str, thread_id: str) -> ThreadSnapshot | None:
        try:
            response = await self.client.post(f"{self.options.url}/agents/state",
                                              json={"properties": {}, "threadId": thread_id,
                                                    "name": agent},
                                              headers=dict(self.options.headers))
            body = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            log.warning("could not load thread %s of %s from %s", thread_id, agent, self.options.url)
            return None
        if not isinstance(body, dict) or not body.get("threadExists"):
            return None  # the runtime's own store answers
        raw = body.get("state")
        state: dict[str, Any] = raw if isinstance(raw, dict) else {}
        hidden = HIDDEN_FLOW_STATE_KEYS if self.agent_type(agent) == "crewai" else HIDDEN_STATE_KEYS
        messages = body.get("messages")
        if isinstance(messages, str):
            try:
                messages = json.loads(messages)
            except ValueError:
                messages = []
        return ThreadSnapshot(thread_id=thread_id, agent=agent, exists=True,
                              state={k: v for k, v in state.items()
                                     if k not in hidden},
                              messages=[m for m in messages or [] if isinstance(m, dict)])
