"""A graph deployed on a real LangGraph Agent Server (``langgraph dev``) through our runtime,
driven by the real npm clients: ``@copilotkit/core`` 1.75 (AG-UI v2) and
``@copilotkit/runtime-client-gql`` 1.10.6 (GraphQL v1). Text, a frontend tool call and its
result, state, an interrupt and its answer, a page reload, and a stop that cancels the run on
the deployment."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from node_client import generate_step, requires_node, run_client
from platform_helpers import DevServer

from copilotkit_provider_langgraph_platform import platform_thread_id
from copilotkit_runtime.testing import ServedRuntime, make_runtime, serve_runtime

pytestmark = [pytest.mark.node, pytest.mark.slow, requires_node]

NODE_V2 = Path(__file__).parents[3] / "tests" / "node-v2"
NODE_CLIENT = Path(__file__).parents[3] / "tests" / "node" / "client.mjs"


def run_v2(scenario: dict[str, Any]) -> dict[str, Any]:
    if (
        shutil.which("node") is None
        or not (NODE_V2 / "node_modules" / "@copilotkit" / "core").is_dir()
    ):
        pytest.skip("npm packages missing: run `npm ci --prefix tests/node-v2`")
    done = subprocess.run(
        ["node", "client.mjs", json.dumps(scenario)],
        cwd=NODE_V2,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def served(platform: DevServer) -> Iterator[ServedRuntime]:
    runtime = make_runtime(
        {
            "agents": {
                "assistant": {
                    "provider": "langgraph-platform",
                    "deployment_url": platform.url,
                    "description": "A deployed graph",
                    "api_key": "${PLATFORM_KEY}",
                },
            }
        },
        env={"PLATFORM_KEY": platform.api_key}, load_entry_points=True,
    )
    with serve_runtime(runtime) as served:
        yield served


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["content"] for m in messages if m.get("role") == "assistant" and m.get("content")]


def deployment_messages(platform: DevServer, thread_id: str) -> list[dict[str, Any]]:
    state = platform.get(f"/threads/{platform_thread_id(thread_id)}/state")
    return state["values"].get("messages") or []


# -- AG-UI v2: @copilotkit/core ----------------------------------------------------------------


@pytest.mark.parametrize("transport", ["rest", "single"])
def test_v2_client_text_tool_call_state_and_reload(
    served: ServedRuntime, platform: DevServer, transport: str
) -> None:
    thread = str(uuid.uuid4())
    result = run_v2(
        {
            "url": served.url,
            "transport": transport,
            "agent": "assistant",
            "threadId": thread,
            "steps": [
                {"op": "run", "text": "hello"},
                {"op": "run", "text": "color blue"},
                {"op": "run", "text": "count"},
                {"op": "run", "text": "count"},
                {"op": "connect"},
            ],
        }
    )
    assert result["errors"] == []
    assert "assistant" in result["agents"]
    hello, color, first, second, connect = result["steps"]
    assert texts(hello["messages"]) == ["Hello from the platform: hello"]
    # The deployed graph called the frontend tool; the client ran it and the follow-up run
    # sent its result back to the same deployment thread.
    assert result["toolCalls"] == [{"color": "blue"}]
    assert texts(color["messages"])[-1] == "Color color set to blue applied"
    assert first["state"]["counter"] == 1 and texts(first["messages"])[-1] == "The counter is 1"
    assert second["state"]["counter"] == 2 and texts(second["messages"])[-1] == "The counter is 2"
    # A fresh client (a page reload) gets the thread back.
    assert texts(connect["messages"]) == texts(second["messages"])
    assert connect["state"]["counter"] == 2
    # The deployment holds the conversation: the tool call, its result, the answers.
    held = deployment_messages(platform, thread)
    assert [m["type"] for m in held] == [
        "human",
        "ai",
        "human",
        "ai",
        "tool",
        "ai",
        "human",
        "ai",
        "human",
        "ai",
    ]
    assert held[4]["content"] == "color set to blue"


def test_v2_client_interrupt_and_resume(served: ServedRuntime, platform: DevServer) -> None:
    thread = str(uuid.uuid4())
    result = run_v2(
        {
            "url": served.url,
            "agent": "assistant",
            "threadId": thread,
            "steps": [
                {"op": "run", "text": "interrupt the plan"},
                {"op": "resume", "payload": {"approved": True}},
            ],
        }
    )
    assert result["errors"] == []
    asked, resumed = result["steps"]
    [interrupt] = asked["interrupts"]
    assert interrupt["reason"] == "langgraph_interrupt"
    assert interrupt["metadata"]["value"] == {
        "question": "Approve the plan?",
        "asked": "interrupt the plan",
    }
    assert resumed["answered"] == 1 and resumed["interrupts"] == []
    assert texts(resumed["messages"])[-1] == 'You answered: {"approved": true}'
    assert resumed["state"]["approval"] == {"approved": True}
    state = platform.get(f"/threads/{thread}/state")
    assert state["next"] == [] and state["values"]["approval"] == {"approved": True}


def test_v2_stop_cancels_the_run_on_the_deployment(
    served: ServedRuntime, platform: DevServer
) -> None:
    thread = str(uuid.uuid4())
    result = run_v2(
        {
            "url": served.url,
            "agent": "assistant",
            "threadId": thread,
            "steps": [{"op": "run-and-stop", "text": "slow"}],
        }
    )
    [step] = result["steps"]
    assert step["stopped"] is True and "exception" not in step
    [run] = platform.wait_for(
        lambda: [r for r in platform.runs(thread) if r["status"] not in ("pending", "running")],
        "the stopped run ending",
    )
    assert run["status"] == "interrupted"  # cancelled, not finished
    # The graph never wrote its 400-word answer.
    assert not any("w399" in json.dumps(m) for m in deployment_messages(platform, thread))


# -- GraphQL v1: @copilotkit/runtime-client-gql 1.10.6 ------------------------------------------

SET_COLOR = {
    "name": "setColor",
    "description": "Set the page color",
    "parameters": {
        "type": "object",
        "properties": {"color": {"type": "string"}},
        "required": ["color"],
    },
}


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
        step = generate_step(
            threadId=self.thread_id,
            agentSession=session,
            messages=list(self.messages),
            agentStates=[{"agentName": self.agent, "state": self.state}],
            **fields,
        )
        result: dict[str, Any] = run_client(self.served.url, [step])["result"]
        assert result["error"] is None, result["error"]
        assert result["status"]["code"] == "Success", result["status"]
        for message in result["messages"]:
            if message["__typename"] == "TextMessageOutput":
                self.messages.append(
                    {"id": message["id"], "role": "assistant", "content": message["content"]}
                )
            elif message["__typename"] == "ActionExecutionMessageOutput":
                self.messages.append(
                    {
                        "type": "action",
                        "id": message["id"],
                        "name": message["name"],
                        "arguments": json.loads(message["arguments"]),
                        "parentMessageId": message.get("parentMessageId"),
                    }
                )
        states = [m for m in result["messages"] if m["__typename"] == "AgentStateMessageOutput"]
        if states:
            last = states[-1]
            self.state = {k: v for k, v in last["state"].items() if k != "messages"}
            self.node_name = last["nodeName"] if last["running"] else None
        return result


def gql_texts(result: dict[str, Any]) -> list[str]:
    return [m["content"] for m in result["messages"] if m["__typename"] == "TextMessageOutput"]


def test_v1_client_text_state_tool_call_interrupt_and_load_state(
    served: ServedRuntime, platform: DevServer
) -> None:
    chat = Frontend(served, "assistant")
    hello = chat.send("hello")
    assert gql_texts(hello) == ["Hello from the platform: hello"]
    [reply] = [m for m in hello["messages"] if m["__typename"] == "TextMessageOutput"]
    assert reply["contentChunks"] > 1  # streamed from the deployment, not buffered

    counted = chat.send("count")
    assert gql_texts(counted) == ["The counter is 1"]
    assert chat.state["counter"] == 1
    steps = [
        m["nodeName"] for m in counted["messages"] if m["__typename"] == "AgentStateMessageOutput"
    ]
    assert "count" in steps and "chat" in steps  # the deployed graph's nodes, as they ran

    asked = chat.send("color red", actions=[SET_COLOR])
    [call] = [m for m in asked["messages"] if m["__typename"] == "ActionExecutionMessageOutput"]
    assert call["name"] == "setColor" and json.loads(call["arguments"]) == {"color": "red"}
    chat.messages.append(
        {
            "type": "result",
            "id": f"result-{call['id']}",
            "actionExecutionId": call["id"],
            "actionName": "setColor",
            "result": "red is on",
        }
    )
    followed = chat.send(actions=[SET_COLOR])
    assert gql_texts(followed) == ["Color red is on applied"]

    interrupted = chat.send("interrupt now")
    [event] = interrupted["metaEvents"]
    assert event["name"] == "LangGraphInterruptEvent"
    assert json.loads(event["value"]) == {"question": "Approve the plan?", "asked": "interrupt now"}
    resumed = chat.send(
        metaEvents=[
            {"name": "LangGraphInterruptEvent", "value": event["value"], "response": "yes please"}
        ]
    )
    assert resumed["metaEvents"] == []
    assert gql_texts(resumed) == ['You answered: "yes please"']

    loaded = run_client(
        served.url, [{"op": "loadAgentState", "threadId": chat.thread_id, "agentName": "assistant"}]
    )["result"]
    assert loaded["error"] is None
    assert loaded["data"]["loadAgentState"]["threadExists"] is True
    assert loaded["state"]["approval"] == "yes please" and loaded["state"]["counter"] == 1
    assert any(m.get("content") == 'You answered: "yes please"' for m in loaded["messages"])


def test_v1_client_going_away_cancels_the_run(served: ServedRuntime, platform: DevServer) -> None:
    """The real GraphQL client process is killed mid-answer (a browser tab closing)."""
    thread = str(uuid.uuid4())
    scenario = {
        "url": served.url,
        "steps": [
            generate_step(
                "slow", threadId=thread, agentSession={"agentName": "assistant", "threadId": thread}
            )
        ],
    }
    client = subprocess.Popen(
        ["node", str(NODE_CLIENT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        cwd=NODE_CLIENT.parent,
    )
    try:
        assert client.stdin is not None
        client.stdin.write(json.dumps(scenario).encode())
        client.stdin.close()
        platform.wait_for(
            lambda: [r for r in platform.runs(thread) if r["status"] == "running"],
            "the run streaming",
        )
        client.kill()
        client.wait(10)
        [run] = platform.wait_for(
            lambda: [r for r in platform.runs(thread) if r["status"] not in ("pending", "running")],
            "the abandoned run ending",
        )
        assert run["status"] == "interrupted"
    finally:
        if client.poll() is None:
            client.kill()
    assert not any("w399" in json.dumps(m) for m in deployment_messages(platform, thread))


def test_v1_client_regenerate_forks_the_deployment_thread(
    served: ServedRuntime, platform: DevServer
) -> None:
    chat = Frontend(served, "assistant")
    assert gql_texts(chat.send("count")) == ["The counter is 1"]
    assert gql_texts(chat.send("count")) == ["The counter is 2"]
    # react-core 1.10.6's "regenerate": the history up to the last user message, sent again.
    # The client echoes the state it last saw (counter 2); the run starts from the checkpoint
    # before the message (counter 1) and counts to 2 again.
    chat.messages.pop()
    again = chat.send()
    assert gql_texts(again) == ["The counter is 2"]
    held = deployment_messages(platform, chat.thread_id)
    assert [(m["type"], m["content"]) for m in held] == [
        ("human", "count"),
        ("ai", "The counter is 1"),
        ("human", "count"),
        ("ai", "The counter is 2"),
    ]
    assert (
        platform.get(f"/threads/{platform_thread_id(chat.thread_id)}/state")["values"]["counter"]
        == 2
    )
