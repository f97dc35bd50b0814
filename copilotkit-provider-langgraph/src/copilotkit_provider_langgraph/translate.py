"""LangGraph ``astream_events`` (v2) → AG-UI events, with the CopilotKit SDK's conventions.

One :class:`RunTranslator` follows one graph run. Per LangGraph event:

=====================================================  =============================================
LangGraph event                                        AG-UI events
=====================================================  =============================================
``on_chain_start`` of a top-level node                 ``STEP_STARTED``, state facts, ``STATE_SNAPSHOT``
                                                       (snapshots only when the state changed)
``on_chain_end`` of a top-level node                   ``STEP_FINISHED``
root ``on_chain_stream`` (``stream_mode="values"``)    ``TOOL_CALL_RESULT`` for new results of streamed
                                                       tool calls; after a node ended: state facts
                                                       (that node, ``active: false``) +
                                                       ``STATE_SNAPSHOT`` (if changed); else
                                                       a ``STATE_SNAPSHOT`` only if changed
``on_chat_model_stream``                               ``TEXT_MESSAGE_*`` / ``TOOL_CALL_*`` deltas, as
                                                       they arrive (``copilotkit:emit-messages`` /
                                                       ``copilotkit:emit-tool-calls`` respected),
                                                       predictive state for
                                                       ``copilotkit:emit-intermediate-state``
``on_chat_model_end``                                  closes them (or sends the whole message when
                                                       the model did not stream)
``copilotkit_manually_emit_intermediate_state``        state facts + ``STATE_SNAPSHOT`` of that dict
``copilotkit_manually_emit_message``                   a whole ``TEXT_MESSAGE_*``
``copilotkit_manually_emit_tool_call``                 a whole ``TOOL_CALL_*`` (id = parent id)
``copilotkit_exit``                                    ``CUSTOM copilotkit_exit``; last state not running
any other custom event                                 ``CUSTOM`` with the same name and data
=====================================================  =============================================

"State facts" is the ``CUSTOM copilotkit_agent_state`` event ``{"nodeName", "active",
"running"}`` sent right before each ``STATE_SNAPSHOT``: the GraphQL layer builds each
``AgentStateMessageOutput`` from the pair.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from copilotkit_runtime.events import (
    AGENT_STATE_EVENT,
    EXIT_EVENT,
    BaseEvent,
    CustomEvent,
    StateSnapshotEvent,
    StepFinishedEvent,
    StepStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallArgsEvent,
    ToolCallEndEvent,
    ToolCallResultEvent,
    ToolCallStartEvent,
    new_id,
    parse_partial_json,
)

from .messages import content_text, to_jsonable

EMIT_MESSAGES = "copilotkit:emit-messages"
EMIT_TOOL_CALLS = "copilotkit:emit-tool-calls"
EMIT_INTERMEDIATE_STATE = "copilotkit:emit-intermediate-state"
#: ag-ui-langgraph's spelling of predictive state: ``config["metadata"]["predict_state"]``.
PREDICT_STATE = "predict_state"
PREDICT_STATE_EVENT = "PredictState"

EMIT_STATE_EVENTS = ("copilotkit_manually_emit_intermediate_state", "manually_emit_state")
EMIT_MESSAGE_EVENTS = ("copilotkit_manually_emit_message", "manually_emit_message")
EMIT_TOOL_CALL_EVENTS = ("copilotkit_manually_emit_tool_call", "manually_emit_tool_call")
EXIT_EVENTS = ("copilotkit_exit", "exit")


_UNSET = object()


def agent_state(node: str | None, *, active: bool, running: bool = True) -> CustomEvent:
    return CustomEvent(name=AGENT_STATE_EVENT,
                       value={"nodeName": node or "__start__", "active": active, "running": running})


def _subgraph_node(event: dict[str, Any]) -> tuple[str, str] | None:
    """``(node, top-level node)`` when ``event`` starts a node of a subgraph running inside a
    node (its checkpoint namespace has the parent's segment before its own)."""
    name = event.get("name")
    metadata = event.get("metadata") or {}
    namespace = metadata.get("langgraph_checkpoint_ns") or ""
    if not name or metadata.get("langgraph_node") != name or "|" not in namespace:
        return None
    segments = [segment.split(":", 1)[0] for segment in namespace.split("|")]
    return (name, segments[0]) if segments[-1] == name else None


def _entries(setting: Any) -> list[dict[str, Any]]:
    """The ``{state_key, tool, tool_argument}`` entries of a predictive-state setting."""
    return [p for p in setting if isinstance(p, dict)] if isinstance(setting, list) else []


def _tool_allowed(setting: Any, name: str) -> bool:
    if setting is None or setting is True:
        return True
    if setting is False:
        return False
    if isinstance(setting, str):
        return name == setting
    if isinstance(setting, (list, tuple, set)):
        return name in setting
    return bool(setting)


@dataclass
class _ToolCall:
    id: str
    name: str
    emitted: bool
    args: list[str] = field(default_factory=list)
    open: bool = True


@dataclass
class _ModelRun:
    """One chat model call being streamed."""

    message_id: str | None
    emit_messages: bool
    emit_tool_calls: Any
    predict: list[dict[str, Any]]
    text_id: str | None = None  # the open text message, if any
    text_count: int = 0
    calls: dict[Any, _ToolCall] = field(default_factory=dict)
    last_call_key: Any = None
    streamed: bool = False
    predicted: dict[str, Any] = field(default_factory=dict)
    announce: list[dict[str, Any]] = field(default_factory=list)  # ``predict_state`` entries


class RunTranslator:
    """Turns the events of one ``astream_events(version="v2")`` run into AG-UI events."""

    def __init__(self, node_names: Iterable[str], public_state: Callable[[dict[str, Any]], Any],
                 initial_state: dict[str, Any]) -> None:
        self.node_names = set(node_names)
        self.public_state = public_state
        self.state: dict[str, Any] = dict(initial_state)
        self.root_run_id: str | None = None
        self.nodes: dict[str, str] = {}  # run id -> node name, for top-level nodes running now
        # run id -> (node name, the top-level node running its subgraph, sent as a step)
        self.subgraph_nodes: dict[str, tuple[str, str, bool]] = {}
        self.steps: dict[str, int] = {}  # node name -> tasks of it running (Send fans out)
        self.node: str | None = None  # the node the last state facts were about
        self.finished: str | None = None  # a node that ended since the last values chunk
        self.last_snapshot: Any = _UNSET
        self.models: dict[str, _ModelRun] = {}
        self.exited = False
        self.streamed_calls: set[str] = set()  # tool call ids sent as TOOL_CALL_START
        # Predicted values not yet in the graph's state: the node that made the tool call ends
        # before the tool (a later node) writes them, and its snapshot would take them back.
        self.predicted: dict[str, Any] = {}
        self.prediction_held = False
        self.results_sent: set[str] = {getattr(m, "id", None) or ""
                                       for m in initial_state.get("messages") or []}

    # -- entry point ---------------------------------------------------------------------------

    def feed(self, event: dict[str, Any]) -> list[BaseEvent]:
        kind = event.get("event")
        if kind == "on_chat_model_stream":
            return self._model_stream(event)
        if kind == "on_chain_start":
            return self._chain_start(event)
        if kind == "on_chain_end":
            return self._chain_end(event)
        if kind == "on_chain_stream":
            return self._chain_stream(event)
        if kind == "on_chat_model_start":
            self._model_start(event)
            return []
        if kind == "on_chat_model_end":
            return self._model_end(event)
        if kind == "on_custom_event":
            return self._custom(event)
        return []

    def close(self) -> list[BaseEvent]:
        """End whatever is still open: messages of models that sent no end event, and the
        steps of nodes that did not finish (an interrupted node never does)."""
        out: list[BaseEvent] = []
        for run in list(self.models.values()):
            out.extend(self._close_model(run))
        self.models.clear()
        # Innermost first: a subgraph's node ends before the node running the subgraph.
        out.extend(StepFinishedEvent(step_name=name)
                   for name, _, shown in reversed(list(self.subgraph_nodes.values())) if shown)
        out.extend(StepFinishedEvent(step_name=name) for name in self.steps)
        self.steps.clear()
        self.nodes.clear()
        self.subgraph_nodes.clear()
        return out

    # -- nodes and state -----------------------------------------------------------------------

    def _is_top_level_node(self, event: dict[str, Any]) -> bool:
        name = event.get("name")
        if name not in self.node_names:
            return False
        if (event.get("metadata") or {}).get("langgraph_node") != name:
            return False
        parents = event.get("parent_ids") or []
        return len(parents) == 1 and (self.root_run_id is None or parents[0] == self.root_run_id)

    def _snapshot(self, node: str | None, *, active: bool, state: Any = None,
                  if_changed: bool = False) -> list[BaseEvent]:
        """State facts + ``STATE_SNAPSHOT``. With ``if_changed``, only the facts when the state
        is the one last sent (a node that wrote nothing, a step boundary)."""
        self.node = node
        if state is None:
            snapshot = self.public_state(self.state)
            if self.predicted and isinstance(snapshot, dict):
                snapshot = {**snapshot, **self.predicted}
        else:
            snapshot = state
        facts = agent_state(node, active=active)
        if if_changed and snapshot == self.last_snapshot:
            return [facts]
        self.last_snapshot = snapshot
        return [facts, StateSnapshotEvent(snapshot=snapshot)]

    def resume_at(self, node: str, state: Any) -> list[BaseEvent]:
        """The run's first state sync when the client names the node it last saw (``__end__``
        after a finished turn, the interrupted node when answering an interrupt)."""
        return self._snapshot(node, active=True, state=state)

    def _chain_start(self, event: dict[str, Any]) -> list[BaseEvent]:
        if not event.get("parent_ids"):
            if self.root_run_id is None:
                self.root_run_id = event.get("run_id")
            return []
        if not self._is_top_level_node(event):
            sub = _subgraph_node(event)
            if sub is None:
                return []
            # A step name is active once at a time (a subgraph node may share its name with
            # the parent's node, or run twice in parallel): only the first one is a step.
            active = set(self.steps) | {name for name, _, shown in self.subgraph_nodes.values()
                                        if shown}
            shown = sub[0] not in active
            self.subgraph_nodes[event["run_id"]] = (*sub, shown)
            return [StepStartedEvent(step_name=sub[0])] if shown else []
        name = event["name"]
        self.nodes[event["run_id"]] = name
        running = self.steps.get(name, 0)
        self.steps[name] = running + 1
        started: list[BaseEvent] = [] if running else [StepStartedEvent(step_name=name)]
        return [*started, *self._snapshot(name, active=True, if_changed=True)]

    def _chain_end(self, event: dict[str, Any]) -> list[BaseEvent]:
        run_id = event.get("run_id")
        if run_id == self.root_run_id:
            output = (event.get("data") or {}).get("output")
            if isinstance(output, dict) and "__interrupt__" not in output:
                self.state = output
            return []
        sub = self.subgraph_nodes.pop(run_id, None) if run_id else None
        if sub is not None:
            ended = [StepFinishedEvent(step_name=sub[0])] if sub[2] else []
            return [*ended, *self._subgraph_state(event)]
        name = self.nodes.pop(run_id, None) if run_id else None
        if name is None:
            return []
        self.node = name
        running = self.steps.get(name, 0) - 1
        if running > 0:
            self.steps[name] = running
            return []
        self.steps.pop(name, None)
        self.finished = name
        # Nodes of its subgraph that never ended (one that interrupted) end with it.
        inner = [self.subgraph_nodes.pop(key) for key, (_, top, _) in
                 list(self.subgraph_nodes.items()) if top == name]
        out: list[BaseEvent] = [StepFinishedEvent(step_name=sub_name)
                                for sub_name, _, shown in reversed(inner) if shown]
        return [*out, StepFinishedEvent(step_name=name)]

    def _subgraph_state(self, event: dict[str, Any]) -> list[BaseEvent]:
        """A subgraph node's writes, shown at its boundary (the parent's own values arrive only
        when the whole subgraph ends): the parent's state with the written keys over it."""
        output = (event.get("data") or {}).get("output")
        if not isinstance(output, dict):
            return []
        written = {k: v for k, v in output.items() if k != "messages" and not k.startswith("__")}
        if not written:
            return []
        state = self.public_state({**self.state, **written})
        if state == self.last_snapshot or not isinstance(state, dict):
            return []
        self.state = {**self.state, **written}
        return self._snapshot(self.node, active=True, state=state)

    def _chain_stream(self, event: dict[str, Any]) -> list[BaseEvent]:
        if event.get("run_id") != self.root_run_id:
            return []
        chunk = (event.get("data") or {}).get("chunk")
        if not isinstance(chunk, dict):
            return []
        if "__interrupt__" in chunk:  # read from the checkpoint when the run ends
            return []
        self.state = chunk
        results = self._tool_results(chunk)
        finished, self.finished = self.finished, None
        if finished is None:
            # Values no node has just written (a resumed run starts with the checkpoint's): a
            # state sync only if they changed, and no word of a node ending.
            if self.public_state(chunk) == self.last_snapshot:
                return results
            return [*results, *self._snapshot(self.node, active=bool(self.nodes))]
        if self.predicted:
            state = self.public_state(chunk)
            written = isinstance(state, dict) and all(state.get(k) == v
                                                      for k, v in self.predicted.items())
            if written or self.prediction_held:
                self.predicted, self.prediction_held = {}, False
            else:
                # The node that made the call ended before the tool (the next node) wrote the
                # values: keep them in the snapshots until that node has run.
                self.prediction_held = True
        return [*results, *self._snapshot(finished, active=False, if_changed=True)]

    def _tool_results(self, values: dict[str, Any]) -> list[BaseEvent]:
        """``TOOL_CALL_RESULT`` for the results of streamed tool calls that a node (e.g. a
        ``ToolNode``) just added to the state, with the ids the checkpoint gives them, so a
        client places each result right after its call."""
        out: list[BaseEvent] = []
        for message in values.get("messages") or []:
            if getattr(message, "type", None) != "tool" or not message.id:
                continue
            if message.id in self.results_sent:
                continue
            self.results_sent.add(message.id)
            if message.tool_call_id in self.streamed_calls:
                out.append(ToolCallResultEvent(message_id=message.id, tool_call_id=message.tool_call_id,
                                               content=content_text(message.content), role="tool"))
        return out

    # -- chat models ---------------------------------------------------------------------------

    def _model_start(self, event: dict[str, Any]) -> _ModelRun:
        metadata = event.get("metadata") or {}
        run = _ModelRun(
            message_id=None,
            emit_messages=metadata.get(EMIT_MESSAGES) is not False,
            emit_tool_calls=metadata.get(EMIT_TOOL_CALLS),
            predict=_entries(metadata.get(EMIT_INTERMEDIATE_STATE)),
            announce=_entries(metadata.get(PREDICT_STATE)),
        )
        run.predict += run.announce
        self.models[event["run_id"]] = run
        return run

    def _model_stream(self, event: dict[str, Any]) -> list[BaseEvent]:
        run = self.models.get(event["run_id"]) or self._model_start(event)
        chunk = (event.get("data") or {}).get("chunk")
        if chunk is None:
            return []
        run.streamed = True
        if run.message_id is None:
            run.message_id = getattr(chunk, "id", None) or f"lc_run--{event['run_id']}"
        out: list[BaseEvent] = []
        for tc in getattr(chunk, "tool_call_chunks", None) or []:
            out.extend(self._tool_call_chunk(run, tc))
        text = content_text(getattr(chunk, "content", None))
        if text and run.emit_messages:
            if run.text_id is None:
                out.extend(self._close_calls(run))
                run.text_id = run.message_id if run.text_count == 0 else f"{run.message_id}-{run.text_count}"
                run.text_count += 1
                out.append(TextMessageStartEvent(message_id=run.text_id, role="assistant"))
            out.append(TextMessageContentEvent(message_id=run.text_id, delta=text))
        return out

    def _tool_call_chunk(self, run: _ModelRun, tc: Any) -> list[BaseEvent]:
        get = tc.get if isinstance(tc, dict) else (lambda k, d=None: getattr(tc, k, d))
        index, call_id, name, args = get("index"), get("id"), get("name"), get("args")
        key = index if index is not None else (call_id or run.last_call_key)
        out: list[BaseEvent] = []
        call = run.calls.get(key)
        if name and (call is None or (call_id and call.id != call_id)):
            if run.text_id is not None:
                out.append(TextMessageEndEvent(message_id=run.text_id))
                run.text_id = None
            # Calls stream one after the other: a new call ends the previous ones.
            out.extend(self._close_calls(run))
            emitted = _tool_allowed(run.emit_tool_calls, name)
            call = _ToolCall(id=call_id or new_id("call_"), name=name, emitted=emitted)
            run.calls[key] = call
            if any(entry.get("tool") == name for entry in run.announce):
                # ag-ui-langgraph's announcement: clients that predict state themselves
                # derive it from the TOOL_CALL_ARGS that follow (we also send the state).
                out.append(CustomEvent(name=PREDICT_STATE_EVENT, value=to_jsonable(run.announce)))
            if emitted:
                self.streamed_calls.add(call.id)
                out.append(ToolCallStartEvent(tool_call_id=call.id, tool_call_name=name,
                                              parent_message_id=run.message_id))
        run.last_call_key = key
        if call is None or not args:
            return out
        call.args.append(args)
        if call.emitted and call.open:
            out.append(ToolCallArgsEvent(tool_call_id=call.id, delta=args))
        out.extend(self._predict(run, call))
        return out

    def _predict(self, run: _ModelRun, call: _ToolCall) -> list[BaseEvent]:
        """Predictive state: stream a tool call's (partial) arguments into a state key."""
        out: list[BaseEvent] = []
        for entry in run.predict:
            if entry.get("tool") != call.name or not entry.get("state_key"):
                continue
            parsed = parse_partial_json("".join(call.args))  # the core's, pydantic-core's parser
            if parsed is None:
                continue  # nothing parseable yet
            argument = entry.get("tool_argument")
            value = parsed.get(argument) if argument and isinstance(parsed, dict) else parsed
            key = entry["state_key"]
            value = to_jsonable(value)
            if key in run.predicted and run.predicted[key] == value:
                continue
            run.predicted[key] = value
            self.predicted[key] = value
            state = self.public_state(self.state)
            if isinstance(state, dict):
                state = {**state, **run.predicted}
            out.extend(self._snapshot(self.node, active=True, state=state))
        return out

    def _end_call(self, call: _ToolCall) -> list[BaseEvent]:
        if not call.open:
            return []
        call.open = False
        return [ToolCallEndEvent(tool_call_id=call.id)] if call.emitted else []

    def _close_calls(self, run: _ModelRun) -> list[BaseEvent]:
        out: list[BaseEvent] = []
        for call in run.calls.values():
            out.extend(self._end_call(call))
        return out

    def _close_model(self, run: _ModelRun) -> list[BaseEvent]:
        out: list[BaseEvent] = []
        if run.text_id is not None:
            out.append(TextMessageEndEvent(message_id=run.text_id))
            run.text_id = None
        out.extend(self._close_calls(run))
        return out

    def _model_end(self, event: dict[str, Any]) -> list[BaseEvent]:
        run = self.models.pop(event["run_id"], None)
        if run is None:
            run = _ModelRun(None, True, None, [])
            metadata = event.get("metadata") or {}
            run.emit_messages = metadata.get(EMIT_MESSAGES) is not False
            run.emit_tool_calls = metadata.get(EMIT_TOOL_CALLS)
        if run.streamed:
            return self._close_model(run)
        # The model answered without streaming: send its message whole.
        output = (event.get("data") or {}).get("output")
        generations = getattr(output, "generations", None)
        if generations is not None:  # an LLMResult
            try:
                output = generations[0][0].message
            except (IndexError, AttributeError, TypeError):
                return []
        if output is None:
            return []
        message_id = getattr(output, "id", None) or f"lc_run--{event['run_id']}"
        out: list[BaseEvent] = []
        text = content_text(getattr(output, "content", None))
        if text and run.emit_messages:
            out += [TextMessageStartEvent(message_id=message_id, role="assistant"),
                    TextMessageContentEvent(message_id=message_id, delta=text),
                    TextMessageEndEvent(message_id=message_id)]
        for call in getattr(output, "tool_calls", None) or []:
            name = call.get("name") or ""
            call_id = call.get("id") or new_id("call_")
            if not _tool_allowed(run.emit_tool_calls, name):
                continue
            args = json.dumps(to_jsonable(call.get("args") or {}))
            self.streamed_calls.add(call_id)
            out += [ToolCallStartEvent(tool_call_id=call_id, tool_call_name=name,
                                       parent_message_id=message_id),
                    ToolCallArgsEvent(tool_call_id=call_id, delta=args),
                    ToolCallEndEvent(tool_call_id=call_id)]
        return out

    # -- custom events -------------------------------------------------------------------------

    def _custom(self, event: dict[str, Any]) -> list[BaseEvent]:
        name = event.get("name") or ""
        data = event.get("data")
        node = (event.get("metadata") or {}).get("langgraph_node") or self.node
        if name in EMIT_STATE_EVENTS:
            return self._snapshot(node, active=True, state=to_jsonable(data))
        if name in EMIT_MESSAGE_EVENTS and isinstance(data, dict):
            message_id = str(data.get("message_id") or new_id())
            text = data.get("message")
            text = text if isinstance(text, str) else json.dumps(to_jsonable(text))
            out: list[BaseEvent] = [TextMessageStartEvent(message_id=message_id, role="assistant")]
            if text:
                out.append(TextMessageContentEvent(message_id=message_id, delta=text))
            out.append(TextMessageEndEvent(message_id=message_id))
            return out
        if name in EMIT_TOOL_CALL_EVENTS and isinstance(data, dict) and data.get("name"):
            call_id = str(data.get("id") or new_id())
            args = data.get("args")
            args = args if isinstance(args, str) else json.dumps(to_jsonable(args or {}))
            return [ToolCallStartEvent(tool_call_id=call_id, tool_call_name=str(data["name"]),
                                       parent_message_id=call_id),
                    ToolCallArgsEvent(tool_call_id=call_id, delta=args),
                    ToolCallEndEvent(tool_call_id=call_id)]
        if name in EXIT_EVENTS:
            self.exited = True
            return [CustomEvent(name=EXIT_EVENT, value=True)]
        return [CustomEvent(name=name, value=to_jsonable(data))]
