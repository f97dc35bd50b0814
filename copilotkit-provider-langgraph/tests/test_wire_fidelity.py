"""Wire fidelity: the SDK demo agent through our GraphQL ("v1") layer, compared with the reference.

The reference (``shared/reference/transcripts-langgraph/``) is what the TypeScript runtime 1.10.6
in front of the CopilotKit SDK 0.1.67 put on the wire for ``todo_agent.py``. The very same file
(``agents/todo_agent.py``) runs here in-process; its chat model is the agent's own
``ScriptedChatModel`` (no network), which is also what produced the reference, so every text and
tool call is the reference's.

Each scenario is driven with the real ``@copilotkit/runtime-client-gql`` 1.10.6 client
(``tests/node/client.mjs``), turn after turn the way react-core 1.10.6 builds its requests (the
conversation from the last state message, ``agentSession`` with its ``nodeName`` while the agent
runs, ``agentStates``, answered interrupts in ``metaEvents``, interrupt messages appended, frontend
actions answered with a ``ResultMessage``). The server records every request and the raw
multipart response; both sides go through the same normalization:

* a request: agent session, agent states, offered actions, context, meta events, messages;
* a response: every ``messages`` / ``metaEvents`` item **in the order it first came over the
  wire**, as (typename, role, text and chunk count, action name / parsed arguments, node / active /
  running / state of a state message, meta event name / value), plus the response status;
* ids (message, tool call and thread ids) become ``#n`` / ``T<n>`` placeholders in order of first
  appearance, so relations (a result naming its call, a tool call naming its parent message, a
  thread) are compared but not the random values; timestamps and run ids are dropped;
* ``copilotkit`` in a state is its keys and the names of its actions.

The reference is the spec: the views must be equal, except for the differences listed in
``ACCEPTED`` below, each applied to the reference with the reason. Where the shared reference
folder is missing (it lives outside this repository), the committed normalized copy
``fixtures/todo_agent_reference_wire.json`` stands in for it; where it is present, a test checks
that the copy still matches (``python tests/test_wire_fidelity.py`` rewrites the copy).
"""

from __future__ import annotations

import copy
import difflib
import json
import re
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from lg_helpers import TODO_GRAPH, build_runtime

from copilotkit_runtime.server import create_app
from copilotkit_runtime.testing import serve_runtime

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS.parents[1] / "tests"))
from node_client import requires_node, run_client  # noqa: E402

REFERENCE = TESTS.parents[2] / "shared/reference/transcripts-langgraph"
FIXTURE = TESTS / "fixtures" / "todo_agent_reference_wire.json"
AGENT = "todo_agent"
FRONTEND_URL = "http://localhost:3000/todos"
SYSTEM = "You are a helpful assistant."

ADD_TODO = {"name": "addTodo", "description": "Add a todo to the list shown in the app",
            "parameters": {"type": "object",
                           "properties": {"title": {"type": "string", "description": "the todo's title"}},
                           "required": ["title"]}}
SHOW_TODO_COUNT = {"name": "showTodoCount", "description": "Show the number of open and done todos",
                   "parameters": {"type": "object",
                                  "properties": {"open": {"type": "number"}, "done": {"type": "number"}},
                                  "required": ["open", "done"]}}
ADA = [{"description": "The user's name", "value": "Ada"}]
ADA_SYSTEM = f"{SYSTEM}\nThe user has provided you with the following context:\nThe user's name: Ada"

ASM = "AgentStateMessageOutput"


# ---------------------------------------------------------------------------------------------
# Normalization (the same code reads the reference and our own wire)
# ---------------------------------------------------------------------------------------------


class Placeholders:
    """Stable names for random values, in order of first appearance."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.names: dict[str, str] = {}

    def __call__(self, value: Any) -> str | None:
        if value is None:
            return None
        name = self.names.get(value)
        if name is None:
            name = self.names[value] = f"{self.prefix}{len(self.names) + 1}"
        return name


@dataclass
class Normalizer:
    ids: Placeholders = field(default_factory=lambda: Placeholders("#"))
    threads: Placeholders = field(default_factory=lambda: Placeholders("T"))

    # -- states and the messages they carry --------------------------------------------------

    def state(self, state: Any) -> Any:
        if not isinstance(state, dict):
            return state
        out: dict[str, Any] = {}
        for key in sorted(state):
            value = state[key]
            if key == "messages" and isinstance(value, list):
                out[key] = [self.state_message(m) for m in value]
            elif key == "copilotkit" and isinstance(value, dict):
                out[key] = {"keys": sorted(value),
                            "actions": [a.get("name") for a in value.get("actions") or []]}
            else:
                out[key] = value
        return out

    def state_message(self, m: dict[str, Any]) -> dict[str, Any]:
        """A message of ``state.messages`` / ``loadAgentState`` (CopilotKit JSON)."""
        mid = self.ids(m.get("id"))
        if "result" in m:
            return {"kind": "result", "id": mid, "actionExecutionId": self.ids(m.get("actionExecutionId")),
                    "actionName": m.get("actionName"), "result": m["result"]}
        if "name" in m and "arguments" in m:
            return {"kind": "action", "id": mid, "name": m["name"], "arguments": m["arguments"],
                    "parent": self.ids(m.get("parentMessageId"))}
        parent = m.get("parentMessageId")
        return {"kind": "text", "id": mid, "role": m.get("role"), "content": m.get("content"),
                "parent": "self" if parent is not None and parent == m.get("id") else self.ids(parent)}

    # -- a request ---------------------------------------------------------------------------

    def request(self, data: dict[str, Any]) -> dict[str, Any]:
        session = data.get("agentSession") or {}
        out: dict[str, Any] = {"thread": self.threads(data.get("threadId"))}
        out["agentSession"] = {k: (self.threads(v) if k == "threadId" else v)
                               for k, v in sorted(session.items())}
        out["agentStates"] = [{"agentName": s["agentName"], "state": self.state(json.loads(s["state"]))}
                              for s in data.get("agentStates") or []]
        out["actions"] = [{"name": a["name"], "description": a.get("description"),
                           "parameters": json.loads(a["jsonSchema"])}
                          for a in (data.get("frontend") or {}).get("actions") or []]
        out["context"] = data.get("context") or []
        out["metaEvents"] = [{"name": e["name"], "value": json.loads(e["value"]), "response": e.get("response")}
                             for e in data.get("metaEvents") or []]
        out["messages"] = [self.input_message(m) for m in data.get("messages") or []]
        return out

    def input_message(self, m: dict[str, Any]) -> dict[str, Any]:
        mid = m["id"]
        if "textMessage" in m:
            text = m["textMessage"]
            parent = text.get("parentMessageId")
            return {"kind": "text", "id": self.ids(mid), "role": text["role"], "content": text["content"],
                    "parent": "self" if parent is not None and parent == mid else self.ids(parent)}
        if "actionExecutionMessage" in m:
            action = m["actionExecutionMessage"]
            return {"kind": "action", "id": self.ids(mid), "name": action["name"],
                    "arguments": json.loads(action["arguments"] or "{}"),
                    "parent": self.ids(action.get("parentMessageId"))}
        if "resultMessage" in m:
            result = m["resultMessage"]
            return {"kind": "result", "id": self.ids(mid),
                    "actionExecutionId": self.ids(result["actionExecutionId"]),
                    "actionName": result["actionName"], "result": result["result"]}
        return {"kind": "other", "keys": sorted(m)}

    # -- a response --------------------------------------------------------------------------

    def output(self, o: dict[str, Any]) -> dict[str, Any]:
        typename = o.get("__typename")
        status = (o.get("status") or {}).get("code")
        if typename == "TextMessageOutput":
            return {"type": "text", "id": self.ids(o["id"]), "role": o["role"],
                    "content": "".join(o["content"]), "chunks": len(o["content"]),
                    "parent": self.ids(o.get("parentMessageId")), "status": status}
        if typename == "ActionExecutionMessageOutput":
            return {"type": "action", "id": self.ids(o["id"]), "name": o["name"],
                    "arguments": json.loads("".join(o["arguments"]) or "{}"),
                    "chunks": len(o["arguments"]), "parent": self.ids(o.get("parentMessageId")),
                    "status": status}
        if typename == "ResultMessageOutput":
            return {"type": "result", "id": self.ids(o["id"]),
                    "actionExecutionId": self.ids(o["actionExecutionId"]),
                    "actionName": o["actionName"], "result": o["result"], "status": status}
        if typename == ASM:
            return {"type": "state", "node": o["nodeName"], "active": o["active"], "running": o["running"],
                    "thread": self.threads(o["threadId"]), "agent": o["agentName"], "role": o["role"],
                    "state": self.state(json.loads(o["state"])), "status": status}
        if typename == "LangGraphInterruptEvent":
            return {"type": "meta", "name": o["name"], "value": o["value"]}
        if typename == "CopilotKitLangGraphInterruptEvent":
            data = o["data"]
            return {"type": "meta", "name": o["name"], "value": data["value"],
                    "messages": [self.output(m) for m in data["messages"]]}
        return {"type": "unknown", "typename": typename}

    def exchange(self, request_body: str, response_body: str) -> dict[str, Any] | None:
        request = json.loads(request_body)
        operation = request.get("operationName")
        if operation == "loadAgentState":
            loaded = json.loads(response_body)["data"]["loadAgentState"]
            return {"op": "loadAgentState",
                    "thread": self.threads(request["variables"]["data"]["threadId"]),
                    "threadExists": loaded["threadExists"],
                    "state": self.state(json.loads(loaded["state"])),
                    "messages": [self.state_message(m) for m in json.loads(loaded["messages"])]}
        if operation != "generateCopilotResponse":
            return None
        sent = self.request(request["variables"]["data"])
        result, order = assemble(read_parts(response_body))
        response = result["generateCopilotResponse"]
        received = [self.output(response[kind][index]) for kind, index in order]
        return {"op": "generate", "sent": sent, "received": received,
                "status": (response.get("status") or {}).get("__typename")}


def read_parts(body: str) -> list[dict[str, Any]]:
    """The JSON payloads of a ``multipart/mixed`` incremental response."""
    payloads = []
    for chunk in body.split("\r\n---")[1:]:
        _head, blank, text = chunk.partition("\r\n\r\n")
        if blank and text.strip():
            payloads.append(json.loads(text))
    return payloads


def assemble(payloads: list[dict[str, Any]]) -> tuple[dict[str, Any], list[tuple[str, int]]]:
    """Merge the payloads like urql does; also return the order in which the items of
    ``messages`` / ``metaEvents`` first arrived."""
    result = copy.deepcopy(payloads[0]["data"])
    order: list[tuple[str, int]] = []
    for payload in payloads[1:]:
        for entry in payload.get("incremental", ()):
            path = entry["path"]
            target: Any = result
            if "items" in entry:
                for step in path[:-1]:
                    target = target[step]
                for offset, item in enumerate(entry["items"]):
                    index = path[-1] + offset
                    if index == len(target):
                        target.append(item)
                    else:
                        target[index] = item
                    if len(path) == 3 and path[1] in ("messages", "metaEvents"):
                        order.append((path[1], index))
            else:
                for step in path:
                    target = target[step]
                _deep_merge(target, entry["data"])
    return result, order


def _deep_merge(target: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(target.get(key), dict) and isinstance(value, dict):
            _deep_merge(target[key], value)
        else:
            target[key] = value


def normalize_exchanges(exchanges: list[tuple[str, str]]) -> list[dict[str, Any]]:
    normalizer = Normalizer()
    views = [normalizer.exchange(request, response) for request, response in exchanges]
    return [v for v in views if v is not None]


# ---------------------------------------------------------------------------------------------
# The reference
# ---------------------------------------------------------------------------------------------

SCENARIOS = ["text", "add", "action", "interrupt", "copilotkit-interrupt", "helpers", "predict",
             "exit", "context", "state"]


def reference_views_from_transcripts() -> dict[str, list[dict[str, Any]]]:
    views = {}
    for scenario in SCENARIOS:
        transcript = json.loads((REFERENCE / "json" / f"{scenario}.json").read_text(encoding="utf-8"))
        views[scenario] = normalize_exchanges(
            [(ex["request"]["body"], ex["response"]["body"]) for ex in transcript["graphql"]])
    return views


def reference_views() -> dict[str, list[dict[str, Any]]]:
    """The transcripts where they are, else the committed copy."""
    if (REFERENCE / "json").is_dir():
        return reference_views_from_transcripts()
    views: dict[str, list[dict[str, Any]]] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return views


# ---------------------------------------------------------------------------------------------
# Accepted differences (applied to the reference view; everything else must be equal)
# ---------------------------------------------------------------------------------------------


def _walk(value: Any, visit: Callable[[dict[str, Any]], None]) -> None:
    if isinstance(value, dict):
        visit(value)
        for item in value.values():
            _walk(item, visit)
    elif isinstance(value, list):
        for item in value:
            _walk(item, visit)


def readables_reach_the_graph(views: list[dict[str, Any]]) -> None:
    """The reference runtime never forwards the frontend's readables to the SDK, so the graph's
    ``copilotkit`` has only ``actions``; we pass them as ``copilotkit.context`` (what the SDK's
    own AG-UI path does, conventions §2.2 / §2.10), so every state shows that key too."""

    def visit(node: dict[str, Any]) -> None:
        ck = node.get("copilotkit")
        if isinstance(ck, dict) and "keys" in ck:
            ck["keys"] = sorted({*ck["keys"], "context"})

    _walk(views, visit)


def text_messages_have_no_parent(views: list[dict[str, Any]]) -> None:
    """The SDK's message conversion gives a text message itself as ``parentMessageId`` in
    ``state.messages``; ours leaves it out (react-core does not use it for text messages). The
    client sends back what it got, so requests differ the same way."""

    def visit(node: dict[str, Any]) -> None:
        if node.get("kind") == "text" and node.get("parent") == "self":
            node["parent"] = None

    _walk(views, visit)


def emitted_state_is_sent_once(views: list[dict[str, Any]]) -> None:
    """``copilotkit_emit_state``: the SDK sends its state sync twice in a row (the next event
    still differs from the state it last compared against); we send it once."""
    for view in views:
        if view["op"] != "generate":
            continue
        kept: list[dict[str, Any]] = []
        for item in view["received"]:
            if kept and item["type"] == "state" and item == kept[-1]:
                continue
            kept.append(item)
        view["received"] = kept


def predicted_state_from_our_parser(views: list[dict[str, Any]]) -> None:
    """Predictive state (``emit_intermediate_state``): the SDK parses the partial tool arguments
    with ``partialjson``, we with LangChain's ``parse_partial_json``; both give the same items
    chunk for chunk, but not the same half-written keys (the SDK shows ``"titl": null``). It also
    sends ``todos: null`` when the tool call's name arrives (before any argument: the list would
    blank out in the UI; we wait for the first argument), and, after the node's end, a spurious
    ``active`` state sync when it stops predicting. Compared: every other sync, and each
    predicted list as the ids of its items."""
    for view in views:
        if view["op"] != "generate":
            continue
        kept: list[dict[str, Any]] = []
        for item in view["received"]:
            if item["type"] == "state" and item["node"] == "plan":
                if item["active"] and "todos" in item["state"] and item["state"]["todos"] is None:
                    continue
                if item["active"] and kept and kept[-1]["type"] == "state" and kept[-1]["node"] == "plan" \
                        and not kept[-1]["active"]:
                    continue
            kept.append(item)
        view["received"] = kept
    todo_ids_while_predicting(views)


def todo_ids_while_predicting(views: list[dict[str, Any]]) -> None:
    for view in views:
        for item in view.get("received", ()):
            if item["type"] == "state" and item["node"] == "plan" and item["active"] \
                    and isinstance(item["state"].get("todos"), list):
                item["state"]["todos"] = [t.get("id") for t in item["state"]["todos"]]


def context_report_names_the_readable(views: list[dict[str, Any]]) -> None:
    """Same cause as ``readables_reach_the_graph``: the demo's context report lists what it got."""
    old = "copilotkit keys: actions. Context: nothing. System messages in my history: 0."
    new = ("copilotkit keys: actions, context. Context: The user's name = Ada. "
           "System messages in my history: 0.")

    def visit(node: dict[str, Any]) -> None:
        if node.get("content") == old:
            node["content"] = new
            if "chunks" in node:
                node["chunks"] = len(re.findall(r"\s*\S+", new))

    _walk(views, visit)


def load_agent_state_is_current(views: list[dict[str, Any]]) -> None:
    """``loadAgentState``: the SDK keeps the first snapshot it read of a thread for the life of
    the agent (even an empty one), so the reference answers "no such thread" after a run and an
    old snapshot after a second run. We answer with the checkpoint: the state and messages of
    the thread's last final state message (conventions §2.8)."""
    last_final: dict[str, dict[str, Any]] = {}
    for view in views:
        if view["op"] == "generate":
            final = view["received"][-1]
            assert final["type"] == "state" and not final["active"]
            last_final[view["sent"]["thread"]] = final["state"]
        elif view["thread"] in last_final:
            final_state = last_final[view["thread"]]
            view["threadExists"] = True
            view["state"] = {k: v for k, v in final_state.items() if k != "messages"}
            view["messages"] = final_state.get("messages", [])


COMMON = [readables_reach_the_graph, text_messages_have_no_parent, emitted_state_is_sent_once]
ACCEPTED: dict[str, list[Callable[[list[dict[str, Any]]], None]]] = {
    "predict": [predicted_state_from_our_parser],
    "context": [context_report_names_the_readable],
    "state": [load_agent_state_is_current],
}


def expected_views(scenario: str, reference: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    views = copy.deepcopy(reference[scenario])
    for accept in [*COMMON, *ACCEPTED.get(scenario, [])]:
        accept(views)
    return views


def our_views(scenario: str, exchanges: list[tuple[str, str]]) -> list[dict[str, Any]]:
    views = normalize_exchanges(exchanges)
    if scenario == "predict":
        todo_ids_while_predicting(views)
    return views


# ---------------------------------------------------------------------------------------------
# Serving, recording, and a react-core-like chat
# ---------------------------------------------------------------------------------------------


class WireRecorder:
    """ASGI wrapper: keeps every POST's request body and raw response body."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.exchanges: list[tuple[str, str]] = []
        self.changed = threading.Condition()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request, response = bytearray(), bytearray()

        async def recording_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                request.extend(message.get("body", b""))
            return message

        async def recording_send(message: Any) -> None:
            if message["type"] == "http.response.body":
                response.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, recording_receive, recording_send)
        finally:
            with self.changed:
                self.exchanges.append((request.decode(), response.decode()))
                self.changed.notify_all()

    def wait_for(self, count: int) -> list[tuple[str, str]]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.exchanges) >= count, timeout=30)
            return list(self.exchanges)


@dataclass
class Served:
    url: str
    recorder: WireRecorder


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    runtime = build_runtime({AGENT: {"provider": "langgraph", "graph": TODO_GRAPH,
                                     "description": "The CopilotKit SDK demo agent"}},
                            tmp_path_factory.mktemp("wire-fidelity"))
    recorder = WireRecorder(create_app(runtime))
    with serve_runtime(runtime, app=recorder) as server:
        yield Served(server.url, recorder)


class ReactCoreChat:
    """What react-core 1.10.6 keeps between turns of one ``<CopilotKit agent="todo_agent">`` chat
    and how it builds the next request from it."""

    def __init__(self, served: Served, *, actions: list[dict[str, Any]] | None = None,
                 context: list[dict[str, Any]] | None = None, system: str = SYSTEM,
                 thread_id: str | None = None) -> None:
        self.served = served
        self.actions = actions or []
        self.context = context or []
        self.system = system
        self.system_id = f"ck-{uuid.uuid4()}"
        self.thread_id = thread_id or str(uuid.uuid4())
        self.messages: list[dict[str, Any]] = []  # client.mjs message specs
        self.session: dict[str, Any] = {"agentName": AGENT}
        self.agent_states: list[dict[str, Any]] = []
        self.last: dict[str, Any] = {}

    def say(self, text: str, **fields: Any) -> dict[str, Any]:
        self.messages.append({"id": f"ck-{uuid.uuid4()}", "role": "user", "content": text})
        return self.send(**fields)

    def send(self, *, meta_events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        # react-core keeps its system message (and its id) for the life of the chat
        system = {"id": self.system_id, "role": "system", "content": self.system}
        step = {"op": "generate", "threadId": self.thread_id, "agentSession": dict(self.session),
                "system": None, "messages": [system, *self.messages],
                "agentStates": list(self.agent_states), "actions": self.actions,
                "context": self.context, "frontendUrl": FRONTEND_URL,
                "metaEvents": meta_events or []}
        result: dict[str, Any] = run_client(self.served.url, [step])["result"]
        assert result["error"] is None and result["gqlErrors"] == [], result
        assert result["closed"] is True and result["warnings"] == []
        self._absorb(result)
        self.last = result
        return result

    def _absorb(self, result: dict[str, Any]) -> None:
        states = [m for m in result["messages"] if m["__typename"] == ASM]
        if states:
            last = states[-1]
            self.agent_states = [{"agentName": AGENT, "state": last["state"]}]
            if last["running"]:
                self.session = {"agentName": AGENT, "threadId": self.thread_id,
                                "nodeName": last["nodeName"]}
            else:  # react-core forgets the session, and makes up a thread id for the next one
                self.session = {"agentName": AGENT, "threadId": f"ck-{uuid.uuid4()}"}
            if isinstance(last["state"].get("messages"), list):
                self.messages = [_as_input(m) for m in last["state"]["messages"]]
        for event in result["metaEvents"]:
            if event["name"] == "CopilotKitLangGraphInterruptEvent":
                for m in event["data"]["messages"]:
                    self.messages.append({"id": m["id"], "role": m["role"], "content": "".join(m["content"]),
                                          "parentMessageId": m.get("parentMessageId")})

    def interrupt_value(self) -> str:
        [event] = [e for e in self.last["metaEvents"] if e["name"] == "LangGraphInterruptEvent"]
        value: str = event["value"]
        return value

    def answer_interrupt(self, response: str) -> dict[str, Any]:
        # react-core parses the value and stringifies it again (compact) when it answers.
        value = json.dumps(json.loads(self.interrupt_value()), separators=(",", ":"))
        return self.send(meta_events=[{"name": "LangGraphInterruptEvent", "value": value,
                                       "response": response}])

    def run_action(self, name: str, result: str) -> dict[str, Any]:
        """The frontend ran the last call of action ``name``: append its result and follow up."""
        [call] = [m for m in self.messages if m.get("type") == "action" and m["name"] == name][-1:]
        self.messages.append({"type": "result", "id": f"result-{call['id']}",
                              "actionExecutionId": call["id"], "actionName": name, "result": result})
        return self.send()


def _as_input(message: dict[str, Any]) -> dict[str, Any]:
    """A message of ``state.messages`` as react-core sends it back."""
    if "result" in message:
        return {"type": "result", "id": message["id"], "actionExecutionId": message["actionExecutionId"],
                "actionName": message["actionName"], "result": message["result"]}
    if "arguments" in message:
        return {"type": "action", "id": message["id"], "name": message["name"],
                "arguments": message["arguments"], "parentMessageId": message.get("parentMessageId")}
    return {"id": message["id"], "role": message["role"], "content": message["content"],
            "parentMessageId": message.get("parentMessageId")}


def load_state(served: Served, thread_id: str) -> dict[str, Any]:
    result: dict[str, Any] = run_client(served.url, [{"op": "loadAgentState", "threadId": thread_id,
                                                      "agentName": AGENT}])["result"]
    assert result["error"] is None, result
    return result


# ---------------------------------------------------------------------------------------------
# The scenarios of the reference, as react-core played them
# ---------------------------------------------------------------------------------------------


def play(scenario: str, served: Served) -> None:
    if scenario == "text":
        chat = ReactCoreChat(served)
        chat.say("Hello there")
        chat.say("What can you do?")
    elif scenario == "add":
        chat = ReactCoreChat(served)
        chat.say("add buy milk")
        chat.say("add call mom")
    elif scenario == "action":
        chat = ReactCoreChat(served, actions=[ADD_TODO])
        chat.say("Please add water the plants with the app")
        chat.run_action("addTodo", "Added water the plants to the list in the app")
    elif scenario == "interrupt":
        chat = ReactCoreChat(served)
        chat.say("add buy milk")
        chat.say("delete buy milk")
        chat.answer_interrupt("yes")
    elif scenario == "copilotkit-interrupt":
        chat = ReactCoreChat(served)
        chat.say("add buy milk")
        chat.say("clear all")
        chat.say("yes please")  # after the question, which came in the meta event
    elif scenario == "helpers":
        chat = ReactCoreChat(served, actions=[SHOW_TODO_COUNT])
        chat.say("add buy milk")
        chat.say("summary")  # showTodoCount is not in the final messages: react-core never runs it
    elif scenario == "predict":
        ReactCoreChat(served).say("plan my day")
    elif scenario == "exit":
        chat = ReactCoreChat(served)
        chat.say("bye")
        chat.say("hello again")
    elif scenario == "context":
        ReactCoreChat(served, actions=[ADD_TODO], context=ADA, system=ADA_SYSTEM).say("what do you know")
    elif scenario == "state":
        a = ReactCoreChat(served)
        load_state(served, a.thread_id)  # on mount, before any run
        a.say("add buy milk")
        load_state(served, a.thread_id)
        b = ReactCoreChat(served)
        b.say("add buy milk")
        load_state(served, b.thread_id)
        b.say("add call mom")
        load_state(served, b.thread_id)
        load_state(served, str(uuid.uuid4()))
    else:  # pragma: no cover
        raise AssertionError(scenario)


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reference() -> dict[str, list[dict[str, Any]]]:
    return reference_views()


@pytest.mark.node
@requires_node
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_looks_like_the_reference_on_the_wire(scenario: str, served: Served,
                                                       reference: dict[str, list[dict[str, Any]]]) -> None:
    before = len(served.recorder.exchanges)
    play(scenario, served)
    expected = expected_views(scenario, reference)
    exchanges = served.recorder.wait_for(before + len(reference[scenario]))[before:]
    ours = our_views(scenario, exchanges)
    assert [v["op"] for v in ours] == [v["op"] for v in expected]
    for turn, (got, want) in enumerate(zip(ours, expected, strict=True), start=1):
        assert_same(got, want, f"{scenario}, exchange {turn} ({want['op']})")


def assert_same(got: Any, want: Any, label: str) -> None:
    if got == want:
        return
    diff = difflib.unified_diff(json.dumps(want, indent=1, sort_keys=True).splitlines(),
                                json.dumps(got, indent=1, sort_keys=True).splitlines(),
                                "reference (with the accepted differences)", "ours", lineterm="", n=6)
    raise AssertionError(f"{label} differs from the reference:\n" + "\n".join(diff))


def test_the_reference_shows_what_the_rule_says(reference: dict[str, list[dict[str, Any]]]) -> None:
    """The state-message rule our GraphQL layer follows, read off the reference itself: a turn
    opens with the node the client named (if any), then ``active`` at each node's start and
    ``active: false`` at its end (the interrupted node has no end), state changes in between,
    meta events before the last message, which alone carries ``messages`` and may say
    ``running: false``."""
    for scenario, views in reference.items():
        for view in views:
            if view["op"] != "generate":
                continue
            received = view["received"]
            states = [item for item in received if item["type"] == "state"]
            *intermediate, final = states
            assert received[-1] is final and not final["active"], scenario
            assert "messages" in final["state"], scenario
            assert all("messages" not in s["state"] and s["running"] for s in intermediate), scenario
            node = view["sent"]["agentSession"].get("nodeName")
            if node is not None:
                assert (intermediate[0]["node"], intermediate[0]["active"]) == (node, True), scenario
            metas = [i for i, item in enumerate(received) if item["type"] == "meta"]
            assert all(i == len(received) - 2 for i in metas), scenario


def test_the_committed_reference_copy_matches_the_transcripts() -> None:
    if not (REFERENCE / "json").is_dir():
        pytest.skip(f"the reference transcripts are not here ({REFERENCE})")
    assert json.loads(FIXTURE.read_text(encoding="utf-8")) == reference_views_from_transcripts(), (
        f"{FIXTURE.name} is out of date: run `python tests/{Path(__file__).name}`")


if __name__ == "__main__":
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(reference_views_from_transcripts(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {FIXTURE}")
