"""The real @copilotkit/runtime-client-gql 1.10.6 client against a live server.

Each test drives ``tests/node/client.mjs`` (requests built the way react-core 1.10.6 builds
them) and asserts on what the client assembled from our multipart stream.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from node_client import generate_step, requires_node, run_client

from copilotkit_runtime.events import (
    COPILOTKIT_INTERRUPT_EVENT,
    CustomEvent,
    ToolCallResultEvent,
    text_message,
    tool_call,
)
from copilotkit_runtime.testing import ServedRuntime, make_runtime, scripted_plugin, serve_runtime

pytestmark = [pytest.mark.node, requires_node]

SUCCESS = {"code": "Success", "__typename": "SuccessMessageStatus"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRuntime]:
    runtime = make_runtime({
        "default_agent": "demo",
        "agents": {
            "demo": {"provider": "demo", "chunk_delay": 0.002},
            "stateful": {"provider": "scripted", "mode": "count", "description": "Counts"},
            "interrupter": {"provider": "scripted", "mode": "interrupt", "step": "confirm_delete",
                            "interrupt": {"question": "Delete buy milk?", "todo": 1}},
            "ck_interrupter": {"provider": "scripted", "mode": "events", "events": [CustomEvent(
                name=COPILOTKIT_INTERRUPT_EVENT, value={"value": "Clear all todos?", "messages": [
                    {"id": "question-1", "role": "assistant", "content": "Clear all todos?"}]})]},
            "failing": {"provider": "scripted", "mode": "raise_midway", "text": "Partial answer",
                        "error": "database password is hunter2"},
            "echo": {"provider": "scripted", "mode": "echo"},
            "backend": {"provider": "scripted", "mode": "events", "events": [
                *tool_call("lookup", ['{"q":', '"milk"}'], tool_call_id="call-1"),
                ToolCallResultEvent(message_id="result-1", tool_call_id="call-1", content="2 litres"),
                *text_message("You have 2 litres.")]},
        },
    }, plugins={"scripted": scripted_plugin}, tmp_path=tmp_path_factory.mktemp("compat"), load_entry_points=True)
    with serve_runtime(runtime) as server:
        yield server


def one(served: ServedRuntime, step: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = run_client(served.url, [step])["result"]
    return result


def assert_clean(result: dict[str, Any]) -> None:
    """The stream closed normally, with no GraphQL error and no version warning."""
    assert result["error"] is None, result["error"]
    assert result["closed"] is True
    assert result["warnings"] == []
    assert result["threadId"] == result["requestThreadId"]


def test_chat_streams_a_text_reply(served: ServedRuntime) -> None:
    result = one(served, generate_step("Hello there"))
    assert_clean(result)
    assert result["status"] == {"code": "Success", "__typename": "SuccessResponseStatus"}
    [message] = result["messages"]
    assert message["__typename"] == "TextMessageOutput"
    assert message["content"] == "You said: Hello there"
    assert message["contentChunks"] == 4
    assert message["role"] == "assistant" and message["status"] == SUCCESS
    assert [m["type"] for m in result["reactCore"]] == ["TextMessage"]
    # The client saw the reply grow: chunks arrived as separate updates.
    assert result["updates"] > 3 and result["progress"][-1] == 4


def test_frontend_action_streams_its_arguments_then_the_result_comes_back(served: ServedRuntime) -> None:
    action = {"name": "setBackgroundColor", "description": "Set the page background color",
              "parameters": {"type": "object", "properties": {"color": {"type": "string"}},
                             "required": ["color"]}}
    first = one(served, generate_step("Please setBackgroundColor blue", actions=[action]))
    assert_clean(first)
    [call] = first["messages"]
    assert call["__typename"] == "ActionExecutionMessageOutput"
    assert call["name"] == "setBackgroundColor" and call["status"] == SUCCESS
    assert call["argumentsChunks"] > 1
    [view] = first["reactCore"]
    assert view == {"type": "ActionExecutionMessage", "id": call["id"], "status": "Success",
                    "name": "setBackgroundColor", "arguments": {"color": "blue"}}

    # react-core runs the handler and follows up with the call and its result.
    follow_up = one(served, generate_step(
        threadId=first["requestThreadId"], actions=[action],
        messages=[{"role": "user", "content": "Please setBackgroundColor blue"},
                  {"type": "action", "id": call["id"], "name": call["name"],
                   "arguments": {"color": "blue"}, "parentMessageId": call["parentMessageId"]},
                  {"type": "result", "id": f"result-{call['id']}", "actionExecutionId": call["id"],
                   "actionName": call["name"], "result": "color set"}]))
    assert_clean(follow_up)
    assert follow_up["messages"][0]["content"] == "The action returned: color set"


def test_agent_with_state_then_load_agent_state(served: ServedRuntime) -> None:
    thread = str(uuid.uuid4())
    result = one(served, generate_step("count", threadId=thread, agent="stateful",
                                       agentStates=[{"agentName": "stateful", "state": {"count": 41}}]))
    assert_clean(result)
    kinds = [m["__typename"] for m in result["messages"]]
    assert kinds[0] == "AgentStateMessageOutput" and "TextMessageOutput" in kinds
    states = [m for m in result["messages"] if m["__typename"] == "AgentStateMessageOutput"]
    assert all(m["status"] == SUCCESS and m["agentName"] == "stateful" for m in states)
    assert all(m["threadId"] == thread and m["running"] is True for m in states)
    assert states[0]["nodeName"] == "think" and states[0]["active"] is True
    assert states[-1]["active"] is False
    assert states[-1]["state"] == {"count": 42, "status": "done"}
    [text] = [m for m in result["messages"] if m["__typename"] == "TextMessageOutput"]
    assert text["content"] == "Count is 42."
    # react-core collapses adjacent state messages into the last one.
    assert [m["type"] for m in result["reactCore"]] == ["AgentStateMessage", "TextMessage"]

    loaded = one(served, {"op": "loadAgentState", "threadId": thread, "agentName": "stateful"})
    assert loaded["error"] is None
    assert loaded["data"]["loadAgentState"]["threadExists"] is True
    assert loaded["state"] == {"count": 42, "status": "done"}
    assert [(m.get("role"), m.get("content")) for m in loaded["messages"]][-2:] == [
        ("user", "count"), ("assistant", "Count is 42.")]

    unknown = one(served, {"op": "loadAgentState", "threadId": str(uuid.uuid4()), "agentName": "stateful"})
    assert unknown["data"]["loadAgentState"]["threadExists"] is False
    assert (unknown["state"], unknown["messages"]) == ({}, [])


def test_interrupt_and_resume(served: ServedRuntime) -> None:
    thread = str(uuid.uuid4())
    asked = one(served, generate_step("delete buy milk", threadId=thread, agent="interrupter"))
    assert_clean(asked)
    assert asked["status"]["__typename"] == "SuccessResponseStatus"
    [event] = asked["metaEvents"]
    assert event["__typename"] == "LangGraphInterruptEvent"
    assert event["name"] == "LangGraphInterruptEvent" and event["type"] == "MetaEvent"
    # Python's json.dumps spacing, as the CopilotKit SDK sends it.
    assert event["value"] == '{"question": "Delete buy milk?", "todo": 1}'
    last_state = [m for m in asked["messages"] if m["__typename"] == "AgentStateMessageOutput"][-1]
    assert last_state["nodeName"] == "confirm_delete" and last_state["running"] is True

    resumed = one(served, generate_step(
        threadId=thread, messages=[{"role": "user", "content": "delete buy milk"}],
        agentSession={"agentName": "interrupter", "threadId": thread, "nodeName": "confirm_delete"},
        agentStates=[{"agentName": "interrupter", "state": last_state["state"]}],
        metaEvents=[{"name": "LangGraphInterruptEvent",
                     "value": {"question": "Delete buy milk?", "todo": 1}, "response": "yes"}]))
    assert_clean(resumed)
    texts = [m["content"] for m in resumed["messages"] if m["__typename"] == "TextMessageOutput"]
    assert texts == ["You answered: yes"]
    assert resumed["metaEvents"] == []


def test_copilotkit_interrupt_carries_its_question_as_a_message(served: ServedRuntime) -> None:
    result = one(served, generate_step("clear all", agent="ck_interrupter"))
    assert_clean(result)
    [event] = result["metaEvents"]
    assert event["__typename"] == "CopilotKitLangGraphInterruptEvent"
    assert event["data"]["value"] == "Clear all todos?"
    [question] = event["data"]["messages"]
    assert question["__typename"] == "TextMessageOutput" and question["content"] == ["Clear all todos?"]
    assert question["status"] == SUCCESS
    assert {"type": "TextMessage", "id": "question-1", "status": "Success", "role": "assistant",
            "content": "Clear all todos?"} in result["reactCore"]


def test_guardrail_block_is_a_failed_status_the_frontend_shows(served: ServedRuntime) -> None:
    result = one(served, generate_step(
        "Let us talk about politics", cloud={"guardrails": {"inputValidationRules": {
            "allowList": [], "denyList": ["politics"]}}}))
    assert_clean(result)
    status = result["status"]
    assert status["__typename"] == "FailedResponseStatus"
    assert status["reason"] == "GUARDRAILS_VALIDATION_FAILED"
    assert "politics" in status["details"]["guardrailsReason"]
    assert result["messages"] == []


def test_agent_failure_ends_the_stream_with_failed_statuses(served: ServedRuntime) -> None:
    result = one(served, generate_step("hi", agent="failing"))
    assert_clean(result)
    status = result["status"]
    assert status["__typename"] == "FailedResponseStatus" and status["reason"] == "UNKNOWN_ERROR"
    assert "failed" in status["details"]["description"]
    assert "Traceback" not in str(status) and 'File "' not in str(status)
    [text] = result["messages"]
    assert text["content"] == "Partial answer"
    assert text["status"]["__typename"] == "FailedMessageStatus"


def test_unknown_agent_fails_that_request_only(served: ServedRuntime) -> None:
    out = run_client(served.url, [
        generate_step("hi", agent="no_such_agent"),
        generate_step("hi again", agent="stateful"),
        {"op": "availableAgents"},
    ])
    bad, good, agents = out["results"]
    assert bad["error"] is not None
    [error] = bad["error"]["graphQLErrors"]
    assert error["extensions"]["code"] == "AGENT_NOT_FOUND"
    assert "no_such_agent" in error["message"] and "stateful" in error["message"]
    assert_clean(good)
    assert good["status"]["__typename"] == "SuccessResponseStatus"
    names = {a["name"] for a in agents["data"]["availableAgents"]["agents"]}
    assert names == {"demo", "stateful", "interrupter", "ck_interrupter", "failing", "echo", "backend"}


def test_inputs_reach_the_provider(served: ServedRuntime) -> None:
    result = one(served, generate_step(
        "show me", agent="echo",
        actions=[{"name": "addTodo", "description": "Adds a todo",
                  "parameters": {"type": "object", "properties": {"title": {"type": "string"}}}},
                 {"name": "hidden", "description": "off", "available": "disabled"}],
        context=[{"description": "The user's name", "value": "Ada"}],
        forwardedParameters={"temperature": 0.5, "model": "m1"},
        properties={"tenant": "acme"},
        agentStates=[{"agentName": "echo", "state": {"todos": ["milk"]}, "config": {"x": 1}}]))
    assert_clean(result)
    import json

    [text] = [m for m in result["messages"] if m["__typename"] == "TextMessageOutput"]
    seen = json.loads(text["content"])
    assert [t["name"] for t in seen["tools"]] == ["addTodo"]
    assert seen["tools"][0]["parameters"]["properties"]["title"] == {"type": "string"}
    assert seen["context"] == [{"description": "The user's name", "value": "Ada"}]
    assert seen["forwarded_props"] == {"temperature": 0.5, "model": "m1"}
    assert seen["properties"] == {"tenant": "acme"}
    assert seen["state"] == {"todos": ["milk"]} and seen["config"] == {"x": 1}
    assert [m["role"] for m in seen["messages"]] == ["system", "user"]


def test_backend_tool_call_and_its_result(served: ServedRuntime) -> None:
    result = one(served, generate_step("how much milk", agent="backend"))
    assert_clean(result)
    kinds = [m["__typename"] for m in result["messages"] if m["__typename"] != "AgentStateMessageOutput"]
    assert kinds == ["ActionExecutionMessageOutput", "ResultMessageOutput", "TextMessageOutput"]
    call, res, text = [m for m in result["messages"] if m["__typename"] != "AgentStateMessageOutput"]
    assert call["arguments"] == '{"q":"milk"}'
    assert res["result"] == "2 litres" and res["actionName"] == "lookup"
    assert res["actionExecutionId"] == call["id"]
    assert text["content"] == "You have 2 litres."


def test_hello_and_available_agents(served: ServedRuntime) -> None:
    hello, agents = run_client(served.url, [{"op": "hello"}, {"op": "availableAgents"}])["results"]
    assert hello["data"] == {"hello": "Hello World"}
    stateful = next(a for a in agents["data"]["availableAgents"]["agents"] if a["name"] == "stateful")
    assert stateful == {"name": "stateful", "id": "stateful", "description": "Counts",
                        "__typename": "Agent"}
