"""A flow that calls a model itself (crewai.LLM, streaming), against the local fake server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakellm import Reply, last_user_text, tool_names
from helpers import action, collect, crewai_runtime, run_request, texts

pytestmark = pytest.mark.anyio

LLM_FLOW = {"flow": "sample_agents:LLMFlow"}


def respond(body: dict) -> Reply:
    text = last_user_text(body)
    if "alert" in text and "show_alert" in tool_names(body):
        return Reply(tool_calls=[("show_alert", {"value": "hi there"})])
    return Reply(content=f"Echo: {text}")


async def test_text_the_model_streams_reaches_the_client_as_it_streams(tmp_path: Path, fake_llm_server) -> None:
    fake = fake_llm_server(respond)
    async with crewai_runtime(tmp_path, llm=LLM_FLOW) as rt:
        request = run_request("llm", "hello model")
        events = await collect(rt, request)
        snapshot = await rt.engine.load_thread("llm", request.thread_id)
    assert fake.requests[0]["stream"] is True
    contents = [e for e in events if e["type"] == "TEXT_MESSAGE_CONTENT"]
    assert len(contents) == 3  # one per streamed chunk ("Echo:", " hello", " model")
    assert texts(events) == ["Echo: hello model"]
    started = next(e["messageId"] for e in events if e["type"] == "TEXT_MESSAGE_START")
    # the message the flow stored afterwards is the streamed one, not a second copy
    assert [m["id"] for m in snapshot.messages if m["role"] == "assistant"] == [started]


async def test_a_model_calling_a_frontend_action_keeps_the_frontends_name(tmp_path: Path, fake_llm_server) -> None:
    fake_llm_server(respond)
    async with crewai_runtime(tmp_path, llm=LLM_FLOW) as rt:
        request = run_request("llm", "raise an alert", tools=[action("showAlert")])
        events = await collect(rt, request)
        snapshot = await rt.engine.load_thread("llm", request.thread_id)
    starts = [e for e in events if e["type"] == "TOOL_CALL_START"]
    assert [s["toolCallName"] for s in starts] == ["showAlert"]
    args = "".join(e["delta"] for e in events if e["type"] == "TOOL_CALL_ARGS")
    assert json.loads(args) == {"value": "hi there"}
    stored = [m for m in snapshot.messages if m.get("toolCalls")]
    assert len(stored) == 1 and stored[0]["toolCalls"][0]["function"]["name"] == "showAlert"
    assert stored[0]["toolCalls"][0]["id"] == starts[0]["toolCallId"]
