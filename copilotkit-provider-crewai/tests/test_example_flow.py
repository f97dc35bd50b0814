"""The CrewAI flow of the example apps (``examples/agents/crewai.toml``), loaded as users run it,
with its model on the core's fake OpenAI-compatible server (what ``serve.py --crewai`` starts
offline): through the engine, and over real HTTP with the real v1 and v2 npm clients' protocols."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers import UserMessage, action, collect, run_request, texts

from copilotkit_runtime import Runtime, load_settings
from copilotkit_runtime.testing.fake_llm import FakeLLMServer
from copilotkit_runtime.testing.server import serve_runtime

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "agents"


@pytest.fixture
def fake_model() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as llm:
        yield llm


def example_runtime(fake_model: FakeLLMServer, tmp_path: Path) -> Runtime:
    """The example config as `serve.py --crewai` loads it, its model on the fake server."""
    env = {"EXAMPLE_LLM_BASE_URL": fake_model.openai_url,
           "COPILOTKIT_STORE__TYPE": "memory"}
    settings = load_settings(EXAMPLES / "crewai.toml", env=env)
    return Runtime(settings)


@pytest.fixture
def example_env(fake_model: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_LLM_BASE_URL", fake_model.openai_url)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)


async def test_the_writer_streams_the_models_reply_and_keeps_shared_state(
        tmp_path: Path, fake_model: FakeLLMServer, example_env: None) -> None:
    runtime = example_runtime(fake_model, tmp_path)
    await runtime.startup()
    try:
        request = run_request("writer", "a haiku about rain")
        events = await collect(runtime, request)
        snapshot = await runtime.engine.load_thread("writer", request.thread_id)
        # a second turn continues the stored state
        history = [*request.input.messages, UserMessage(id=str(uuid.uuid4()), content="now shorter")]
        again = run_request("writer", thread_id=request.thread_id, messages=history)
        await collect(runtime, again)
        after = await runtime.engine.load_thread("writer", request.thread_id)
    finally:
        await runtime.shutdown()
    assert texts(events) == ["You said: a haiku about rain"]
    assert len([e for e in events if e["type"] == "TEXT_MESSAGE_CONTENT"]) > 1  # streamed
    statuses = [e["snapshot"]["status"] for e in events if e["type"] == "STATE_SNAPSHOT"]
    assert "writing" in statuses and statuses[-1] == "done"
    assert statuses.index("writing") < len(statuses) - 1  # shown while the model ran
    assert snapshot.state["topic"] == "a haiku about rain" and snapshot.state["turns"] == 1
    assert after.state["topic"] == "now shorter" and after.state["turns"] == 2
    # the model saw the whole conversation, with the flow's system prompt first
    last = fake_model.requests[-1]["messages"]
    assert last[0]["role"] == "system"
    assert [m["content"] for m in last if m["role"] == "user"] == ["a haiku about rain", "now shorter"]


async def test_the_writer_offers_the_apps_actions_to_its_model(
        tmp_path: Path, fake_model: FakeLLMServer, example_env: None) -> None:
    runtime = example_runtime(fake_model, tmp_path)
    await runtime.startup()
    try:
        # CrewAI's LLM offers the action to the model as set_theme_color (the fake model calls a
        # tool the message names); the client sees its own name again
        request = run_request("writer", "set_theme_color red", tools=[action("setThemeColor")])
        events = await collect(runtime, request)
    finally:
        await runtime.shutdown()
    starts = [e for e in events if e["type"] == "TOOL_CALL_START"]
    assert [s["toolCallName"] for s in starts] == ["setThemeColor"]
    args = "".join(e["delta"] for e in events if e["type"] == "TOOL_CALL_ARGS")
    assert json.loads(args) == {"value": "red"}
    offered = [t["function"]["name"] for t in fake_model.requests[0]["tools"]]
    assert offered == ["set_theme_color"]


def test_the_writer_over_http_v2(tmp_path: Path, fake_model: FakeLLMServer, example_env: None) -> None:
    runtime = example_runtime(fake_model, tmp_path)
    thread = str(uuid.uuid4())
    body = {"threadId": thread, "runId": str(uuid.uuid4()), "state": {}, "tools": [], "context": [],
            "forwardedProps": {}, "messages": [{"id": "m1", "role": "user", "content": "hello flow"}]}
    with serve_runtime(runtime) as served:
        info = httpx.get(f"{served.url}/info", timeout=30).json()
        with httpx.stream("POST", f"{served.url}/agent/writer/run", json=body, timeout=60,
                          headers={"accept": "text/event-stream"}) as response:
            assert response.status_code == 200
            lines = [json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:")]
    assert "writer" in info["agents"]
    assert lines[0]["type"] == "RUN_STARTED" and lines[-1]["type"] == "RUN_FINISHED"
    text = "".join(e["delta"] for e in lines if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert text == "You said: hello flow"
