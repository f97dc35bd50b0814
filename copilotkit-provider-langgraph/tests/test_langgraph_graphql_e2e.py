"""End to end through the GraphQL ("v1") layer with the real ``@copilotkit/runtime-client-gql``
1.10.6 client (``tests/node/client.mjs``, driven by ``tests/node_client.py``).

Each turn is built the way react-core 1.10.6 builds it: the conversation as the last
AgentStateMessage left it (react-core replaces its list with ``state.messages`` of the final
state message), the new user message, ``agentSession`` with the last ``nodeName``, the last
state in ``agentStates``, and answered interrupts in ``metaEvents``.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lg_helpers import TODO_GRAPH, build_runtime

from copilotkit_runtime.testing import ServedRuntime, serve_runtime

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from node_client import generate_step, requires_node, run_client

pytestmark = [pytest.mark.node, requires_node]

ADD_TODO = {"name": "addTodo", "description": "Add a todo in the app",
            "parameters": {"type": "object", "properties": {"title": {"type": "string"}},
                           "required": ["title"]}}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRuntime]:
    runtime = build_runtime({
        "todo_agent": {"provider": "langgraph", "graph": TODO_GRAPH, "checkpointer": "sqlite",
                       "description": "The CopilotKit SDK demo agent"},
        "tools": {"provider": "langgraph", "graph": "lg_test_graphs:make_tools_graph"},
    }, tmp_path_factory.mktemp("graphql-e2e"))
    with serve_runtime(runtime) as server:
        yield server


class Frontend:
    """What react-core keeps between turns for one chat with an agent lock."""

    def __init__(self, served: ServedRuntime, agent: str) -> None:
        self.served = served
        self.agent = agent
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
        assert result["closed"] is True and result["warnings"] == []
        assert result["status"]["code"] == "Success", result["status"]
        states = agent_states(result)
        if states:
            last = states[-1]
            self.state = {k: v for k, v in last["state"].items() if k != "messages"}
            self.node_name = last["nodeName"] if last["running"] else None
            if "messages" in last["state"]:
                self.messages = [_as_input(m) for m in last["state"]["messages"]]
        return result


def agent_states(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in result["messages"] if m["__typename"] == "AgentStateMessageOutput"]


def texts(result: dict[str, Any]) -> list[str]:
    return [m["content"] for m in result["messages"] if m["__typename"] == "TextMessageOutput"]


def _as_input(message: dict[str, Any]) -> dict[str, Any]:
    """A message of ``state.messages`` (CopilotKit JSON) as the next request's input."""
    if "result" in message:
        return {"type": "result", "id": message["id"], "actionExecutionId": message["actionExecutionId"],
                "actionName": message["actionName"], "result": message["result"]}
    if "arguments" in message:
        return {"type": "action", "id": message["id"], "name": message["name"],
                "arguments": message["arguments"], "parentMessageId": message.get("parentMessageId")}
    return {"id": message["id"], "role": message["role"], "content": message["content"]}


def test_sdk_agent_state_action_round_trip_interrupt_and_load(served: ServedRuntime) -> None:
    chat = Frontend(served, "todo_agent")

    added = chat.send("add buy milk")
    [reply] = [m for m in added["messages"] if m["__typename"] == "TextMessageOutput"]
    assert reply["content"] == "Added buy milk. You have 1 todos: buy milk."
    assert reply["contentChunks"] > 1  # streamed token by token
    states = agent_states(added)
    emitted = [s for s in states if s["state"].get("todos", [{}])[-1].get("saving")]
    assert emitted and emitted[0]["nodeName"] == "add_todo" and emitted[0]["active"] is True
    last = states[-1]
    assert (last["nodeName"], last["active"], last["running"]) == ("__end__", False, True)
    assert last["state"]["todos"] == [{"id": "todo-1", "title": "buy milk", "done": False}]

    # A frontend action: the run ends with the call, react-core runs it and follows up.
    asked = chat.send("Please add water the plants with the app", actions=[ADD_TODO])
    [call] = [m for m in asked["messages"] if m["__typename"] == "ActionExecutionMessageOutput"]
    assert call["name"] == "addTodo" and json.loads(call["arguments"]) == {"title": "water the plants"}
    assert call["argumentsChunks"] >= 2
    assert texts(asked) == []
    chat.messages.append({"type": "result", "id": f"result-{call['id']}", "actionExecutionId": call["id"],
                          "actionName": "addTodo", "result": "Added water the plants"})
    followed = chat.send(actions=[ADD_TODO])
    assert texts(followed) == ["The app says: Added water the plants. You have 1 todos: buy milk."]
    # The client's copy of the tool-call message was recognised, not added a second time.
    ids = [m["id"] for m in chat.messages]
    assert len(ids) == len(set(ids))
    assert [m.get("type", m.get("role")) for m in chat.messages] == [
        "user", "assistant", "user", "action", "result", "assistant"]

    # LangGraph interrupt(): a meta event, then the answer resumes the checkpoint.
    interrupted = chat.send("delete buy milk")
    [event] = interrupted["metaEvents"]
    assert event["name"] == "LangGraphInterruptEvent"
    assert json.loads(event["value"]) == {"question": "Delete buy milk?",
                                          "todo": {"id": "todo-1", "title": "buy milk", "done": False}}
    assert chat.node_name == "confirm_delete"
    resumed = chat.send(metaEvents=[{"name": "LangGraphInterruptEvent", "value": event["value"],
                                     "response": "yes"}])
    assert texts(resumed) == ["Deleted buy milk. You have 0 todos: none."]
    assert resumed["metaEvents"] == []
    assert chat.state["todos"] == []

    loaded = run_client(served.url, [{"op": "loadAgentState", "threadId": chat.thread_id,
                                      "agentName": "todo_agent"}])["result"]
    assert loaded["data"]["loadAgentState"]["threadExists"] is True
    assert loaded["state"]["todos"] == []
    assert [m.get("content") for m in loaded["messages"]][-1] == "Deleted buy milk. You have 0 todos: none."
    unknown = run_client(served.url, [{"op": "loadAgentState", "threadId": str(uuid.uuid4()),
                                       "agentName": "todo_agent"}])["result"]
    assert unknown["data"]["loadAgentState"]["threadExists"] is False


def test_sdk_agent_copilotkit_interrupt_helpers_and_exit(served: ServedRuntime) -> None:
    chat = Frontend(served, "todo_agent")
    chat.send("add buy milk")

    asked = chat.send("clear all")
    [event] = asked["metaEvents"]
    assert event["name"] == "CopilotKitLangGraphInterruptEvent"
    assert event["data"]["value"] == "Clear all 1 todos? Answer yes or no."
    [question] = event["data"]["messages"]
    assert texts(asked) == []
    # react-core shows the question as a chat message; the user answers in the chat.
    chat.messages.append({"id": question["id"], "role": "assistant", "content": question["content"][0]})
    answered = chat.send("yes please")
    assert texts(answered) == ["Cleared. You have 0 todos."]
    assert chat.state["todos"] == []

    summary = chat.send("summary", actions=[{"name": "showTodoCount", "description": "Show counts",
                                             "parameters": {"type": "object", "properties": {}}}])
    assert texts(summary) == ["Counting your todos..."]  # the hidden model call streams nothing
    [shown] = [m for m in summary["messages"] if m["__typename"] == "ActionExecutionMessageOutput"]
    assert shown["name"] == "showTodoCount" and json.loads(shown["arguments"]) == {"open": 0, "done": 0}

    bye = chat.send("bye")
    assert texts(bye) == ["Goodbye! Your todos are saved."]
    assert agent_states(bye)[-1]["running"] is False


def test_plain_graph_backend_tool_streams_call_and_result(served: ServedRuntime) -> None:
    chat = Frontend(served, "tools")
    result = chat.send("what is the weather")
    kinds = [m["__typename"] for m in result["messages"] if m["__typename"] != "AgentStateMessageOutput"]
    assert kinds == ["TextMessageOutput", "ActionExecutionMessageOutput", "ResultMessageOutput",
                     "TextMessageOutput"]
    call = next(m for m in result["messages"] if m["__typename"] == "ActionExecutionMessageOutput")
    outcome = next(m for m in result["messages"] if m["__typename"] == "ResultMessageOutput")
    assert (call["name"], json.loads(call["arguments"])) == ("get_weather", {"city": "Paris"})
    assert (outcome["actionExecutionId"], outcome["actionName"], outcome["result"]) == (
        call["id"], "get_weather", "Sunny in Paris")
    assert texts(result) == ["Let me check.", "The tool said: Sunny in Paris"]
    agents = run_client(served.url, [{"op": "availableAgents"}])["result"]["data"]
    names = {a["name"]: a["description"] for a in agents["availableAgents"]["agents"]}
    assert names["todo_agent"] == "The CopilotKit SDK demo agent" and "tools" in names
