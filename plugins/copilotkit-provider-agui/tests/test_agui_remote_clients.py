"""A remote ag-ui-langgraph agent through our runtime, driven by the real npm clients:
``@copilotkit/core`` 1.75 (AG-UI v2) and ``@copilotkit/runtime-client-gql`` 1.10.6 (GraphQL v1).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agui_remote_helpers import RemoteServer
from node_client import generate_step, requires_node, run_client

from copilotkit_runtime import RequestMiddleware, hookimpl
from copilotkit_runtime.testing import ServedRuntime, make_runtime, serve_runtime

pytestmark = [pytest.mark.node, requires_node]

NODE_V2 = Path(__file__).parents[3] / "tests" / "node-v2"
NODE_CLIENT = Path(__file__).parents[3] / "tests" / "node" / "client.mjs"


def run_v2(scenario: dict[str, Any]) -> dict[str, Any]:
    if shutil.which("node") is None or not (NODE_V2 / "node_modules" / "@copilotkit" / "core").is_dir():
        pytest.skip("npm packages missing: run `npm ci --prefix tests/node-v2`")
    done = subprocess.run(["node", "client.mjs", json.dumps(scenario)], cwd=NODE_V2,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


class UserFromHeader(RequestMiddleware):
    async def authenticate(self, context: Any) -> Any:
        user = context.headers.get("x-test-user")
        return {"sub": user} if user else None


class IdentityPlugin:
    @hookimpl
    def register_middleware(self, registry: Any) -> None:
        registry.add("user-from-header", UserFromHeader())


@pytest.fixture(scope="module")
def served(remote: RemoteServer) -> Iterator[ServedRuntime]:
    runtime = make_runtime({"agents": {
        "remote": {"provider": "agui", "url": remote.agent_url, "description": "A remote graph",
                   "headers": {"x-api-key": "${REMOTE_KEY}"},
                   "principal_header": "x-copilotkit-user", "forward_headers": ["x-tenant"]},
    }}, plugins={"identity": IdentityPlugin()}, env={"REMOTE_KEY": "from-the-environment"}, load_entry_points=True)
    with serve_runtime(runtime) as served:
        yield served


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["content"] for m in messages if m.get("role") == "assistant" and m.get("content")]


# -- AG-UI v2: @copilotkit/core ----------------------------------------------------------------

@pytest.mark.parametrize("transport", ["rest", "single"])
def test_v2_client_chats_calls_a_frontend_tool_keeps_state_and_replays(
        served: ServedRuntime, transport: str) -> None:
    thread = f"thread-{uuid.uuid4()}"
    result = run_v2({"url": served.url, "transport": transport, "agent": "remote",
                     "threadId": thread, "headers": {"x-test-user": "alice"},
                     "steps": [{"op": "run", "text": "hello"},
                               {"op": "run", "text": "color blue"},
                               {"op": "run", "text": "remember milk"},
                               {"op": "connect"}]})
    assert result["errors"] == []
    assert "remote" in result["agents"]
    hello, color, remember, connect = result["steps"]
    assert texts(hello["messages"]) == ["Hello from the remote graph"]
    # The remote graph called the frontend tool; the client ran it and followed up.
    assert result["toolCalls"] == [{"color": "blue"}]
    assert texts(color["messages"])[-1] == "Color color set to blue applied"
    assert remember["state"]["notes"] == ["milk"]
    assert texts(remember["messages"])[-1] == "I will remember milk"
    # A fresh client (page reload) gets the thread back from the runtime's store.
    assert texts(connect["messages"]) == texts(remember["messages"])
    assert connect["state"]["notes"] == ["milk"]


def test_v2_stop_closes_the_remote_stream(served: ServedRuntime, remote: RemoteServer) -> None:
    thread = f"thread-{uuid.uuid4()}"
    try:
        result = run_v2({"url": served.url, "agent": "remote", "threadId": thread,
                         "steps": [{"op": "run-and-stop", "text": "hold"}]})
    finally:
        remote.release()
    [step] = result["steps"]
    assert step["stopped"] is True
    assert "exception" not in step
    entry = remote.wait_for(
        lambda seen: next((e for e in seen if (e.get("body") or {}).get("threadId") == thread
                           and e["disconnected"]), None), "the stopped run's connection close")
    assert entry["completed"] is False  # it was hung up on, not finished


def test_identity_and_config_headers_reach_the_remote(served: ServedRuntime,
                                                      remote: RemoteServer) -> None:
    thread = f"thread-{uuid.uuid4()}"
    run_v2({"url": served.url, "agent": "remote", "threadId": thread,
            "headers": {"x-test-user": "alice", "x-api-key": "client-cannot-override",
                        "x-tenant": "acme", "x-secret": "not-listed"},
            "steps": [{"op": "run", "text": "hello"}]})
    [entry] = [e for e in remote.seen() if (e.get("body") or {}).get("threadId") == thread]
    headers = entry["headers"]
    assert headers["x-api-key"] == "from-the-environment"
    assert headers["x-copilotkit-user"] == "alice"
    assert headers["x-tenant"] == "acme"  # listed in forward_headers
    assert "x-secret" not in headers and "x-test-user" not in headers  # not listed
    assert headers["accept"] == "text/event-stream"
    assert entry["body"]["messages"][-1]["content"] == "hello"


# -- GraphQL v1: @copilotkit/runtime-client-gql 1.10.6 ------------------------------------------

SET_COLOR = {"name": "setColor", "description": "Set the page color",
             "parameters": {"type": "object", "properties": {"color": {"type": "string"}},
                            "required": ["color"]}}


class Frontend:
    """What react-core 1.10.6 keeps between turns of a chat locked to one agent."""

    def __init__(self, served: ServedRuntime, agent: str) -> None:
        self.served, self.agent = served, agent
        self.thread_id = str(uuid.uuid4())
        self.messages: list[dict[str, Any]] = []
        self.state: dict[str, Any] = {}
        self.node_name: str | None = None

    def send(self, text: str | None = None, **fields: Any) -> dict[str, Any]:
        if text is not None:
            self.messages.append({"id": str(uuid.uuid4()), "role": "user", "content": text})
        session = {"agentName": self.agent, "threadId": self.thread_id}
        if self.node_name:
            session["nodeName"] = self.node_name
        step = generate_step(threadId=self.thread_id, agentSession=session,
                             messages=list(self.messages),
                             agentStates=[{"agentName": self.agent, "state": self.state}], **fields)
        result: dict[str, Any] = run_client(self.served.url, [step])["result"]
        assert result["error"] is None, result["error"]
        assert result["status"]["code"] == "Success", result["status"]
        for message in result["messages"]:
            if message["__typename"] == "TextMessageOutput":
                self.messages.append({"id": message["id"], "role": "assistant",
                                      "content": message["content"]})
            elif message["__typename"] == "ActionExecutionMessageOutput":
                self.messages.append({"type": "action", "id": message["id"], "name": message["name"],
                                      "arguments": json.loads(message["arguments"]),
                                      "parentMessageId": message.get("parentMessageId")})
        states = [m for m in result["messages"] if m["__typename"] == "AgentStateMessageOutput"]
        if states:
            last = states[-1]
            self.state = {k: v for k, v in last["state"].items() if k != "messages"}
            self.node_name = last["nodeName"] if last["running"] else None
        return result


def gql_texts(result: dict[str, Any]) -> list[str]:
    return [m["content"] for m in result["messages"] if m["__typename"] == "TextMessageOutput"]


def test_v1_client_text_state_tool_call_and_interrupt(served: ServedRuntime) -> None:
    chat = Frontend(served, "remote")
    hello = chat.send("hello")
    assert gql_texts(hello) == ["Hello from the remote graph"]
    [reply] = [m for m in hello["messages"] if m["__typename"] == "TextMessageOutput"]
    assert reply["contentChunks"] > 1  # streamed, not buffered

    remembered = chat.send("remember eggs")
    assert gql_texts(remembered) == ["I will remember eggs"]
    assert chat.state["notes"] == ["eggs"]

    asked = chat.send("color red", actions=[SET_COLOR])
    [call] = [m for m in asked["messages"] if m["__typename"] == "ActionExecutionMessageOutput"]
    assert call["name"] == "setColor" and json.loads(call["arguments"]) == {"color": "red"}
    chat.messages.append({"type": "result", "id": f"result-{call['id']}",
                          "actionExecutionId": call["id"], "actionName": "setColor",
                          "result": "red is on"})
    followed = chat.send(actions=[SET_COLOR])
    assert gql_texts(followed) == ["Color red is on applied"]

    interrupted = chat.send("approve")
    [event] = interrupted["metaEvents"]
    assert event["name"] == "LangGraphInterruptEvent"
    assert event["value"] == "Approve the plan?"
    resumed = chat.send(metaEvents=[{"name": "LangGraphInterruptEvent", "value": event["value"],
                                     "response": "yes please"}])
    assert resumed["metaEvents"] == []
    assert "You answered yes please" in json.dumps(resumed["messages"])


def test_v1_client_going_away_closes_the_remote_stream(served: ServedRuntime,
                                                       remote: RemoteServer) -> None:
    """The real GraphQL client process is killed mid-answer (a browser tab closing)."""
    thread = str(uuid.uuid4())
    scenario = {"url": served.url, "steps": [generate_step(
        "hold", threadId=thread, agentSession={"agentName": "remote", "threadId": thread})]}
    client = subprocess.Popen(["node", str(NODE_CLIENT)], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, cwd=NODE_CLIENT.parent)
    try:
        assert client.stdin is not None
        client.stdin.write(json.dumps(scenario).encode())
        client.stdin.close()
        entry = remote.wait_for(lambda seen: next(
            (e for e in seen if (e.get("body") or {}).get("threadId") == thread), None), "the run")
        assert entry["disconnected"] is False  # the remote is holding the run open
        client.kill()
        client.wait(10)
        entry = remote.wait_for(
            lambda seen: next((e for e in seen if (e.get("body") or {}).get("threadId") == thread
                               and e["disconnected"]), None), "the abandoned run's close")
        assert entry["completed"] is False
    finally:
        if client.poll() is None:
            client.kill()
        remote.release()
