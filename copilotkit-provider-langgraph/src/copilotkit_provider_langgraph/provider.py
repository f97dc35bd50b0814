"""``LangGraphProvider``: serves LangGraph graphs in-process, the CopilotKit SDK's way.

Per run (one ``RunRequest``):

1. Read the thread's checkpoint (``configurable.thread_id`` = the request's thread id).
2. Decide how the graph continues:

   * **resume**: the request answers a pending interrupt (``resume`` entries, or the legacy
     ``forwardedProps.command.resume``) → ``Command(resume=<payload>)``;
   * **resume with messages**: an interrupt is pending and the user wrote something new → the
     new LangChain messages as the resume value (what ``copilotkit_interrupt`` expects);
   * **continue**: the graph stopped before finishing (a breakpoint, a stopped run), the client
     names a node (``node_name``, not ``__end__``) and sends no new message → the client's state
     changes are written to the checkpoint and the graph runs on from where it stopped;
   * **start** (every normal turn): the input below, from ``START``.

   The input is the client's shared state (minus ``messages``), plus
   ``copilotkit = {actions, context}`` (frontend actions as ``{name, description, parameters}``
   and readables as ``{description, value}``), plus the request's messages the checkpoint does
   not hold yet (matched by id; a leading system message is dropped), filtered to the keys of
   the graph's input schema.
3. Stream ``astream_events(version="v2", stream_mode="values")`` through :class:`RunTranslator`,
   after, when the client names the node it last saw (``node_name``), state facts + ``STATE_SNAPSHOT``
   for that node (active) with the checkpoint's state: the SDK's first state sync of a turn.
4. Read the checkpoint again and finish: ``MESSAGES_SNAPSHOT``, state facts + ``STATE_SNAPSHOT``
   (node ``__end__``, or the interrupted node; ``running`` false after ``copilotkit_exit``), the
   interrupts as ``CUSTOM on_interrupt`` / ``copilotkit_interrupt``, ``RUN_FINISHED`` (with an
   interrupt outcome when the graph waits for an answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import fnmatch
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ag_ui.core import Interrupt, RunFinishedInterruptOutcome
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.errors import InvalidUpdateError
from langgraph.pregel import Pregel
from langgraph.types import Command, StateSnapshot

from copilotkit_runtime.errors import ConfigError
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
from copilotkit_runtime.providers import (
    AgentInfo,
    AgentProvider,
    ProviderContext,
    ProviderOptions,
    RunRequest,
    ThreadSnapshot,
)

from .checkpointers import Checkpointers, check_available
from .loading import GraphSpec, import_graph_object, read_langgraph_json, resolve_graph
from .messages import agui_to_langchain, langchain_to_agui, to_jsonable
from .options import LangGraphOptions
from .translate import RunTranslator, agent_state

log = logging.getLogger("copilotkit_provider_langgraph")

COPILOTKIT_INTERRUPT_VALUE = "__copilotkit_interrupt_value__"
COPILOTKIT_INTERRUPT_MESSAGES = "__copilotkit_messages__"
END = "__end__"


@dataclass
class ServedGraph:
    """One graph and what the provider needs to know about it."""

    spec: GraphSpec
    source: Any  # what the import path pointed at (a graph or a factory)
    graph: Pregel | None = None
    node_names: frozenset[str] = frozenset()
    input_keys: frozenset[str] | None = None
    output_keys: frozenset[str] | None = None
    has_messages: bool = True

    def public_state(self, values: Any) -> Any:
        """The state clients see: output-schema keys, without ``messages``, JSON-safe."""
        if not isinstance(values, dict):
            return to_jsonable(values)
        keys = self.output_keys
        return {k: to_jsonable(v) for k, v in values.items()
                if k != "messages" and (keys is None or k in keys)}


class LangGraphProvider(AgentProvider):
    """Serves one graph (``graph = "..."``) or every graph of a ``langgraph.json``."""

    Options = LangGraphOptions

    def __init__(self, name: str, options: ProviderOptions, context: ProviderContext,
                 description: str = "") -> None:
        super().__init__(name, options, context, description)
        assert isinstance(options, LangGraphOptions)
        opts = options
        self.opts = opts
        where = f"agents.{name}"
        if opts.graph:
            specs = [GraphSpec(agent=name, path=opts.graph, base_dir=context.config_dir,
                               description=description, where=where)]
        else:
            file = Path(opts.langgraph_json or "").expanduser()
            if not file.is_absolute():
                file = context.config_dir / file
            specs = read_langgraph_json(file, where=where, only=opts.graphs,
                                        descriptions=opts.descriptions)
        check_available(opts.checkpointer, where)
        # Import now, so a bad import path fails `build()` (and `copilotkit-runtime check`).
        self.graphs: dict[str, ServedGraph] = {
            spec.agent: ServedGraph(spec, import_graph_object(spec)) for spec in specs
        }
        self._checkpointers = Checkpointers()
        self._started = False
        self._start_lock: asyncio.Lock | None = None

    # -- agents --------------------------------------------------------------------------------

    def agents(self) -> Sequence[AgentInfo]:
        capabilities = {"streaming": True, "state": True, "frontend_actions": True,
                        "interrupts": True, "persistence": self.opts.checkpointer.type}
        return [AgentInfo(name=agent, description=served.spec.description or self.description,
                          provider=self.type_name or "langgraph", capabilities=capabilities)
                for agent, served in self.graphs.items()]

    # -- lifecycle -----------------------------------------------------------------------------

    async def startup(self) -> None:
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._started:
                return
            try:
                for served in self.graphs.values():
                    await self._prepare(served)
            except BaseException:
                await self._checkpointers.close()
                raise
            self._started = True

    async def shutdown(self) -> None:
        self._started = False
        for served in self.graphs.values():
            served.graph = None
        await self._checkpointers.close()

    async def _prepare(self, served: ServedGraph) -> None:
        spec = served.spec
        graph = await resolve_graph(served.source, spec)
        wanted = self.opts.checkpointer
        own = graph.checkpointer if isinstance(graph.checkpointer, BaseCheckpointSaver) else None
        if wanted.type != "auto" or own is None:
            saver = await self._checkpointers.get(
                wanted, spec.agent, config_dir=self.context.config_dir,
                data_dir=self.context.data_dir, where=spec.where)
            graph = graph.copy(update={"checkpointer": saver})
        served.graph = graph
        served.node_names = frozenset(graph.nodes)
        served.input_keys = _schema_keys(graph, "input")
        output = graph.output_channels
        served.output_keys = frozenset(output) if isinstance(output, list) else None
        served.has_messages = "messages" in graph.channels

    async def _served(self, agent: str) -> ServedGraph:
        served = self.graphs.get(agent)
        if served is None:
            raise ConfigError(f"agents.{self.name}: this provider does not serve agent '{agent}' "
                              f"(it serves: {', '.join(self.graphs)}).")
        if not self._started:
            await self.startup()
        return served

    # -- threads -------------------------------------------------------------------------------

    async def load_thread(self, agent: str, thread_id: str) -> ThreadSnapshot | None:
        served = await self._served(agent)
        assert served.graph is not None
        snapshot = await served.graph.aget_state(RunnableConfig(configurable={"thread_id": thread_id}))
        values = snapshot.values if isinstance(snapshot.values, dict) else {}
        if snapshot.created_at is None or not values:
            return ThreadSnapshot(thread_id=thread_id, agent=agent, exists=False)
        return ThreadSnapshot(
            thread_id=thread_id, agent=agent, exists=True,
            state=served.public_state(values),
            messages=langchain_to_agui(values.get("messages") or []),
            node_name=_node_of(snapshot),
            run_id=(snapshot.metadata or {}).get("run_id"),
        )

    # -- running -------------------------------------------------------------------------------

    def run_config(self, request: RunRequest) -> RunnableConfig:
        """The RunnableConfig of a run: the agent's ``config`` option, the client's config
        (``useCoAgent({config})``) over it, and the thread id."""
        config: dict[str, Any] = copy.deepcopy(self.opts.config)
        extra = request.config if isinstance(request.config, dict) else {}
        for key in ("recursion_limit", "tags", "metadata", "max_concurrency"):
            if key in extra:
                config[key] = extra[key]
        configurable = dict(config.get("configurable") or {})
        configurable.update(extra.get("configurable") or {})
        # Who asks: for agents that call APIs on the user's behalf. Set by the runtime, so a
        # client's config cannot claim another identity.
        configurable["principal"] = request.principal
        configurable["properties"] = dict(request.properties)
        configurable["headers"] = self._forwarded_headers(request.headers)
        configurable["thread_id"] = request.thread_id
        config["configurable"] = configurable
        return config  # type: ignore[return-value]

    def _forwarded_headers(self, headers: dict[str, str]) -> dict[str, str]:
        patterns = [p.lower() for p in self.opts.forward_headers]
        return {name.lower(): value for name, value in headers.items()
                if any(fnmatch.fnmatchcase(name.lower(), p) for p in patterns)}

    async def run(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        served = await self._served(request.agent)
        graph = served.graph
        assert graph is not None
        config = self.run_config(request)
        yield RunStartedEvent(thread_id=request.thread_id, run_id=request.run_id)

        before = await graph.aget_state(config)
        plan = self._plan(served, request, before)
        translator = RunTranslator(served.node_names, served.public_state,
                                   {**_values(before), **plan.state})
        node = requested_node(request)
        if node:
            # The client names the node it last saw (the SDK's first state sync of a turn).
            for out in translator.resume_at(node, served.public_state(_values(before))):
                yield out
        stream_config = config
        if plan.mode == "regenerate":
            stream_config = await self._fork(served, config, plan)
        if plan.mode != "replay":
            if plan.mode == "continue" and plan.update:
                await _update_state(graph, config, plan.update, plan.as_node)
            stream: Any = graph.astream_events(plan.input, stream_config, version="v2",
                                               stream_mode="values")
            async with contextlib.aclosing(stream):
                async for event in stream:
                    for out in translator.feed(event):
                        yield out
            for out in translator.close():
                yield out

        after = await graph.aget_state(config)
        for out in self._finish(served, request, after, exited=translator.exited):
            yield out

    def _plan(self, served: ServedGraph, request: RunRequest, before: StateSnapshot) -> _Plan:
        values = _values(before)
        known = {m.id for m in values.get("messages") or [] if isinstance(m, BaseMessage) and m.id}
        incoming = agui_to_langchain(request.messages)
        if incoming and isinstance(incoming[0], SystemMessage):
            incoming = incoming[1:]
        new_messages = [m for m in incoming if m.id not in known]

        # The client echoes the state it last saw. Keys it did not change are left out of the
        # input: writing them again would be a no-op for plain keys but would apply a reducer
        # (e.g. append to a list) a second time.
        current = served.public_state(values)
        state = {k: v for k, v in request.state.items()
                 if k != "messages" and not (k in current and current[k] == v)}
        state.update(_frontend_keys(request))
        if served.input_keys is not None:
            state = {k: v for k, v in state.items() if k in served.input_keys}
        graph_input: dict[str, Any] = {**state}
        if served.has_messages:
            graph_input["messages"] = new_messages

        pending = [i for task in before.tasks for i in task.interrupts]
        if not pending and served.has_messages:
            again = _regenerated(incoming, values.get("messages") or [])
            if again is not None:
                return _Plan("regenerate", {**state, "messages": [again]}, state,
                             message=again)
        if pending:
            answer = _resume_value(request, pending)
            if answer is not _NO_ANSWER:
                return _Plan("resume", Command(resume=answer), {})
            if not any(e.status == "cancelled" for e in request.resume):
                if new_messages:
                    return _Plan("resume", Command(resume=new_messages), {})
                # Nothing answers the interrupt: show it again.
                return _Plan("replay", None, {})
        # Continue: the graph stopped before finishing (a breakpoint, a stopped run), the client
        # names a node, and sends nothing new but results of frontend actions (the tool call
        # the graph stopped on, answered). As the SDK does, the client's state and those results
        # are written as the node that stopped (``aupdate_state(as_node=...)``) and the graph runs
        # on with no input. A new user message always starts a new turn from START, as does a
        # checkpoint whose last step failed.
        node = requested_node(request)
        failed = any(task.error for task in before.tasks)
        only_results = all(isinstance(m, ToolMessage) for m in new_messages)
        if (node and node != END and node in served.node_names and before.next and not pending
                and not failed and only_results):
            update = dict(state)
            if new_messages and served.has_messages:
                update["messages"] = new_messages
            # The client names the node that stopped (the SDK's nodeName) or the one that would
            # run next (ours): for the latter, LangGraph works out the writer itself.
            as_node = None if node in before.next else node
            return _Plan("continue", None, state, update=update, as_node=as_node)
        return _Plan("start", graph_input, state)

    async def _fork(self, served: ServedGraph, config: RunnableConfig, plan: _Plan
                    ) -> RunnableConfig:
        """Regenerate: fork the thread at the checkpoint before ``plan.message`` first
        appeared (as the SDK does), so the run answers it again from there."""
        graph = served.graph
        assert graph is not None and plan.message is not None
        history = [snapshot async for snapshot in graph.aget_state_history(config)]
        history.reverse()  # oldest first
        target = plan.message.id
        for index, snapshot in enumerate(history):
            if index and any(getattr(m, "id", None) == target
                             for m in _values(snapshot).get("messages") or []):
                base = history[index - 1]
                break
        else:  # not found: answer it on top of the thread as it is
            plan.input = {**plan.state, "messages": []}
            return config
        fork = await graph.aupdate_state(base.config, _values(base),
                                         as_node=base.next[0] if base.next else "__start__")
        return {**config, "configurable": {**config["configurable"], **fork["configurable"]}}

    def _finish(self, served: ServedGraph, request: RunRequest, snapshot: StateSnapshot, *,
                exited: bool) -> list[BaseEvent]:
        values = _values(snapshot)
        out: list[BaseEvent] = []
        if served.has_messages:
            out.append(MessagesSnapshotEvent.model_validate(
                {"messages": langchain_to_agui(values.get("messages") or [])}))
        out.append(agent_state(_node_of(snapshot), active=False, running=not exited))
        out.append(StateSnapshotEvent(snapshot=served.public_state(values)))
        interrupts: list[Interrupt] = []
        for task in snapshot.tasks:
            for pending in task.interrupts:
                value = pending.value
                if isinstance(value, dict) and COPILOTKIT_INTERRUPT_VALUE in value:
                    question = value[COPILOTKIT_INTERRUPT_VALUE]
                    text = question if isinstance(question, str) else json.dumps(to_jsonable(question))
                    messages = langchain_to_agui(value.get(COPILOTKIT_INTERRUPT_MESSAGES) or [])
                    out.append(CustomEvent(name=COPILOTKIT_INTERRUPT_EVENT,
                                           value={"value": text, "messages": messages}))
                    interrupts.append(Interrupt(id=pending.id, reason="copilotkit_interrupt",
                                                message=text, metadata={"node": task.name}))
                else:
                    jsonable = to_jsonable(value)
                    out.append(CustomEvent(name=INTERRUPT_EVENT, value=jsonable))
                    interrupts.append(Interrupt(
                        id=pending.id, reason="langgraph_interrupt",
                        message=jsonable if isinstance(jsonable, str) else None,
                        metadata={"node": task.name, "value": jsonable}))
        outcome = RunFinishedInterruptOutcome(interrupts=interrupts) if interrupts else None
        out.append(RunFinishedEvent(thread_id=request.thread_id, run_id=request.run_id,
                                    outcome=outcome))
        return out


@dataclass
class _Plan:
    mode: str  # start | continue | resume | replay
    input: Any
    state: dict[str, Any]
    update: dict[str, Any] | None = None
    as_node: str | None = None
    message: BaseMessage | None = None  # regenerate: the user message to answer again


_NO_ANSWER = object()


def _resume_value(request: RunRequest, pending: list[Any]) -> Any:
    """The ``Command(resume=...)`` value the request carries for the pending interrupts."""
    answers = [(e.interrupt_id, e.payload) for e in request.resume if e.status == "resolved"]
    if not answers:
        command = request.forwarded_props.get("command")
        if isinstance(command, dict) and "resume" in command:
            answers = [("", command["resume"])]
    if not answers:
        return _NO_ANSWER
    if len(pending) == 1:
        matching = [payload for iid, payload in answers if iid == pending[0].id]
        return matching[0] if matching else answers[0][1]
    # Several interrupts wait: answer each by id, unmatched answers in order.
    ids = [p.id for p in pending]
    mapping = {iid: payload for iid, payload in answers if iid in ids}
    free = [i for i in ids if i not in mapping]
    for iid, payload in answers:
        if iid not in ids and free:
            mapping[free.pop(0)] = payload
    return mapping


async def _update_state(graph: Pregel, config: RunnableConfig, update: dict[str, Any],
                        as_node: str | None = None) -> None:
    """Write the client's state changes (and frontend-action results) into the checkpoint
    before continuing."""
    try:
        await graph.aupdate_state(config, update, as_node=as_node)
    except InvalidUpdateError as exc:
        if "messages" in update:
            # Dropping them would lose the user's answer: fail the run instead.
            raise RuntimeError(f"could not add the frontend action results to thread "
                               f"{config['configurable']['thread_id']} before continuing "
                               f"(as node {as_node or 'inferred'}): {exc}") from exc
        log.warning("could not apply the client's state to thread %s before continuing; "
                    "continuing without it", config["configurable"]["thread_id"], exc_info=True)


def _values(snapshot: StateSnapshot) -> dict[str, Any]:
    return snapshot.values if isinstance(snapshot.values, dict) else {}


def _node_of(snapshot: StateSnapshot) -> str:
    """``__end__`` for a finished graph, else the node it waits in."""
    for task in snapshot.tasks:
        if task.interrupts:
            return task.name
    return snapshot.next[0] if snapshot.next else END


def _schema_keys(graph: Pregel, which: str) -> frozenset[str] | None:
    try:
        schema = graph.get_input_jsonschema() if which == "input" else graph.get_output_jsonschema()
    except Exception:
        return None
    props = schema.get("properties") if isinstance(schema, dict) else None
    return frozenset(props) if isinstance(props, dict) else None


def requested_node(request: RunRequest) -> str | None:
    """The node the client last saw: GraphQL's ``agentSession.nodeName``, or AG-UI's
    ``forwardedProps.node_name`` (what ag-ui-langgraph reads)."""
    if request.node_name:
        return request.node_name
    props = request.forwarded_props
    node = props.get("node_name") or props.get("nodeName")
    return node if isinstance(node, str) and node else None


def _regenerated(incoming: list[BaseMessage], held: list[Any]) -> BaseMessage | None:
    """The user message to answer again, when the request asks for that.

    * The client edited a user message the thread holds (same id, other text): answer it as
      edited, forking before it (what ag-ui-langgraph does).
    * The client sent fewer messages than the thread holds and its last one is a user message
      the thread holds with replies after it: "regenerate" (the SDK's heuristic).
    """
    by_id = {m.id: (i, m) for i, m in enumerate(held) if isinstance(m, BaseMessage) and m.id}
    for message in incoming:
        if (isinstance(message, HumanMessage) and message.id in by_id
                and by_id[message.id][1].content != message.content):
            return message
    if incoming and len(incoming) < len(held):
        last = incoming[-1]
        if isinstance(last, HumanMessage) and last.id in by_id and by_id[last.id][0] < len(held) - 1:
            return last
    return None


def _frontend_keys(request: RunRequest) -> dict[str, Any]:
    """Where graphs look for the frontend's tools and readables.

    ``copilotkit = {actions, context}`` is the CopilotKit SDK's convention; ``tools`` and
    ``ag-ui = {tools, context}`` are ``ag-ui-langgraph``'s (the AG-UI dojo agents bind
    ``state["tools"]``). Each key reaches the graph only if its input schema declares it.
    """
    def actions() -> list[dict[str, Any]]:
        return [{"name": t.name, "description": t.description or "",
                 "parameters": t.parameters or {"type": "object", "properties": {}}}
                for t in request.tools]

    def context() -> list[dict[str, Any]]:
        return [{"description": c.description, "value": c.value} for c in request.context]

    # Separate lists, so a node that edits one of them in place does not edit the others.
    return {
        "copilotkit": {"actions": actions(), "context": context()},
        "tools": actions(),
        "ag-ui": {"tools": actions(), "context": context()},
    }
