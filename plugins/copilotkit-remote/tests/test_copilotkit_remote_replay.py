"""Agent runs against the recorded protocol of a CopilotKit SDK remote endpoint.

The SDK installed here (0.1.96) can no longer serve a LangGraph agent on ``/agents/execute``
(its ``LangGraphAgent`` was removed in 0.1.87), so the remote side is a **recorded-protocol
fake**: it answers ``/info`` and ``/agents/execute`` with the exact bodies the real SDK 0.1.67
sent the TypeScript runtime 1.10.6 (``shared/reference/transcripts-langgraph/*.sdk.txt``), in
order. The client side is real: the ``@copilotkit/runtime-client-gql`` 1.10.6 npm client drives
our runtime as react-core does, and what it assembles must equal what the same client assembled
from the TypeScript runtime in the capture (texts, actions, interrupts, agent state).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from node_client import generate_step, requires_node, run_client
from sdk_remote_helpers import serve_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from copilotkit_runtime.testing import ServedRuntime, make_runtime, serve_runtime

pytestmark = [pytest.mark.node, requires_node]

# The team's captures of the reference stack (shared/reference/transcripts-langgraph/json),
# copied here so a clean checkout has them.
REFERENCE = Path(__file__).parent / "fixtures" / "transcripts-langgraph"
SCENARIOS = ["text", "add", "interrupt", "action", "helpers", "exit"]


class Replay:
    def __init__(self) -> None:
        self.info: str = "{}"
        self.bodies: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.recorded_requests: list[dict[str, Any]] = []

    def load(self, scenario: str) -> dict[str, Any]:
        data = json.loads((REFERENCE / f"{scenario}.json").read_text())
        executes = [e for e in data["sdk"] if e["request"]["path"].endswith("/agents/execute")]
        self.info = next(e["response"]["body"] for e in data["sdk"]
                         if e["request"]["path"].endswith("/info"))
        self.bodies = [e["response"]["body"] for e in executes]
        self.recorded_requests = [json.loads(e["request"]["body"]) for e in executes]
        self.requests = []
        return data["driverOutput"]

    def app(self) -> Starlette:
        async def info(request: Request) -> Response:
            return Response(self.info, media_type="application/json")

        async def execute(request: Request) -> Response:
            self.requests.append(await request.json())
            body = self.bodies[len(self.requests) - 1].encode()

            async def lines() -> Any:
                for line in body.splitlines(keepends=True):
                    yield line

            return StreamingResponse(lines(), media_type="application/json")

        async def state(request: Request) -> Response:
            body = await request.json()
            return JSONResponse({"threadId": body["threadId"], "threadExists": False,
                                 "state": {}, "messages": []})

        return Starlette(routes=[Route("/copilotkit/info", info, methods=["POST"]),
                                 Route("/copilotkit/agents/execute", execute, methods=["POST"]),
                                 Route("/copilotkit/agents/state", state, methods=["POST"])])


@pytest.fixture(scope="module")
def replay() -> Iterator[tuple[Replay, ServedRuntime]]:
    fake = Replay()
    fake.load("text")
    with serve_app(fake.app()) as origin:
        config = {"agents": {"sdk": {"provider": "copilotkit-remote", "url": f"{origin}/copilotkit"}}}
        with serve_runtime(make_runtime(config, load_entry_points=True)) as served:
            yield fake, served


ADD_TODO = {"name": "addTodo", "description": "Add a todo to the list shown in the app",
            "parameters": {"type": "object", "properties": {"title": {"type": "string",
                           "description": "the todo's title"}}, "required": ["title"]}}
SHOW_TODO_COUNT = {"name": "showTodoCount", "description": "Show the number of open and done todos",
                   "parameters": {"type": "object", "properties": {"open": {"type": "number"},
                                  "done": {"type": "number"}}, "required": ["open", "done"]}}


def test_remote_agents_are_discovered_from_info(replay: tuple[Replay, ServedRuntime]) -> None:
    _, served = replay
    [step] = run_client(served.url, [{"op": "availableAgents"}])["results"]
    agents = step["data"]["availableAgents"]["agents"]
    assert [(a["name"], a["description"]) for a in agents] == [("todo_agent", "Todo list demo agent")]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_recorded_sdk_conversation_reaches_the_client_as_through_the_typescript_runtime(
        replay: tuple[Replay, ServedRuntime], scenario: str) -> None:
    fake, served = replay
    expected = fake.load(scenario)
    thread = str(uuid.uuid4())
    messages: list[dict[str, Any]] = [{"id": str(uuid.uuid4()), "role": "system",
                                       "content": "You are a helpful assistant."}]
    node: str | None = None
    state: dict[str, Any] = {}
    last: dict[str, Any] = {}
    actions = [ADD_TODO] if scenario == "action" else [SHOW_TODO_COUNT] if scenario == "helpers" else []
    for turn in expected["turns"]:
        label = turn["sent"]["label"]
        meta: list[dict[str, Any]] = []
        if label.startswith("user: "):
            messages.append({"id": str(uuid.uuid4()), "role": "user", "content": label[6:]})
        elif label.startswith("resolve interrupt"):
            [event] = last["metaEvents"]
            meta = [{"name": event["name"], "value": event["value"], "response": "yes"}]
        elif label.startswith("follow-up"):
            [call] = [m for m in last["messages"] if m["__typename"] == "ActionExecutionMessageOutput"]
            messages.append({"type": "result", "id": f"result-{call['id']}",
                             "actionExecutionId": call["id"], "actionName": call["name"],
                             "result": "Added water the plants to the list in the app"})
        if scenario == "exit" and label == "user: hello again":
            # the agent exited: react-core starts a new thread, keeping the conversation
            thread, node, state = str(uuid.uuid4()), None, {}
        session = {"agentName": "todo_agent", "threadId": thread, **({"nodeName": node} if node else {})}
        step = generate_step(threadId=thread, agentSession=session, system=None,
                             messages=list(messages), actions=actions, metaEvents=meta,
                             agentStates=[{"agentName": "todo_agent", "state": state}])
        last = run_client(served.url, [step])["result"]
        assert last["error"] is None and last["status"]["code"] == "Success", last
        texts = [m["content"] for m in last["messages"] if m["__typename"] == "TextMessageOutput"]
        calls = [{"name": m["name"], "arguments": json.loads(m["arguments"])}
                 for m in last["messages"] if m["__typename"] == "ActionExecutionMessageOutput"]
        metas = [{"name": e["name"], "value": e["value"]} for e in last["metaEvents"]]
        states = [m for m in last["messages"] if m["__typename"] == "AgentStateMessageOutput"]
        assert texts == turn["texts"], label
        assert calls == turn["actions"], label
        assert metas == turn["metaEvents"], label
        final = states[-1]
        want = turn["agentStateMessages"][-1]
        assert (final["nodeName"], final["active"], final["running"]) == (
            want["nodeName"], want["active"], want["running"]), label
        assert {k: v for k, v in final["state"].items() if k != "messages"} == want["state"], label
        # what react-core keeps for the next turn
        for m in last["messages"]:
            if m["__typename"] == "TextMessageOutput":
                messages.append({"id": m["id"], "role": "assistant", "content": m["content"]})
            elif m["__typename"] == "ActionExecutionMessageOutput":
                messages.append({"type": "action", "id": m["id"], "name": m["name"],
                                 "arguments": json.loads(m["arguments"]),
                                 "parentMessageId": m.get("parentMessageId")})
        node = final["nodeName"] if final["running"] else None
        state = {k: v for k, v in final["state"].items() if k != "messages"}
    # What we sent the remote is what the TypeScript runtime sent it.
    for ours, theirs in zip(fake.requests, fake.recorded_requests, strict=True):
        assert ours["name"] == theirs["name"]
        assert ours.get("nodeName") == theirs.get("nodeName")
        assert [(m["type"], m.get("role"), m.get("content"), m.get("name"), m.get("result"))
                for m in ours["messages"] if m.get("role") != "system"] == [
               (m["type"], m.get("role"), m.get("content"), m.get("name"), m.get("result"))
                for m in theirs["messages"] if m.get("role") != "system"]
        assert [a["name"] for a in ours["actions"]] == [a["name"] for a in theirs["actions"]]
        assert [(e["name"], e["response"]) for e in ours["metaEvents"]] == [
            (e["name"], e["response"]) for e in theirs["metaEvents"]]
