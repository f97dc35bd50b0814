"""A CrewAI flow and a crew served over real HTTP to the real CopilotKit npm clients.

* AG-UI v2: ``@copilotkit/core`` 1.75 driven by ``../tests/node-v2/client.mjs`` (the runtime
  workspace's driver; ``npm ci --prefix ../tests/node-v2`` installs it).
* GraphQL v1: ``@copilotkit/runtime-client-gql`` 1.10.6 driven by the workspace's v1 driver
  (``../tests/node``), through its Python helper when that helper exists.

Both skip (never pass) when Node or the npm packages are missing.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakellm import serve_fake_llm
from test_crews import crew_responder

from copilotkit_runtime.testing import make_runtime, serve_runtime

pytestmark = pytest.mark.node

WORKSPACE_TESTS = Path(__file__).resolve().parents[2] / "tests"
V2_DIR = WORKSPACE_TESTS / "node-v2"
V1_DIR = WORKSPACE_TESTS / "node"


def run_v2_client(scenario: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    if shutil.which("node") is None or not (V2_DIR / "node_modules" / "@copilotkit" / "core").is_dir():
        pytest.skip(f"npm packages missing: run `npm ci --prefix {V2_DIR}`")
    done = subprocess.run(["node", "client.mjs", json.dumps(scenario)], cwd=V2_DIR,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def v1_helper() -> Any:
    """The workspace's Python helper for the GraphQL client driver (tests/node_client.py)."""
    path = WORKSPACE_TESTS / "node_client.py"
    if shutil.which("node") is None or not path.is_file():
        pytest.skip("the GraphQL v1 client driver (tests/node_client.py) is not available")
    spec = importlib.util.spec_from_file_location("workspace_node_client", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with serve_fake_llm(crew_responder()) as fake:
        mp = pytest.MonkeyPatch()
        mp.setenv("FAKE_LLM_BASE_URL", fake.base_url)
        runtime = make_runtime({"agents": {
            "echo": {"provider": "crewai", "flow": "sample_agents:EchoFlow",
                     "description": "A CrewAI flow that echoes"},
            "research": {"provider": "crewai", "crew": "sample_agents:make_crew",
                         "description": "Researches a topic"},
            "trip": {"provider": "crewai", "flow": "feedback_agents:TripFlow",
                     "description": "Asks with Flow.ask()"},
            "review": {"provider": "crewai", "flow": "feedback_agents:ReviewFlow",
                       "description": "Asks with @human_feedback"},
        }}, tmp_path=tmp_path_factory.mktemp("served"), load_entry_points=True)
        try:
            with serve_runtime(runtime) as server:
                yield server
        finally:
            mp.undo()


# -- AG-UI v2, @copilotkit/core ----------------------------------------------------------------


def test_v2_client_chats_with_a_flow_runs_a_frontend_tool_and_restores_the_thread(served: Any) -> None:
    result = run_v2_client({"url": served.url, "agent": "echo", "threadId": f"t-{uuid.uuid4()}",
                            "steps": [{"op": "run", "text": "hello flow"},
                                      {"op": "run", "text": "please setColor green"},
                                      {"op": "connect"}]})
    assert result["errors"] == []
    assert {"echo", "research"} <= set(result["agents"])
    first, second, reloaded = result["steps"]
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"]
    assert first["messages"][1]["content"] == "You said: hello flow"
    assert first["state"]["turns"] == 1 and first["state"]["summary"] == "replied after 1 turn(s)"
    # the flow called the frontend tool; the client ran it and the follow-up run reported it
    assert result["toolCalls"] == [{"color": "green"}]
    roles = [m["role"] for m in second["messages"]]
    assert roles == ["user", "assistant", "user", "assistant", "tool", "assistant"]
    assert second["messages"][-1]["content"] == "The action returned: color set to green"
    assert second["state"]["turns"] == 3
    assert reloaded["messages"] == second["messages"]
    assert reloaded["state"] == second["state"]


def test_v2_client_talks_a_crew_into_running(served: Any) -> None:
    result = run_v2_client({"url": served.url, "agent": "research", "threadId": f"t-{uuid.uuid4()}",
                            "steps": [{"op": "run", "text": "hello"},
                                      {"op": "run", "text": "the topic is otters"}]})
    assert result["errors"] == []
    first, second = result["steps"]
    assert first["messages"][-1]["content"] == "Hi! Which topic should the crew research?"
    assert second["state"]["inputs"] == {"topic": "otters"}
    assert second["state"]["outputs"] == "Researcher says otters are fascinating."
    assert second["state"]["progress"][0]["status"] == "completed"
    assert second["messages"][-1]["content"] == "Researcher says otters are fascinating."
    assert "tool" in [m["role"] for m in second["messages"]]


# -- GraphQL v1, @copilotkit/runtime-client-gql --------------------------------------------------
#
# Through the workspace's real-client driver (tests/node_client.py, tests/node/client.mjs).


def _run_v1(url: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    helper = v1_helper()
    reason = helper.node_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    result: dict[str, Any] = helper.run_client(url, steps)["result"]
    return result


def _texts(result: dict[str, Any]) -> list[str]:
    return [m.get("content") or "" for m in result["messages"]
            if m.get("__typename") == "TextMessageOutput"]


def test_v1_client_runs_a_flow_with_agent_state(served: Any) -> None:
    thread = str(uuid.uuid4())
    result = _run_v1(served.url, [{"op": "generate", "threadId": thread, "agent": "echo",
                                   "messages": [{"role": "user", "content": "hello graphql"}]}])
    assert result["error"] is None and result["closed"] is True
    assert result["status"]["code"] == "Success"
    assert "You said: hello graphql" in _texts(result)
    states = [m for m in result["messages"] if m.get("__typename") == "AgentStateMessageOutput"]
    assert states and states[-1]["state"]["turns"] == 1
    loaded = _run_v1(served.url, [{"op": "loadAgentState", "threadId": thread, "agentName": "echo"}])
    assert loaded["data"]["loadAgentState"]["threadExists"] is True
    assert loaded["state"]["turns"] == 1


def test_v1_client_runs_a_crew(served: Any) -> None:
    result = _run_v1(served.url, [{"op": "generate", "agent": "research",
                                   "messages": [{"role": "user", "content": "the topic is lynxes"}]}])
    assert result["error"] is None and result["status"]["code"] == "Success"
    assert any("lynxes are fascinating" in text for text in _texts(result))


def _interrupt_answer(thread: str, agent: str, asked: dict[str, Any], response: str,
                      text: str) -> list[dict[str, Any]]:
    """The generate step react-core 1.10.6 sends when useLangGraphInterrupt resolves."""
    [event] = asked["metaEvents"]
    states = [m for m in asked["messages"] if m.get("__typename") == "AgentStateMessageOutput"]
    return [{"op": "generate", "threadId": thread,
             "messages": [{"role": "user", "content": text}],
             "agentSession": {"agentName": agent, "threadId": thread,
                              "nodeName": states[-1]["nodeName"] if states else None},
             "agentStates": [{"agentName": agent, "state": states[-1]["state"] if states else {}}],
             "metaEvents": [{"name": "LangGraphInterruptEvent",
                             "value": json.loads(event["value"]), "response": response}]}]


def test_v1_client_answers_flow_ask_interrupts_and_the_flow_resumes(served: Any) -> None:
    thread = str(uuid.uuid4())
    first = _run_v1(served.url, [{"op": "generate", "threadId": thread, "agent": "trip",
                                  "messages": [{"role": "user", "content": "plan a trip"}]}])
    assert first["error"] is None and first["status"]["code"] == "Success"
    [event] = first["metaEvents"]
    assert event["__typename"] == "LangGraphInterruptEvent"
    assert json.loads(event["value"]) == {"message": "Which city?", "method": "choose_city",
                                          "metadata": {"field": "city"}}
    assert _texts(first) == ["Let us plan a trip."]

    second = _run_v1(served.url, _interrupt_answer(thread, "trip", first, "Lisbon", "plan a trip"))
    assert second["error"] is None and second["status"]["code"] == "Success"
    [event] = second["metaEvents"]
    assert json.loads(event["value"])["message"] == "How many nights in Lisbon?"

    third = _run_v1(served.url, _interrupt_answer(thread, "trip", second, "3", "plan a trip"))
    assert third["error"] is None and third["status"]["code"] == "Success"
    assert third["metaEvents"] == []
    assert "Planned: 3 nights in Lisbon" in _texts(third)
    loaded = _run_v1(served.url, [{"op": "loadAgentState", "threadId": thread, "agentName": "trip"}])
    assert loaded["state"]["plan"] == "3 nights in Lisbon"


def test_v1_client_answers_human_feedback_and_the_flow_resumes(served: Any) -> None:
    thread = str(uuid.uuid4())
    asked = _run_v1(served.url, [{"op": "generate", "threadId": thread, "agent": "review",
                                  "messages": [{"role": "user", "content": "write a post"}]}])
    assert asked["error"] is None and asked["status"]["code"] == "Success"
    [event] = asked["metaEvents"]
    assert json.loads(event["value"]) == {"message": "Publish this draft?",
                                          "output": "A short post about runtimes.",
                                          "method": "write_draft"}
    resumed = _run_v1(served.url, _interrupt_answer(thread, "review", asked, "ship it",
                                                    "write a post"))
    assert resumed["error"] is None and resumed["status"]["code"] == "Success"
    assert resumed["metaEvents"] == []
    assert "Feedback on the draft: ship it" in _texts(resumed)



# -- AG-UI v2 interrupts, @copilotkit/core ---------------------------------------------------------
#
# A run that waits ends with RUN_FINISHED outcome "interrupt" (and CUSTOM on_interrupt); the client
# answers with `resume` entries naming the interrupt (by default with a fresh runId, and with the
# interrupted run's runId as react-core's useInterrupt does). (The legacy answer,
# forwardedProps.command.resume, is refused by the client itself when the run ended with standard
# interrupts; tests/test_ask.py covers it in-process.)


def _assistant_texts(step: dict[str, Any]) -> list[str]:
    return [m.get("content") or "" for m in step["messages"] if m["role"] == "assistant"]


@pytest.mark.parametrize("style", [{}, {"sameRunId": True}], ids=["resume", "same-run-id"])
def test_v2_client_answers_flow_ask_interrupts_and_the_flow_resumes(
        served: Any, style: dict[str, Any]) -> None:
    result = run_v2_client({"url": served.url, "agent": "trip", "threadId": f"t-{uuid.uuid4()}",
                            "steps": [{"op": "run", "text": "plan a trip"},
                                      {"op": "resume", "payload": "Lisbon", **style},
                                      {"op": "resume", "payload": "3", **style},
                                      {"op": "connect"}]})
    assert result["errors"] == []
    asked, second, third, reloaded = result["steps"]
    [interrupt] = asked["interrupts"]
    assert interrupt["reason"] == "crewai:ask" and interrupt["message"] == "Which city?"
    assert interrupt["metadata"]["crewai"]["methodName"] == "choose_city"
    assert interrupt["metadata"]["crewai"]["metadata"] == {"field": "city"}
    assert _assistant_texts(asked) == ["Let us plan a trip."]
    assert second["answered"] == 1
    [interrupt] = second["interrupts"]
    assert interrupt["message"] == "How many nights in Lisbon?"
    assert interrupt["id"] != asked["interrupts"][0]["id"]
    assert second["state"]["city"] == "Lisbon"
    assert third["answered"] == 1 and third["interrupts"] == []
    assert _assistant_texts(third) == ["Let us plan a trip.", "Planned: 3 nights in Lisbon"]
    assert third["state"]["plan"] == "3 nights in Lisbon"
    assert [m["role"] for m in third["messages"]] == ["user", "assistant", "assistant"]
    assert reloaded["messages"] == third["messages"]
    assert reloaded["state"] == third["state"]


@pytest.mark.parametrize("style", [{}, {"sameRunId": True}], ids=["resume", "same-run-id"])
def test_v2_client_answers_human_feedback_and_the_flow_resumes(
        served: Any, style: dict[str, Any]) -> None:
    result = run_v2_client({"url": served.url, "agent": "review", "threadId": f"t-{uuid.uuid4()}",
                            "steps": [{"op": "run", "text": "write a post"},
                                      {"op": "resume", "payload": "ship it", **style},
                                      {"op": "connect"}]})
    assert result["errors"] == []
    asked, resumed, reloaded = result["steps"]
    [interrupt] = asked["interrupts"]
    assert interrupt["reason"] == "crewai:human_feedback"
    assert interrupt["message"] == "Publish this draft?"
    assert interrupt["metadata"]["crewai"]["methodName"] == "write_draft"
    assert interrupt["metadata"]["crewai"]["output"] == "A short post about runtimes."
    assert asked["state"]["draft"] == "A short post about runtimes."
    assert resumed["answered"] == 1 and resumed["interrupts"] == []
    assert _assistant_texts(resumed) == ["Feedback on the draft: ship it"]
    assert resumed["state"]["verdict"] == "ship it"
    assert reloaded["messages"] == resumed["messages"]
