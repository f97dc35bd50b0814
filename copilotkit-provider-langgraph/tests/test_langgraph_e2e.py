"""End to end: a LangGraph graph served over real HTTP, driven by the real CopilotKit clients.

* AG-UI (v2): ``@copilotkit/core`` 1.75 (``tests/node-v2/client.mjs``).
* GraphQL (v1): ``@copilotkit/runtime-client-gql`` 1.10.6 (``tests/node``), see below.
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
from lg_helpers import TODO_GRAPH, build_runtime

from copilotkit_runtime.testing import ServedRuntime, serve_runtime

pytestmark = pytest.mark.node

ROOT = Path(__file__).resolve().parents[2]
NODE_V2 = ROOT / "tests" / "node-v2"


def run_v2_client(scenario: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
    if shutil.which("node") is None or not (NODE_V2 / "node_modules" / "@copilotkit" / "core").is_dir():
        pytest.skip("npm packages missing: run `npm ci --prefix tests/node-v2`")
    done = subprocess.run(["node", "client.mjs", json.dumps(scenario)], cwd=NODE_V2,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRuntime]:
    runtime = build_runtime({
        "tools": {"provider": "langgraph", "graph": "lg_test_graphs:make_tools_graph",
                  "description": "A LangGraph agent with a backend tool"},
        "todo_agent": {"provider": "langgraph", "graph": TODO_GRAPH, "checkpointer": "sqlite"},
    }, tmp_path_factory.mktemp("e2e"))
    with serve_runtime(runtime) as served:
        yield served


def test_agui_client_streams_a_langgraph_reply_runs_a_frontend_tool_and_reloads(served) -> None:
    thread = f"thread-{uuid.uuid4()}"
    result = run_v2_client({"url": served.url, "agent": "tools", "threadId": thread, "steps": [
        {"op": "run", "text": "what is the weather"},
        {"op": "run", "text": "set the color to blue"},
        {"op": "connect"},
    ]})
    assert result["errors"] == []
    assert {"tools", "todo_agent"} <= set(result["agents"])
    weather, color, reloaded = result["steps"]
    assert [m["role"] for m in weather["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert weather["messages"][-1]["content"] == "The tool said: Sunny in Paris"
    # The graph called the frontend tool; the client ran it and continued the thread with it.
    assert result["toolCalls"] == [{"color": "blue"}]
    roles = [m["role"] for m in color["messages"]]
    assert roles[4:] == ["user", "assistant", "tool", "assistant"]
    assert color["messages"][-1]["content"] == "The tool said: color set to blue"
    assert reloaded["messages"] == color["messages"]


def test_agui_client_sees_sdk_agent_state(served) -> None:
    thread = f"thread-{uuid.uuid4()}"
    result = run_v2_client({"url": served.url, "agent": "todo_agent", "threadId": thread, "steps": [
        {"op": "run", "text": "add buy milk"},
        {"op": "run", "text": "add call mom"},
    ]})
    assert result["errors"] == []
    first, second = result["steps"]
    assert first["state"]["todos"] == [{"id": "todo-1", "title": "buy milk", "done": False}]
    assert [t["title"] for t in second["state"]["todos"]] == ["buy milk", "call mom"]
    assert second["messages"][-1]["content"] == "Added call mom. You have 2 todos: buy milk, call mom."
