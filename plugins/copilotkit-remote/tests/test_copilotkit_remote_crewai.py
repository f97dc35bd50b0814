"""CrewAI agents of a REAL CopilotKit SDK endpoint: ``copilotkit.crewai.CrewAIAgent`` flows
(SDK 0.1.96 with crewai 0.118.0, in their own environment, ``crewai_sdk/server.py``) served by
``CopilotKitRemoteEndpoint`` + ``add_fastapi_endpoint`` in a subprocess; their model is the
fake OpenAI-compatible server, called through litellm. Our runtime reaches them with provider
``copilotkit-remote``; clients are real HTTP (AG-UI v2) and the v1 npm client."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from crewai_sdk_helpers import CrewAISdkServer, start_crewai_sdk
from node_client import generate_step, requires_node, run_client

from copilotkit_runtime.testing import ServedRuntime, make_runtime, serve_runtime
from copilotkit_runtime.testing.fake_llm import FakeLLMServer, Turn

pytestmark = [pytest.mark.slow]

SET_COLOR = {"name": "setColor", "description": "Set the page's color",
             "parameters": {"type": "object", "properties": {"color": {"type": "string"}},
                            "required": ["color"]}}


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture(scope="module")
def sdk(llm: FakeLLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrewAISdkServer]:
    server = start_crewai_sdk(tmp_path_factory.mktemp("crewai-sdk"), llm.openai_url)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def served(sdk: CrewAISdkServer) -> Iterator[ServedRuntime]:
    config = {"agents": {"crew_sdk": {"provider": "copilotkit-remote", "url": sdk.url}}}
    with serve_runtime(make_runtime(config, load_entry_points=True)) as runtime:
        yield runtime


def run(url: str, agent: str, messages: list[dict[str, Any]], *, thread: str | None = None,
        tools: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    body = {"threadId": thread or str(uuid.uuid4()), "runId": str(uuid.uuid4()), "state": {},
            "tools": tools or [], "context": [], "forwardedProps": {}, "messages": messages}
    response = httpx.post(f"{url}/agent/{agent}/run", json=body, timeout=120)
    assert response.status_code == 200, response.text
    frames = [f for f in response.text.split("\n\n") if f.strip() and not f.startswith(":")]
    return [json.loads(f.removeprefix("data: ")) for f in frames]


def user(text: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "role": "user", "content": text}


def texts(events: list[dict[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in events:
        if e["type"] == "TEXT_MESSAGE_CONTENT":
            out[e["messageId"]] = out.get(e["messageId"], "") + e["delta"]
    return out


def last_state(events: list[dict[str, Any]]) -> dict[str, Any]:
    return [e["snapshot"] for e in events if e["type"] == "STATE_SNAPSHOT"][-1]


def test_the_endpoint_s_crewai_agents_are_discovered(served: ServedRuntime) -> None:
    info = httpx.get(f"{served.url}/info", timeout=10).json()
    agents = info["agents"]
    assert {"chat_flow", "emit_flow", "broken_flow"} <= set(agents)
    assert agents["chat_flow"]["description"] == "A CrewAI chat flow"


def test_a_flow_streams_its_answer_and_state(served: ServedRuntime, llm: FakeLLMServer) -> None:
    llm.reset()
    thread = str(uuid.uuid4())
    first = [user("hello there")]
    events = run(served.url, "chat_flow", first, thread=thread)
    assert events[0]["type"] == "RUN_STARTED" and events[-1]["type"] == "RUN_FINISHED"
    [(first_id, answer)] = texts(events).items()
    assert answer == "You said: hello there"
    assert first_id  # the SDK sends messageId "": the answer gets an id of its own
    state = last_state(events)
    assert state == {"turns": 1, "mood": "calm"}  # messages, copilotkit and id are not state
    facts = [e["value"] for e in events if e["type"] == "CUSTOM" and e["name"] == "copilotkit_agent_state"]
    assert facts[-1] == {"nodeName": "chat", "active": False, "running": True}
    # The model got the flow's system prompt and the conversation as litellm sends it.
    sent = llm.requests[-1]["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [
        ("system", "You are a test flow."), ("user", "hello there")]

    # A second turn: the whole history reaches the flow; the new answer is another message.
    history = [*first, {"id": first_id, "role": "assistant", "content": answer}, user("again")]
    events = run(served.url, "chat_flow", history, thread=thread)
    [(second_id, again)] = texts(events).items()
    assert again == "You said: again" and second_id != first_id
    assert [m["role"] for m in llm.requests[-1]["messages"]] == ["system", "user", "assistant", "user"]


def test_a_frontend_action_is_called_and_its_result_answered(served: ServedRuntime,
                                                            llm: FakeLLMServer) -> None:
    llm.reset()
    llm.script(Turn(tool_calls=[("setColor", {"color": "teal"})]))
    thread = str(uuid.uuid4())
    messages = [user("make it teal")]
    events = run(served.url, "chat_flow", messages, thread=thread, tools=[SET_COLOR])
    [start] = [e for e in events if e["type"] == "TOOL_CALL_START"]
    assert start["toolCallName"] == "setColor"
    args = "".join(e["delta"] for e in events if e["type"] == "TOOL_CALL_ARGS")
    assert json.loads(args) == {"color": "teal"}
    assert [e["type"] for e in events if e.get("toolCallId") == start["toolCallId"]] == [
        "TOOL_CALL_START", *["TOOL_CALL_ARGS"] * sum(e["type"] == "TOOL_CALL_ARGS" for e in events),
        "TOOL_CALL_END"]
    # The flow saw the action in the OpenAI tool format.
    assert [t["function"]["name"] for t in llm.requests[-1]["tools"]] == ["setColor"]

    # The client ran it: the result goes back as a tool message, the flow answers it.
    call = {"id": start["toolCallId"], "type": "function",
            "function": {"name": "setColor", "arguments": args}}
    messages += [{"id": str(uuid.uuid4()), "role": "assistant", "toolCalls": [call]},
                 {"id": str(uuid.uuid4()), "role": "tool", "toolCallId": start["toolCallId"],
                  "content": "color set to teal"}]
    events = run(served.url, "chat_flow", messages, thread=thread, tools=[SET_COLOR])
    assert list(texts(events).values()) == ["The action returned: color set to teal"]
    sent = llm.requests[-1]["messages"]
    assert sent[-2]["tool_calls"][0]["function"]["name"] == "setColor"
    assert (sent[-1]["role"], sent[-1]["tool_call_id"]) == ("tool", start["toolCallId"])


def test_manual_emits_reach_the_client(served: ServedRuntime) -> None:
    events = run(served.url, "emit_flow", [user("go")])
    assert list(texts(events).values()) == ["Working on it"]
    [start] = [e for e in events if e["type"] == "TOOL_CALL_START"]
    assert start["toolCallName"] == "showProgress"
    args = "".join(e["delta"] for e in events if e["type"] == "TOOL_CALL_ARGS")
    assert json.loads(args) == {"percent": 50}
    snapshots = [e["snapshot"] for e in events if e["type"] == "STATE_SNAPSHOT"]
    assert {"step": "searching"} in snapshots  # copilotkit_emit_state
    assert last_state(events) == {"step": "done"}
    assert events[-1]["type"] == "RUN_FINISHED"


def test_copilotkit_exit_ends_the_agent(served: ServedRuntime) -> None:
    events = run(served.url, "chat_flow", [user("bye")])
    assert list(texts(events).values()) == ["You said: bye"]
    assert any(e["type"] == "CUSTOM" and e["name"] == "copilotkit_exit" for e in events)
    facts = [e["value"] for e in events if e["type"] == "CUSTOM" and e["name"] == "copilotkit_agent_state"]
    assert facts[-1]["running"] is False


def test_a_failing_flow_fails_only_its_run(served: ServedRuntime) -> None:
    # The SDK keeps a flow's exception to itself (its run loop prints it and ends the stream
    # as finished): the run ends without an answer, and the endpoint serves the next run.
    events = run(served.url, "broken_flow", [user("go")])
    assert events[-1]["type"] in ("RUN_FINISHED", "RUN_ERROR")
    assert texts(events) == {}
    again = run(served.url, "chat_flow", [user("still there?")])
    assert list(texts(again).values()) == ["You said: still there?"]


def test_an_endpoint_that_dies_fails_the_run_with_a_clear_error(
        llm: FakeLLMServer, tmp_path: Path) -> None:
    sdk = start_crewai_sdk(tmp_path, llm.openai_url)
    config = {"agents": {"crew_sdk": {"provider": "copilotkit-remote", "url": sdk.url}}}
    try:
        with serve_runtime(make_runtime(config, load_entry_points=True)) as runtime:
            sdk.stop()
            events = run(runtime.url, "chat_flow", [user("hello")])
    finally:
        sdk.stop()
    assert events[-1]["type"] == "RUN_ERROR"
    assert "CopilotKit remote agent 'chat_flow'" in events[-1]["message"]
    assert "could not be reached" in events[-1]["message"]


@pytest.mark.node
@requires_node
def test_the_v1_client_gets_text_state_and_exit(served: ServedRuntime) -> None:
    thread = str(uuid.uuid4())
    messages: list[dict[str, Any]] = [{"id": str(uuid.uuid4()), "role": "user", "content": "hi"}]
    session = {"agentName": "chat_flow", "threadId": thread}
    step = generate_step(threadId=thread, agentSession=session, messages=list(messages),
                         agentStates=[{"agentName": "chat_flow", "state": {}}])
    result = run_client(served.url, [step])["result"]
    assert result["error"] is None and result["status"]["code"] == "Success", result
    outputs = [m["content"] for m in result["messages"] if m["__typename"] == "TextMessageOutput"]
    assert outputs == ["You said: hi"]
    states = [m for m in result["messages"] if m["__typename"] == "AgentStateMessageOutput"]
    final = states[-1]
    assert (final["agentName"], final["nodeName"], final["running"]) == ("chat_flow", "chat", True)
    assert {k: v for k, v in final["state"].items() if k != "messages"} == {"turns": 1, "mood": "calm"}

    messages.append({"id": str(uuid.uuid4()), "role": "user", "content": "bye"})
    step = generate_step(threadId=thread, agentSession={**session, "nodeName": "chat"},
                         messages=list(messages),
                         agentStates=[{"agentName": "chat_flow", "state": final["state"]}])
    result = run_client(served.url, [step])["result"]
    states = [m for m in result["messages"] if m["__typename"] == "AgentStateMessageOutput"]
    assert states[-1]["running"] is False
