"""GraphQL input → RunRequest, and the message conversions (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest

from copilotkit_runtime.errors import InvalidRequestError
from copilotkit_runtime.graphql.convert import input_messages_to_agui, snapshot_messages_to_json
from copilotkit_runtime.graphql.inputs import build_run_request, requested_agent

AT = "2026-11-22T02:09:29.494Z"


def text(mid: str, role: str, content: str, parent: str | None = None) -> dict[str, Any]:
    return {"id": mid, "createdAt": AT, "textMessage": {"role": role, "content": content,
                                                        "parentMessageId": parent}}


def data(**extra: Any) -> dict[str, Any]:
    return {"metadata": {"requestType": "Chat"}, "messages": [text("u1", "user", "hi")],
            "frontend": {"actions": [], "url": "http://app"}, "threadId": "t1", **extra}


def test_messages_become_agui_messages_with_tool_calls_on_their_parent() -> None:
    messages = input_messages_to_agui([
        text("s", "system", "be nice"),
        text("u1", "user", "add milk"),
        text("a1", "assistant", "sure"),
        {"id": "tc1", "createdAt": AT, "actionExecutionMessage": {
            "name": "addTodo", "arguments": '{"title":"milk"}', "parentMessageId": "a1"}},
        {"id": "tc2", "createdAt": AT, "actionExecutionMessage": {
            "name": "notify", "arguments": "{}", "parentMessageId": None}},
        {"id": "r1", "createdAt": AT, "resultMessage": {
            "actionExecutionId": "tc1", "actionName": "addTodo", "result": "added"}},
        {"id": "st", "createdAt": AT, "agentStateMessage": {
            "threadId": "t", "agentName": "a", "role": "assistant", "state": "{}", "running": True,
            "nodeName": "n", "runId": "r", "active": True}},
        {"id": "img", "createdAt": AT, "imageMessage": {"format": "png", "bytes": "AAA", "role": "user"}},
    ])
    dumped = [m.model_dump(mode="json", by_alias=True, exclude_none=True) for m in messages]
    assert [(m["id"], m["role"]) for m in dumped] == [
        ("s", "system"), ("u1", "user"), ("a1", "assistant"), ("tc2", "assistant"),
        ("r1", "tool"), ("img", "user")]
    assert dumped[2]["content"] == "sure"
    assert dumped[2]["toolCalls"] == [{"id": "tc1", "type": "function",
                                       "function": {"name": "addTodo", "arguments": '{"title":"milk"}'}}]
    assert dumped[3]["toolCalls"][0]["id"] == "tc2"
    assert dumped[4]["toolCallId"] == "tc1" and dumped[4]["content"] == "added"
    assert dumped[5]["content"][0]["type"] == "image"


def test_stored_messages_become_the_json_react_core_loads() -> None:
    assert snapshot_messages_to_json([
        {"id": "u1", "role": "user", "content": "hi"},
        {"id": "a1", "role": "assistant", "content": "", "toolCalls": [
            {"id": "tc1", "type": "function", "function": {"name": "f", "arguments": "not json"}}]},
        {"id": "t1", "role": "tool", "content": "ok", "toolCallId": "tc1"},
    ]) == [
        {"id": "u1", "role": "user", "content": "hi"},
        {"id": "tc1", "name": "f", "arguments": {}, "parentMessageId": "a1"},
        {"id": "t1", "result": "ok", "actionExecutionId": "tc1", "actionName": "f"},
    ]


def test_everything_the_client_sends_reaches_the_run_request() -> None:
    request = build_run_request(data(
        frontend={"url": "http://app", "actions": [
            {"name": "on", "description": "d", "jsonSchema": '{"type":"object"}', "available": "enabled"},
            {"name": "off", "description": "d", "jsonSchema": "{}", "available": "disabled"},
            {"name": "plain", "description": "d", "jsonSchema": "{}", "available": None}]},
        context=[{"description": "name", "value": "Ada"}],
        forwardedParameters={"model": "m", "temperature": None, "stop": ["x"]},
        agentSession={"agentName": "a", "threadId": "ignored", "nodeName": "node_1"},
        agentStates=[{"agentName": "other", "state": '{"no": 1}'},
                     {"agentName": "a", "state": '{"todos": [1], "messages": [{"id": "x"}]}',
                      "config": '{"recursion_limit": 5}'}],
        metaEvents=[{"name": "LangGraphInterruptEvent", "value": '{"q":1}', "response": "yes"},
                    {"name": "LangGraphInterruptEvent", "value": "unanswered", "response": None}],
        cloud={"guardrails": {"inputValidationRules": {"allowList": ["todos"], "denyList": []}}},
    ), {"tenant": "acme"}, agent="a", principal="user-1")
    assert request.agent == "a" and request.thread_id == "t1" and request.protocol == "graphql"
    assert [t.name for t in request.tools] == ["on", "plain"]
    assert request.tools[0].parameters == {"type": "object"}
    assert [(c.description, c.value) for c in request.context] == [("name", "Ada")]
    assert request.forwarded_props == {"model": "m", "stop": ["x"]}
    assert request.state == {"todos": [1]}
    assert request.config == {"recursion_limit": 5}
    assert request.node_name == "node_1"
    [resume] = request.resume
    assert (resume.status, resume.payload) == ("resolved", "yes")
    assert resume.metadata == {"name": "LangGraphInterruptEvent", "value": '{"q":1}'}
    assert request.guardrail_rules is not None and request.guardrail_rules.allow_list == ["todos"]
    assert request.properties == {"tenant": "acme"} and request.principal == "user-1"
    assert request.metadata["frontendUrl"] == "http://app"
    assert request.run_id  # a fresh id when the client sends none


def test_no_agent_state_means_an_empty_starting_state() -> None:
    request = build_run_request(data(), None, agent="a")
    assert request.state == {} and request.config is None and request.resume == []
    assert request.guardrail_rules is None and requested_agent(data()) is None


@pytest.mark.parametrize(("extra", "message"), [
    ({"agentStates": [{"agentName": "a", "state": "{oops"}]}, "agentStates[a].state is not valid JSON"),
    ({"agentStates": [{"agentName": "a", "state": "[1]"}]}, "must be a JSON object"),
    ({"frontend": {"actions": [{"name": "x", "description": "", "jsonSchema": "nope"}]}},
     "jsonSchema of frontend action 'x'"),
])
def test_unusable_input_is_a_clear_error(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message.replace("[", r"\[").replace("]", r"\]")):
        build_run_request(data(**extra), None, agent="a")
