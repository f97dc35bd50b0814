"""A real ``copilotkit`` SDK remote endpoint: discovery, its actions called by an LLM agent
(the real ``openai`` SDK against the fake OpenAI-compatible server), and failures."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sdk_remote_app import build
from sdk_remote_helpers import serve_app

from copilotkit_runtime import ConfigError
from copilotkit_runtime.testing import make_runtime, serve_runtime
from copilotkit_runtime.testing.fake_llm import FakeLLMServer, Turn
from copilotkit_runtime.testing.server import free_port


@pytest.fixture(scope="module")
def sdk_origin() -> Iterator[str]:
    with serve_app(build()) as origin:
        yield origin


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


def run(url: str, agent: str, text: str = "go") -> list[dict[str, Any]]:
    body = {"threadId": str(uuid.uuid4()), "runId": str(uuid.uuid4()), "state": {}, "tools": [],
            "context": [], "forwardedProps": {},
            "messages": [{"id": str(uuid.uuid4()), "role": "user", "content": text}]}
    response = httpx.post(f"{url}/agent/{agent}/run", json=body, timeout=60)
    assert response.status_code == 200, response.text
    frames = [f for f in response.text.split("\n\n") if f.strip() and not f.startswith(":")]
    return [json.loads(f.removeprefix("data: ")) for f in frames]


@pytest.mark.parametrize("order", ["remote first", "llm first"])
def test_remote_actions_are_backend_actions_of_llm_agents(sdk_origin: str, llm: FakeLLMServer,
                                                          order: str) -> None:
    llm.reset()
    remote = ("sdk", {"provider": "copilotkit-remote", "url": f"{sdk_origin}/copilotkit"})
    chat = ("chat", {"provider": "openai", "model": "fake-gpt", "base_url": llm.openai_url,
                     "api_key": "sk-test"})
    agents = dict([remote, chat] if order == "remote first" else [chat, remote])
    llm.script(Turn(tool_calls=[("lookup_order", {"order_id": 7})]),
               Turn(tool_calls=[("greet", {"name": "Ada", "loud": True})]),
               Turn(tool_calls=[("explode", {"reason": "disk full"})]), Turn(text="Done."))
    with serve_runtime(make_runtime({"agents": agents}, load_entry_points=True)) as served:
        events = run(served.url, "chat")
    results = [e["content"] for e in events if e["type"] == "TOOL_CALL_RESULT"]
    assert results[:2] == ['{"order":7,"status":"shipped"}', "HELLO, ADA"]
    assert results[2].startswith("Error: action 'explode' failed:") and "HTTP 500" in results[2]
    assert events[-1]["type"] == "RUN_FINISHED"
    tools = {t["function"]["name"]: t["function"] for t in llm.requests[0]["tools"]}
    assert tools["greet"]["parameters"] == {
        "type": "object", "required": ["name"],
        "properties": {"name": {"type": "string"}, "loud": {"type": "boolean"}}}


def test_an_unreachable_endpoint_is_a_config_error_unless_its_agents_are_listed() -> None:
    url = f"http://127.0.0.1:{free_port()}/copilotkit"
    with pytest.raises(ConfigError, match=r"agents\.sdk: the CopilotKit remote endpoint .*/info did not answer"):
        make_runtime({"agents": {"sdk": {"provider": "copilotkit-remote", "url": url}}}, load_entry_points=True)
    runtime = make_runtime({"agents": {"sdk": {"provider": "copilotkit-remote", "url": url,
                                               "agents": ["todo_agent"]}}}, load_entry_points=True)
    with serve_runtime(runtime) as served:
        events = run(served.url, "todo_agent")
    assert events[-1]["type"] == "RUN_ERROR"
    assert "CopilotKit remote agent 'todo_agent'" in events[-1]["message"]
    assert "could not be reached" in events[-1]["message"]


def test_an_agent_the_endpoint_does_not_serve_is_a_config_error(sdk_origin: str) -> None:
    with pytest.raises(ConfigError, match="serves no agent todo_agent"):
        make_runtime({"agents": {"sdk": {"provider": "copilotkit-remote",
                                         "url": f"{sdk_origin}/copilotkit", "agents": ["todo_agent"]}}}, load_entry_points=True)


@pytest.mark.parametrize("order", ["remote first", "llm first"])
def test_an_llm_agent_listing_actions_gets_the_remote_ones_it_names(
        sdk_origin: str, llm: FakeLLMServer, order: str) -> None:
    llm.reset()
    remote = ("sdk", {"provider": "copilotkit-remote", "url": f"{sdk_origin}/copilotkit"})
    chat = ("chat", {"provider": "openai", "model": "fake-gpt", "base_url": llm.openai_url,
                     "api_key": "sk-test", "actions": ["greet"]})
    agents = dict([remote, chat] if order == "remote first" else [chat, remote])
    llm.script(Turn(tool_calls=[("greet", {"name": "Lin"})]), Turn(text="Done."))
    with serve_runtime(make_runtime({"agents": agents}, load_entry_points=True)) as served:
        events = run(served.url, "chat")
    assert [e["content"] for e in events if e["type"] == "TOOL_CALL_RESULT"] == ["Hello, Lin"]
    assert {t["function"]["name"] for t in llm.requests[0]["tools"]} == {"greet"}


def test_a_listed_action_the_endpoint_does_not_offer_is_a_config_error(
        sdk_origin: str, llm: FakeLLMServer) -> None:
    with pytest.raises(ConfigError, match=r"agents\.chat\.actions: unknown backend action\(s\) "
                                          r"greeet \(registered: .*greet.*lookup_order"):
        make_runtime({"agents": {
            "chat": {"provider": "openai", "model": "fake-gpt", "base_url": llm.openai_url,
                     "api_key": "sk-test", "actions": ["greeet"]},
            "sdk": {"provider": "copilotkit-remote", "url": f"{sdk_origin}/copilotkit"}}}, load_entry_points=True)
