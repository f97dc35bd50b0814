"""``PlatformProvider``: a graph deployed on LangGraph Platform / Agent Server, run through the
``langgraph-sdk`` client, with the CopilotKit conventions the in-process ``langgraph``
provider follows (the same event translation, interrupts, state sync).

Per run:

1. The runtime's thread is the deployment's thread :func:`platform_thread_id` (the same id
   when it is a UUID, else a UUID derived from it). Its state is read
   (``GET /threads/{id}/state``; a thread the deployment has not seen yet is empty).
2. How the graph goes on: **regenerate** (the client edited a user message the thread holds,
   or sent fewer messages than the thread holds, ending with a user message that has replies
   after it: the run forks the thread at the checkpoint before that message first appeared,
   found with ``GET /threads/{id}/history``, and answers it again from there, as the
   ``langgraph`` provider does for local graphs), **resume** (the request answers a pending interrupt:
   ``Command(resume=...)``), **resume with messages** (a ``copilotkit_interrupt`` is pending and
   the user wrote something new), **replay** (an interrupt is pending and nothing answers it:
   it is shown again, no run), else **start**: the client's changed state keys, the messages
   the thread does not hold yet (by id), and the frontend's tools and readables
   (``copilotkit = {actions, context}``, ``tools``, ``ag-ui``) as input, filtered to the
   graph's input schema.
3. ``POST /threads/{id}/runs/stream`` with ``stream_mode=["events", "values"]``: the
   ``astream_events`` v2 events and the state after each step, fed to the LangGraph plugin's
   :class:`~copilotkit_provider_langgraph.translate.RunTranslator`.
4. The state is read again: ``MESSAGES_SNAPSHOT``, state facts + ``STATE_SNAPSHOT``, the
   interrupts (``CUSTOM on_interrupt`` / ``copilotkit_interrupt``) and ``RUN_FINISHED`` with an
   interrupt outcome when the graph waits for an answer.

A stop (or a client that goes away) cancels the run on the deployment
(``POST /threads/{id}/runs/{run_id}/cancel``) and closes the stream; runs are also created
with ``on_disconnect="cancel"``, so a runtime that dies does not leave them running.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import fnmatch
import json
import logging
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from ag_ui.core import Interrupt, RunFinishedInterruptOutcome
from langgraph_sdk import get_client
from langgraph_sdk.errors import APIStatusError, ConflictError, NotFoundError

from copilotkit_runtime import (
    AgentInfo,
    AgentProvider,
    CopilotKitRuntimeError,
    ProviderContext,
    RunRequest,
    ThreadSnapshot,
)
from copilotkit_runtime.events import (
    COPILOTKIT_INTERRUPT_EVENT,
    INTERRUPT_EVENT,
    BaseEvent,
    CustomEvent,
    MessagesSnapshotEvent,
    RunFinishedEvent,
    RunStartedEvent,
    StateSnapshotEvent,
)

from .options import PlatformOptions

log = logging.getLogger("copilotkit_provider_langgraph_platform")

END = "__end__"
COPILOTKIT_INTERRUPT_VALUE = "__copilotkit_interrupt_value__"
COPILOTKIT_INTERRUPT_MESSAGES = "__copilotkit_messages__"
#: Namespace of the deployment thread ids made for runtime thread ids that are not UUIDs.
THREAD_NAMESPACE = uuid.UUID("6f1d7c2e-8a43-4b0e-9c55-0c7f3d8e2a91")
#: checkpoints read per ``/threads/{id}/history`` call when looking for a regenerate's fork point
HISTORY_PAGE = 50


class PlatformError(CopilotKitRuntimeError):
    """The deployment could not be reached, refused a call, or failed the run."""

    code = "REMOTE_AGENT_ERROR"


def platform_thread_id(thread_id: str) -> str:
    """The deployment's thread for a runtime thread: the same id when it is a UUID (so the
    thread is easy to find in LangSmith Studio), else ``uuid5`` of it (deployments take UUID
    thread ids only)."""
    try:
        return str(uuid.UUID(thread_id))
    except ValueError:
        return str(uuid.uuid5(THREAD_NAMESPACE, thread_id))


class _Fields(dict[str, Any]):
    """A JSON object read by attribute, the way the translator reads LangChain objects
    (``chunk.content``, ``message.tool_call_id``); a missing key reads as ``None``."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        return self.get(name)


def _fields(value: Any) -> Any:
    return _Fields(value) if isinstance(value, dict) else value


@dataclass
class _Graph:
    """What the provider learns about the deployed graph (once, at the first use)."""

    assistant_id: str
    node_names: frozenset[str]
    input_keys: frozenset[str] | None
    output_keys: frozenset[str] | None

    @property
    def has_messages(self) -> bool:
        return self.input_keys is None or "messages" in self.input_keys

    def public_state(self, values: Any) -> Any:
        """The state clients see: output-schema keys, without ``messages``."""
        if not isinstance(values, dict):
            return values
        keys = self.output_keys
        return {
            k: v
            for k, v in values.items()
            if k != "messages" and not k.startswith("__") and (keys is None or k in keys)
        }


@dataclass
class _Plan:
    mode: str  # start | regenerate | resume | replay
    input: Any = None
    command: dict[str, Any] | None = None
    state: dict[str, Any] = field(default_factory=dict)
    #: regenerate: the user message to answer again; the run starts from ``checkpoint_id``
    message_id: str | None = None
    checkpoint_id: str | None = None


_NO_ANSWER = object()


class PlatformProvider(AgentProvider[PlatformOptions]):
    """Serves one deployed graph (or assistant) as the agent named after its section."""

    Options = PlatformOptions

    def __init__(
        self, name: str, options: PlatformOptions, context: ProviderContext, description: str = ""
    ) -> None:
        super().__init__(name, options, context, description)
        self.where = f"agents.{name}"
        self.graph_id = options.graph_id or name
        self._client: Any = None
        self._graph: _Graph | None = None
        self._graph_lock: asyncio.Lock | None = None

    # -- agents and lifecycle ------------------------------------------------------------------

    def agents(self) -> Sequence[AgentInfo]:
        return [
            AgentInfo(
                name=self.name,
                description=self.description,
                provider=self.type_name or "langgraph-platform",
                capabilities={
                    "streaming": True,
                    "state": True,
                    "frontend_actions": True,
                    "interrupts": True,
                    "persistence": "langgraph-platform",
                    "deployment_url": self.options.deployment_url,
                    "graph_id": self.graph_id,
                },
            )
        ]

    @property
    def client(self) -> Any:
        if self._client is None:
            opts = self.options
            api_key: Any = {}
            if opts.api_key is not None and opts.api_key.get_secret_value():
                api_key = {"api_key": opts.api_key.get_secret_value()}
            # No api_key argument: the client reads LANGGRAPH_/LANGSMITH_/LANGCHAIN_API_KEY.
            self._client = get_client(
                url=opts.deployment_url,
                headers=dict(opts.headers) or None,
                # (connect, read, write, pool) seconds
                timeout=(opts.connect_timeout, opts.timeout, opts.timeout, opts.connect_timeout),
                **api_key,
            )
        return self._client

    async def startup(self) -> None:
        # Learn the graph now when the deployment answers; when it does not, the first run
        # tries again (a deployment may come up after the runtime), saying why if it fails.
        try:
            await self._deployed_graph()
        except PlatformError as exc:
            log.warning("%s", exc)

    async def shutdown(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()

    async def _deployed_graph(self) -> _Graph:
        if self._graph is not None:
            return self._graph
        if self._graph_lock is None:
            self._graph_lock = asyncio.Lock()
        async with self._graph_lock:
            if self._graph is None:
                self._graph = await self._call("read the graph", self._read_graph())
        return self._graph

    async def _read_graph(self) -> _Graph:
        client = self.client
        assistant_id = self.options.assistant_id
        if assistant_id is None:
            found = await client.assistants.search(graph_id=self.graph_id, limit=10)
            if not found:
                log.warning(
                    "%s: %s serves no graph '%s'",
                    self.where,
                    self.options.deployment_url,
                    self.graph_id,
                )
                raise PlatformError(
                    f"{self.where}: the deployment has no graph '{self.graph_id}' (set graph_id "
                    "to a graph of its langgraph.json, or assistant_id)"
                )
            system = [a for a in found if (a.get("metadata") or {}).get("created_by") == "system"]
            assistant_id = (system or found)[0]["assistant_id"]
        drawn = await client.assistants.get_graph(assistant_id)
        nodes = frozenset(
            str(n["id"])
            for n in drawn.get("nodes") or ()
            if isinstance(n, dict) and n.get("id") not in ("__start__", "__end__")
        )
        try:
            schemas = await client.assistants.get_schemas(assistant_id)
        except APIStatusError:
            schemas = {}
        return _Graph(
            assistant_id=assistant_id,
            node_names=nodes,
            input_keys=_schema_keys(schemas.get("input_schema")),
            output_keys=_schema_keys(schemas.get("output_schema")),
        )

    async def _call(self, what: str, awaitable: Any) -> Any:
        """Await one call to the deployment; its failures become a :class:`PlatformError`."""
        try:
            return await awaitable
        except (httpx.HTTPError, APIStatusError) as exc:
            raise self._failure(what, exc) from None

    def _failure(self, what: str, exc: httpx.HTTPError | APIStatusError) -> PlatformError:
        """The error of a failed call: it names the agent (the log also names the deployment;
        neither shows the API key or the headers)."""
        url = self.options.deployment_url
        if isinstance(exc, APIStatusError):
            status = exc.response.status_code
            log.warning(
                "%s: %s answered HTTP %d to '%s' %s", self.where, url, status, what, _detail(exc)
            )
            return PlatformError(
                f"{self.where}: the deployment refused to {what}: HTTP {status}"
                f" {_detail(exc)}".rstrip()
            )
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        log.warning("%s: could not %s at %s (%s)", self.where, what, url, reason)
        return PlatformError(f"{self.where}: could not {what} at the deployment ({reason})")

    # -- threads -------------------------------------------------------------------------------

    async def _state(
        self, thread: str, headers: Mapping[str, str] | None = None
    ) -> dict[str, Any] | None:
        try:
            return await self.client.threads.get_state(thread, headers=headers or None)
        except NotFoundError:
            return None

    async def load_thread(self, agent: str, thread_id: str) -> ThreadSnapshot | None:
        graph = await self._deployed_graph()
        state = await self._call("read the thread", self._state(platform_thread_id(thread_id)))
        values = _values(state)
        if state is None or not values:
            return ThreadSnapshot(thread_id=thread_id, agent=agent, exists=False)
        return ThreadSnapshot(
            thread_id=thread_id,
            agent=agent,
            exists=True,
            state=graph.public_state(values),
            messages=_agui_messages(values.get("messages")),
            node_name=_node_of(state),
            run_id=(state.get("metadata") or {}).get("run_id"),
        )

    # -- running -------------------------------------------------------------------------------

    def run_config(self, request: RunRequest) -> dict[str, Any]:
        """The run's config: the ``config`` option, the client's config over it, and who asks
        (``principal``, ``properties``, forwarded ``headers``), set by the runtime so a client
        cannot claim another identity."""
        from copilotkit_provider_langgraph.messages import to_jsonable

        config: dict[str, Any] = copy.deepcopy(self.options.config)
        extra = request.config if isinstance(request.config, dict) else {}
        for key in ("recursion_limit", "tags", "metadata", "max_concurrency"):
            if key in extra:
                config[key] = extra[key]
        configurable = dict(config.get("configurable") or {})
        configurable.update(extra.get("configurable") or {})
        configurable["principal"] = to_jsonable(request.principal)
        configurable["properties"] = to_jsonable(dict(request.properties))
        configurable["headers"] = self._forwarded_headers(request)
        configurable.pop("thread_id", None)  # the deployment sets its own
        config["configurable"] = configurable
        return config

    def _forwarded_headers(self, request: RunRequest) -> dict[str, str]:
        patterns = [p.lower() for p in self.options.forward_headers]
        return {
            name.lower(): value
            for name, value in request.headers.items()
            if any(fnmatch.fnmatchcase(name.lower(), p) for p in patterns)
        }

    def _http_headers(self, request: RunRequest) -> dict[str, str]:
        """Forwarded request headers for the deployment's own auth; the configured headers
        (sent by the client on every call) win."""
        static = {name.lower() for name in self.options.headers}
        return {
            k: v
            for k, v in self._forwarded_headers(request).items()
            if k not in static and k not in ("x-api-key", "host", "content-length")
        }

    async def run(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        from copilotkit_provider_langgraph.translate import RunTranslator

        graph = await self._deployed_graph()
        thread = platform_thread_id(request.thread_id)
        headers = self._http_headers(request)
        yield RunStartedEvent(thread_id=request.thread_id, run_id=request.run_id)

        before = await self._call("read the thread", self._state(thread, headers))
        if before is None:
            await self._call(
                "create the thread",
                self.client.threads.create(
                    thread_id=thread,
                    if_exists="do_nothing",
                    headers=headers or None,
                    metadata={
                        "copilotkit_thread_id": request.thread_id,
                        "copilotkit_agent": request.agent,
                    },
                ),
            )
        values = _values(before)
        plan = self._plan(graph, request, before)
        translator = RunTranslator(
            graph.node_names, graph.public_state, _translator_state({**values, **plan.state})
        )
        node = _requested_node(request)
        if node:
            for out in translator.resume_at(node, graph.public_state(values)):
                yield out
        exited = False
        if plan.mode == "regenerate":
            await self._fork_point(thread, headers, plan)
        if plan.mode != "replay":
            async for out in self._stream(graph, request, thread, headers, plan, translator):
                yield out
            exited = translator.exited
        after = await self._call("read the thread", self._state(thread, headers))
        for out in self._finish(graph, request, after, exited=exited):
            yield out

    async def _stream(
        self,
        graph: _Graph,
        request: RunRequest,
        thread: str,
        headers: dict[str, str],
        plan: _Plan,
        translator: Any,
    ) -> AsyncIterator[BaseEvent]:
        stream = self.client.runs.stream(
            thread,
            graph.assistant_id,
            input=plan.input,
            command=plan.command,
            stream_mode=["events", "values"],
            config=self.run_config(request),
            checkpoint_id=plan.checkpoint_id,
            metadata={"copilotkit_run_id": request.run_id},
            on_disconnect="cancel",
            multitask_strategy=self.options.multitask_strategy,
            headers=headers or None,
        )
        run_id: str | None = None
        completed = False
        try:
            try:
                async for part in stream:
                    kind, data = part.event, part.data
                    if kind == "metadata" and isinstance(data, dict):
                        run_id = data.get("run_id") or run_id
                    elif kind == "events" and isinstance(data, dict):
                        for out in translator.feed(_event(data)):
                            yield out
                    elif kind == "values" and isinstance(data, dict):
                        # The state after a step: the root ``on_chain_stream`` of a local run.
                        chunk = _translator_state(data)
                        event = {
                            "event": "on_chain_stream",
                            "run_id": translator.root_run_id,
                            "name": "LangGraph",
                            "data": {"chunk": chunk},
                        }
                        for out in translator.feed(event):
                            yield out
                    elif kind == "error":
                        raise PlatformError(
                            f"{self.where}: the run failed on the deployment: {_error_text(data)}"
                        )
            except (httpx.HTTPError, APIStatusError) as exc:
                raise self._failure("stream the run", exc) from None
            completed = True
            for out in translator.close():
                yield out
        finally:
            if not completed and run_id is not None:
                await self._cancel(thread, run_id, headers)
            with contextlib.suppress(Exception):
                await stream.aclose()

    async def _cancel(self, thread: str, run_id: str, headers: dict[str, str]) -> None:
        """Cancel the run on the deployment (a stop, a client gone, a failure here)."""
        try:
            await asyncio.wait_for(
                asyncio.shield(self.client.runs.cancel(thread, run_id, headers=headers or None)),
                self.options.cancel_timeout,
            )
            log.info(
                "%s: cancelled run %s of thread %s on the deployment", self.where, run_id, thread
            )
        except (NotFoundError, ConflictError):
            pass  # it had ended already (a disconnected stream cancels it too)
        except (TimeoutError, httpx.HTTPError, APIStatusError) as exc:
            log.warning(
                "%s: could not cancel run %s on the deployment (%s); it is cancelled "
                "when its stream closes",
                self.where,
                run_id,
                type(exc).__name__,
            )

    def _plan(self, graph: _Graph, request: RunRequest, before: dict[str, Any] | None) -> _Plan:
        from copilotkit_provider_langgraph.messages import agui_to_langchain

        values = _values(before)
        known = {m.get("id") for m in values.get("messages") or [] if isinstance(m, dict)}
        incoming = agui_to_langchain(request.messages)
        if incoming and incoming[0].type == "system":
            incoming = incoming[1:]
        new_messages = [m.model_dump() for m in incoming if m.id not in known]

        # Keys the client echoes unchanged are left out (a reducer would apply them twice).
        current = graph.public_state(values)
        state = {
            k: v
            for k, v in request.state.items()
            if k != "messages" and not (k in current and current[k] == v)
        }
        state.update(_frontend_keys(request))
        if graph.input_keys is not None:
            state = {k: v for k, v in state.items() if k in graph.input_keys}
        graph_input: dict[str, Any] = dict(state)
        if graph.has_messages:
            graph_input["messages"] = new_messages

        pending = _interrupts(before)
        if not pending and graph.has_messages:
            again = _regenerated(incoming, values.get("messages") or [])
            if again is not None:
                return _Plan(
                    "regenerate",
                    input={**graph_input, "messages": [again.model_dump()]},
                    state=state,
                    message_id=again.id,
                )
        if pending:
            answer = _resume_value(request, pending)
            if answer is not _NO_ANSWER:
                return _Plan("resume", command={"resume": answer})
            if not any(e.status == "cancelled" for e in request.resume):
                if new_messages:
                    return _Plan("resume", command={"resume": new_messages})
                return _Plan("replay")  # nothing answers it: show it again
        return _Plan("start", input=graph_input, state=state)

    async def _fork_point(self, thread: str, headers: dict[str, str], plan: _Plan) -> None:
        """Regenerate: the checkpoint before ``plan.message_id`` first appeared in the thread,
        where the run starts again (a new branch of the thread's history; the old one stays in
        the history). The history is read newest first, a page at a time, until the message is
        gone. When the message is not in the history, it is answered on top of the thread as
        it is (no fork, no new messages)."""
        seen = False
        before: Any = None
        while True:
            page = await self._call(
                "read the thread's history",
                self.client.threads.get_history(
                    thread, limit=HISTORY_PAGE, before=before, headers=headers or None
                ),
            )
            for snapshot in page:
                held = {
                    m.get("id")
                    for m in _values(snapshot).get("messages") or []
                    if isinstance(m, dict)
                }
                if plan.message_id in held:
                    seen = True
                elif seen:
                    plan.checkpoint_id = (snapshot.get("checkpoint") or {}).get("checkpoint_id")
                    if plan.checkpoint_id:
                        log.info(
                            "%s: regenerating from checkpoint %s of thread %s",
                            self.where,
                            plan.checkpoint_id,
                            thread,
                        )
                        return
            if len(page) < HISTORY_PAGE:
                break
            before = page[-1].get("checkpoint")
        if seen:  # it was there from the first checkpoint on: fork before everything
            log.info("%s: no checkpoint before the regenerated message", self.where)
        plan.input = {**plan.state, "messages": []}
        plan.checkpoint_id = None

    def _finish(
        self, graph: _Graph, request: RunRequest, state: dict[str, Any] | None, *, exited: bool
    ) -> list[BaseEvent]:
        from copilotkit_provider_langgraph.translate import agent_state

        values = _values(state)
        out: list[BaseEvent] = []
        if graph.has_messages:
            out.append(
                MessagesSnapshotEvent.model_validate(
                    {"messages": _agui_messages(values.get("messages"))}
                )
            )
        out.append(agent_state(_node_of(state), active=False, running=not exited))
        out.append(StateSnapshotEvent(snapshot=graph.public_state(values)))
        interrupts: list[Interrupt] = []
        for task in (state or {}).get("tasks") or ():
            for pending in task.get("interrupts") or ():
                value, iid = pending.get("value"), str(pending.get("id") or "")
                if isinstance(value, dict) and COPILOTKIT_INTERRUPT_VALUE in value:
                    question = value[COPILOTKIT_INTERRUPT_VALUE]
                    text = question if isinstance(question, str) else json.dumps(question)
                    messages = _agui_messages(value.get(COPILOTKIT_INTERRUPT_MESSAGES))
                    out.append(
                        CustomEvent(
                            name=COPILOTKIT_INTERRUPT_EVENT,
                            value={"value": text, "messages": messages},
                        )
                    )
                    interrupts.append(
                        Interrupt(
                            id=iid,
                            reason="copilotkit_interrupt",
                            message=text,
                            metadata={"node": task.get("name")},
                        )
                    )
                else:
                    out.append(CustomEvent(name=INTERRUPT_EVENT, value=value))
                    interrupts.append(
                        Interrupt(
                            id=iid,
                            reason="langgraph_interrupt",
                            message=value if isinstance(value, str) else None,
                            metadata={"node": task.get("name"), "value": value},
                        )
                    )
        outcome = RunFinishedInterruptOutcome(interrupts=interrupts) if interrupts else None
        out.append(
            RunFinishedEvent(thread_id=request.thread_id, run_id=request.run_id, outcome=outcome)
        )
        return out


def _regenerated(incoming: list[Any], held: list[Any]) -> Any:
    """The user message (LangChain) to answer again, when the request asks for that:

    * the client edited a user message the thread holds (same id, other text): answer it as
      edited, forking before it (what ag-ui-langgraph does; react-core >= 1.50 edits);
    * the client sent fewer messages than the thread holds and its last one is a user message
      the thread holds with replies after it: "regenerate" (the SDK's heuristic; react-core
      1.10.6 sends the history up to the message to answer again)."""
    by_id = {m.get("id"): (i, m) for i, m in enumerate(held) if isinstance(m, dict) and m.get("id")}
    for message in incoming:
        if (
            message.type == "human"
            and message.id in by_id
            and by_id[message.id][1].get("content") != message.content
        ):
            return message
    if incoming and len(incoming) < len(held):
        last = incoming[-1]
        if last.type == "human" and last.id in by_id and by_id[last.id][0] < len(held) - 1:
            return last
    return None


def _event(data: dict[str, Any]) -> dict[str, Any]:
    """A streamed ``astream_events`` event with its LangChain payloads readable by attribute."""
    payload = data.get("data")
    if isinstance(payload, dict) and data.get("event") in (
        "on_chat_model_stream",
        "on_chat_model_end",
    ):
        payload = {k: _fields(v) for k, v in payload.items()}
        return {**data, "data": payload}
    return data


def _translator_state(values: dict[str, Any]) -> dict[str, Any]:
    messages = values.get("messages")
    if isinstance(messages, list):
        return {**values, "messages": [_fields(m) for m in messages]}
    return values


def _values(state: Mapping[str, Any] | None) -> dict[str, Any]:
    values = (state or {}).get("values")
    return values if isinstance(values, dict) else {}


def _agui_messages(messages: Any) -> list[dict[str, Any]]:
    from langchain_core.messages import convert_to_messages

    from copilotkit_provider_langgraph.messages import langchain_to_agui

    if not isinstance(messages, list):
        return []
    plain = [m for m in messages if isinstance(m, dict) and (m.get("type") or m.get("role"))]
    try:
        return langchain_to_agui(convert_to_messages(plain))
    except (ValueError, TypeError, NotImplementedError):
        log.warning(
            "the deployment's thread holds messages that are not LangChain messages; "
            "they are left out of the snapshot",
            exc_info=True,
        )
        return []


def _interrupts(state: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [
        i
        for task in (state or {}).get("tasks") or ()
        for i in task.get("interrupts") or ()
        if isinstance(i, dict)
    ]


def _node_of(state: Mapping[str, Any] | None) -> str:
    """``__end__`` for a finished graph, else the node it waits in."""
    for task in (state or {}).get("tasks") or ():
        if task.get("interrupts"):
            return str(task.get("name"))
    following = (state or {}).get("next") or []
    return str(following[0]) if following else END


def _resume_value(request: RunRequest, pending: list[dict[str, Any]]) -> Any:
    """The ``Command(resume=...)`` value the request carries for the pending interrupts: AG-UI
    ``resume`` entries, or the legacy ``forwardedProps.command.resume`` (GraphQL's meta
    events arrive as ``resume`` entries)."""
    answers = [(e.interrupt_id, e.payload) for e in request.resume if e.status == "resolved"]
    if not answers:
        command = request.forwarded_props.get("command")
        if isinstance(command, dict) and "resume" in command:
            answers = [("", command["resume"])]
    if not answers:
        return _NO_ANSWER
    ids = [str(p.get("id") or "") for p in pending]
    if len(pending) == 1:
        matching = [payload for iid, payload in answers if iid == ids[0]]
        return matching[0] if matching else answers[0][1]
    mapping = {iid: payload for iid, payload in answers if iid in ids}
    free = [i for i in ids if i not in mapping]
    for iid, payload in answers:
        if iid not in ids and free:
            mapping[free.pop(0)] = payload
    return mapping


def _requested_node(request: RunRequest) -> str | None:
    if request.node_name:
        return request.node_name
    props = request.forwarded_props
    node = props.get("node_name") or props.get("nodeName")
    return node if isinstance(node, str) and node else None


def _frontend_keys(request: RunRequest) -> dict[str, Any]:
    """The frontend's tools and readables where graphs look for them (the CopilotKit SDK's
    ``copilotkit`` key, ag-ui-langgraph's ``tools`` and ``ag-ui``); kept only when the
    graph's input schema declares the key."""

    def actions() -> list[dict[str, Any]]:
        return [
            {
                "name": t.name,
                "description": t.description or "",
                "parameters": t.parameters or {"type": "object", "properties": {}},
            }
            for t in request.tools
        ]

    def context() -> list[dict[str, Any]]:
        return [{"description": c.description, "value": c.value} for c in request.context]

    return {
        "copilotkit": {"actions": actions(), "context": context()},
        "tools": actions(),
        "ag-ui": {"tools": actions(), "context": context()},
    }


def _schema_keys(schema: Any) -> frozenset[str] | None:
    props = schema.get("properties") if isinstance(schema, dict) else None
    return frozenset(props) if isinstance(props, dict) else None


def _detail(exc: APIStatusError) -> str:
    try:
        body = exc.response.json()
    except Exception:
        return ""
    detail = body.get("detail") if isinstance(body, dict) else None
    return f"({detail})" if isinstance(detail, str) else ""


def _error_text(data: Any) -> str:
    if isinstance(data, dict):
        kind, message = data.get("error"), data.get("message")
        return ": ".join(str(p) for p in (kind, message) if p) or json.dumps(data)
    return str(data)
