"""A flow written for ag-ui-crewai (``ag_ui_crewai.sdk``) through both protocols with the real
CopilotKit npm clients, compared with ag-ui-crewai's own FastAPI endpoint serving the same flow
in the same test (same conversation, same fake model): same texts, tool calls and state.

* v2: ``@copilotkit/core`` 1.75 (``../tests/node-v2/client.mjs``, which offers and runs the
  frontend tool ``setColor``).
* v1: ``@copilotkit/runtime-client-gql`` 1.10.6 (``../tests/node/client.mjs``).

The reference gets, over plain HTTP, the request the client's first turn amounts to (its user
message and the frontend tool).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fakellm import Reply, last_user_text, serve_fake_llm, tool_names
from test_agui_sdk_flows import DOCUMENT, digest, reference_events
from test_real_clients import _run_v1, run_v2_client

from copilotkit_runtime.testing import make_runtime, serve_runtime

pytestmark = pytest.mark.node

SET_COLOR = {"name": "setColor", "description": "Set the page color",
             "parameters": {"type": "object", "properties": {"color": {"type": "string"}},
                            "required": ["color"]}}


def respond(body: dict[str, Any]) -> Reply:
    messages = body.get("messages") or []
    if messages and messages[-1].get("role") == "tool":
        return Reply(content=f"Done: {messages[-1].get('content')}")
    text = last_user_text(body)
    if "story" in text and "write_document" in tool_names(body):
        return Reply(tool_calls=[("write_document", {"document": DOCUMENT})])
    if "green" in text and "setColor" in tool_names(body):
        return Reply(tool_calls=[("setColor", {"color": "green"})])
    return Reply(content=f"You said: {text}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with serve_fake_llm(respond) as fake:
        mp = pytest.MonkeyPatch()
        mp.setenv("FAKE_LLM_BASE_URL", fake.base_url)
        runtime = make_runtime({"agents": {"writer": {
            "provider": "crewai", "flow": "agui_sdk_agents:AguiSdkFlow"}}},
            tmp_path=tmp_path_factory.mktemp("agui-sdk-clients"), load_entry_points=True)
        try:
            with serve_runtime(runtime) as server:
                yield server
        finally:
            mp.undo()


def reference(text: str) -> dict[str, Any]:
    import agui_sdk_agents

    body = {"threadId": f"t-{uuid.uuid4()}", "runId": str(uuid.uuid4()), "state": {},
            "messages": [{"id": str(uuid.uuid4()), "role": "user", "content": text}],
            "tools": [SET_COLOR], "context": [], "forwardedProps": {}}
    return digest(reference_events(agui_sdk_agents.AguiSdkFlow(), body))


def client_view(messages: list[dict[str, Any]], state: dict[str, Any]) -> dict[str, Any]:
    """The reference digest's fields, from what a client assembled."""
    return {
        "texts": [m["content"] for m in messages if m["role"] == "assistant" and m.get("content")],
        "tool_calls": [(c["function"]["name"], json.loads(c["function"]["arguments"]))
                       for m in messages for c in m.get("toolCalls") or []],
        "state": {k: v for k, v in state.items() if k in ("document", "progress")},
    }


def theirs(text: str) -> dict[str, Any]:
    found = reference(text)
    assert found["error"] is None
    return {k: found[k] for k in ("texts", "tool_calls", "state")}


@pytest.mark.parametrize("text", ["hello there", "write a story"])
def test_v2_client_gets_what_ag_ui_crewai_serves(served: Any, text: str) -> None:
    result = run_v2_client({"url": served.url, "agent": "writer", "threadId": f"t-{uuid.uuid4()}",
                            "steps": [{"op": "run", "text": text}]})
    assert result["errors"] == []
    [step] = result["steps"]
    ours = client_view(step["messages"], step["state"])
    assert ours == theirs(text)
    assert ours["texts"] or ours["tool_calls"] == [("write_document", {"document": DOCUMENT})]


def test_v2_client_runs_the_frontend_tool_the_flow_called_as_under_ag_ui_crewai(served: Any) -> None:
    result = run_v2_client({"url": served.url, "agent": "writer", "threadId": f"t-{uuid.uuid4()}",
                            "steps": [{"op": "run", "text": "make it green"}]})
    assert result["errors"] == []
    assert result["toolCalls"] == [{"color": "green"}]
    [step] = result["steps"]
    # The first turn (the call) is what the reference serves for the same request; the client
    # then ran the tool and the follow-up run answered with its result.
    assert theirs("make it green")["tool_calls"] == [("setColor", {"color": "green"})]
    assert client_view(step["messages"], step["state"])["tool_calls"] == [
        ("setColor", {"color": "green"})]
    assert [m["role"] for m in step["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert step["messages"][-1]["content"] == "Done: color set to green"


def _v1_view(result: dict[str, Any]) -> dict[str, Any]:
    states = [m["state"] for m in result["messages"]
              if m.get("__typename") == "AgentStateMessageOutput"]
    return {
        "texts": [m["content"] for m in result["messages"]
                  if m.get("__typename") == "TextMessageOutput" and m.get("content")],
        "tool_calls": [(m["name"], json.loads(m["arguments"])) for m in result["messages"]
                       if m.get("__typename") == "ActionExecutionMessageOutput"],
        "state": {k: v for k, v in (states[-1] if states else {}).items()
                  if k in ("document", "progress")},
    }


@pytest.mark.parametrize("text", ["hello there", "write a story", "make it green"])
def test_v1_client_gets_what_ag_ui_crewai_serves(served: Any, text: str) -> None:
    result = _run_v1(served.url, [{"op": "generate", "agent": "writer",
                                   "messages": [{"role": "user", "content": text}],
                                   "actions": [{**SET_COLOR, "available": "enabled"}]}])
    assert result["error"] is None and result["status"]["code"] == "Success"
    assert _v1_view(result) == theirs(text)
