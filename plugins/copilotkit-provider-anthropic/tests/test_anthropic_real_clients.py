"""The Anthropic agent through the real CopilotKit npm clients, over real HTTP:
``@copilotkit/core`` (AG-UI v2, tests/node-v2) and ``@copilotkit/runtime-client-gql`` 1.10.6
(GraphQL v1, tests/node). Skipped, saying what to install, without Node or the packages."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from copilotkit_runtime.testing.fake_llm import FakeLLMServer, Turn

pytestmark = pytest.mark.node

WORKSPACE_TESTS = Path(__file__).resolve().parents[3] / "tests"
V2_DIR = WORKSPACE_TESTS / "node-v2"


def run_v2_client(scenario: dict[str, Any], timeout: float = 90) -> dict[str, Any]:
    if shutil.which("node") is None or not (V2_DIR / "node_modules" / "@copilotkit" / "core").is_dir():
        pytest.skip(f"npm packages missing: run `npm ci --prefix {V2_DIR}`")
    done = subprocess.run(["node", "client.mjs", json.dumps(scenario)], cwd=V2_DIR,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def v1_client() -> Any:
    """The workspace's driver of the GraphQL client (tests/node_client.py)."""
    spec = importlib.util.spec_from_file_location("anthropic_v1_node_client",
                                                  WORKSPACE_TESTS / "node_client.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    reason = module.node_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    return module


def test_v2_core_chats_runs_a_frontend_tool_and_stop_closes_upstream(
        served: Any, llm: FakeLLMServer) -> None:
    result = run_v2_client({"url": served.url, "agent": "claude", "threadId": f"t-{uuid.uuid4()}",
                            "steps": [{"op": "run", "text": "hello claude"},
                                      {"op": "run", "text": "please setColor teal"}]})
    assert result["errors"] == []
    assert "claude" in result["agents"]
    first, second = result["steps"]
    assert first["messages"][1]["content"] == "You said: hello claude"
    # The model called the frontend tool; the client ran it and its follow-up run continued.
    assert result["toolCalls"] == [{"color": "teal"}]
    roles = [m["role"] for m in second["messages"]]
    assert roles == ["user", "assistant", "user", "assistant", "tool", "assistant"]
    assert second["messages"][5]["content"] == "The action returned: color set to teal"
    # The follow-up sent Anthropic the call and its result as blocks.
    last = llm.requests[-1]["messages"]
    assert last[-2]["content"][0]["type"] == "tool_use" and last[-2]["content"][0]["name"] == "setColor"
    assert last[-1]["content"][0] == {"type": "tool_result", "content": "color set to teal",
                                      "tool_use_id": last[-2]["content"][0]["id"]}

    llm.reset()
    llm.script(Turn(text=" ".join(f"w{i}" for i in range(60)), chunk_delay=0.1))
    stopped = run_v2_client({"url": served.url, "agent": "claude", "threadId": f"t-{uuid.uuid4()}",
                             "steps": [{"op": "run-and-stop", "text": "talk a lot"}]})
    assert stopped["steps"][0]["stopped"] is True
    assert llm.wait_for(lambda s: s.closed_early == 1)
    assert llm.completed == 0


def test_v1_gql_client_chats_calls_an_action_and_gets_a_backend_answer(
        served: Any, llm: FakeLLMServer) -> None:
    node = v1_client()
    set_color = {"name": "setColor", "description": "Set the page color",
                 "parameters": {"type": "object", "properties": {"color": {"type": "string"}},
                                "required": ["color"]}}
    out = node.run_client(served.url, [
        node.generate_step("hello from v1"),
        node.generate_step("please setColor green", actions=[set_color]),
    ])
    chat, action = out["results"]
    assert chat["error"] is None and chat["status"]["code"] == "Success", chat["status"]
    texts = [m for m in chat["messages"] if m["__typename"] == "TextMessageOutput"]
    assert texts[-1]["content"] == "You said: hello from v1"
    calls = [m for m in action["messages"] if m["__typename"] == "ActionExecutionMessageOutput"]
    assert [(c["name"], json.loads(c["arguments"])) for c in calls] == [("setColor", {"color": "green"})]

    # A backend action: the runtime runs it and the model answers with its result.
    llm.script(Turn(tool_calls=[("lookup_order", {"order_id": 7})]))
    backend = node.run_client(served.url, [node.generate_step("where is order 7?")])["result"]
    assert backend["error"] is None
    texts = [m for m in backend["messages"] if m["__typename"] == "TextMessageOutput"]
    assert texts[-1]["content"] == "The action returned: order 7 is shipped"
    assert len(llm.requests) == 4


def test_v1_gql_client_sees_an_upstream_failure_as_a_failed_response(
        served: Any, llm: FakeLLMServer) -> None:
    node = v1_client()
    llm.script(Turn(status=401))
    result = node.run_client(served.url, [node.generate_step("hi")])["result"]
    status = result["status"] or {}
    assert status.get("code") == "Failed", result
    assert "Check the key agents.claude.api_key gives" in json.dumps(result)
    assert "sk-ant-test-SECRET" not in json.dumps(result)
