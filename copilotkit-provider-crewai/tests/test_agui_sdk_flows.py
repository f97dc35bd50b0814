"""Flows written for ag-ui-crewai (``from ag_ui_crewai.sdk import ...``) run unchanged: text and
tool arguments stream token by token, predictive state and emitted state arrive, and the result
matches ag-ui-crewai's own FastAPI endpoint serving the same flow in the same test (same
request, same fake model)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fakellm import Reply, last_user_text, tool_names
from helpers import action, collect, crewai_runtime, run_request, texts

from copilotkit_runtime.testing.server import free_port

pytestmark = pytest.mark.anyio

DOCUMENT = "# Story\n\nA runtime streamed this, token by token."


def respond(body: dict[str, Any]) -> Reply:
    text = last_user_text(body)
    if "story" in text and "write_document" in tool_names(body):
        return Reply(tool_calls=[("write_document", {"document": DOCUMENT})])
    if "alert" in text and "showAlert" in tool_names(body):
        return Reply(tool_calls=[("showAlert", {"value": "hi there"})])
    return Reply(content=f"You said: {text}")


def reference_events(flow: Any, body: dict[str, Any], **options: Any) -> list[dict[str, Any]]:
    """Serve ``flow`` with ag-ui-crewai's endpoint (``options`` for it) on a free port; POST
    ``body``; its events."""
    from ag_ui_crewai import add_crewai_flow_fastapi_endpoint
    from fastapi import FastAPI

    app = FastAPI()
    add_crewai_flow_fastapi_endpoint(app, flow, "/agent", **options)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "reference did not start"
        time.sleep(0.01)
    try:
        events = []
        with httpx.Client(timeout=60) as client, client.stream(
                "POST", f"http://127.0.0.1:{port}/agent", json=body,
                headers={"accept": "text/event-stream"}) as response:
            assert response.status_code == 200, response.read()
            for line in response.iter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
        return events
    finally:
        server.should_exit = True
        thread.join(10)


def digest(events: list[dict[str, Any]]) -> dict[str, Any]:
    """What a client keeps of a run, the same for both servers."""
    calls: dict[str, list[Any]] = {}
    chunks = [e for e in events if e["type"] in ("TEXT_MESSAGE_CHUNK", "TOOL_CALL_CHUNK")]
    for e in events:
        if e["type"] == "TOOL_CALL_START":
            calls[e["toolCallId"]] = [e["toolCallName"], ""]
        elif e["type"] == "TOOL_CALL_ARGS":
            calls[e["toolCallId"]][1] += e["delta"]
        elif e["type"] == "TOOL_CALL_CHUNK":
            calls.setdefault(e["toolCallId"] or list(calls)[-1], [e.get("toolCallName"), ""])
            calls[e["toolCallId"] or list(calls)[-1]][1] += e.get("delta") or ""
    text = texts(events) or ["".join(c.get("delta") or "" for c in chunks
                                     if c["type"] == "TEXT_MESSAGE_CHUNK")]
    snapshots = [e["snapshot"] for e in events if e["type"] == "STATE_SNAPSHOT"]
    final = {k: v for k, v in (snapshots[-1] if snapshots else {}).items()
             if k in ("document", "progress")}
    return {
        "texts": [t for t in text if t],
        "tool_calls": [(name, json.loads(args)) for name, args in calls.values()],
        "state": final,
        "emitted": {"progress": "thinking"} in [{k: v for k, v in s.items() if k == "progress"}
                                               for s in snapshots],
        "predict_state": [e["value"] for e in events
                          if e["type"] == "CUSTOM" and e["name"] == "PredictState"][:1],
        "error": next((e["message"] for e in events if e["type"] == "RUN_ERROR"), None),
    }


def body_of(request: Any) -> dict[str, Any]:
    return request.input.model_dump(mode="json", by_alias=True, exclude_none=True)


async def test_text_streams_token_by_token_as_under_ag_ui_crewai(tmp_path: Path, fake_llm_server) -> None:
    import agui_sdk_agents

    fake_llm_server(respond)
    request = run_request("writer", "hello there")
    async with crewai_runtime(tmp_path, writer={"flow": "agui_sdk_agents:AguiSdkFlow"}) as rt:
        ours = await collect(rt, request)
    theirs = reference_events(agui_sdk_agents.AguiSdkFlow(), body_of(request))
    assert digest(ours) == digest(theirs)
    assert digest(ours)["texts"] == ["You said: hello there"]
    assert digest(ours)["error"] is None
    # Streamed as it came, one event per model chunk, not one message at the end.
    assert len([e for e in ours if e["type"] == "TEXT_MESSAGE_CONTENT"]) == 4
    assert digest(ours)["emitted"]


async def test_a_predicted_tool_call_streams_its_arguments_and_the_state(tmp_path: Path, fake_llm_server) -> None:
    import agui_sdk_agents

    fake_llm_server(respond)
    request = run_request("writer", "write a story")
    async with crewai_runtime(tmp_path, writer={"flow": "agui_sdk_agents:AguiSdkFlow"}) as rt:
        ours = await collect(rt, request)
        thread = await rt.engine.load_thread("writer", request.thread_id)
    theirs = reference_events(agui_sdk_agents.AguiSdkFlow(), body_of(request))
    assert digest(ours) == digest(theirs)
    assert digest(ours)["tool_calls"] == [("write_document", {"document": DOCUMENT})]
    assert digest(ours)["predict_state"] == [
        [{"state_key": "document", "tool": "write_document", "tool_argument": "document"}]]
    assert digest(ours)["state"] == {"document": DOCUMENT, "progress": "done"}
    assert len([e for e in ours if e["type"] == "TOOL_CALL_ARGS"]) > 2
    # While the arguments stream, the document grows in the state (predictive state).
    partial = [e["snapshot"].get("document") for e in ours if e["type"] == "STATE_SNAPSHOT"]
    assert any(p and p != DOCUMENT for p in partial)
    # The streamed call is the stored one, not a second copy.
    calls = [m for m in thread.messages if m.get("toolCalls")]
    assert len(calls) == 1


async def test_a_frontend_action_called_through_copilotkit_stream(tmp_path: Path, fake_llm_server) -> None:
    import agui_sdk_agents

    fake_llm_server(respond)
    request = run_request("writer", "raise an alert", tools=[action("showAlert")])
    async with crewai_runtime(tmp_path, writer={"flow": "agui_sdk_agents:AguiSdkFlow"}) as rt:
        ours = await collect(rt, request)
    theirs = reference_events(agui_sdk_agents.AguiSdkFlow(), body_of(request))
    assert digest(ours) == digest(theirs)
    assert digest(ours)["tool_calls"] == [("showAlert", {"value": "hi there"})]



async def test_human_feedback_with_ag_ui_crewais_provider_interrupts_and_resumes_as_there(
        tmp_path: Path) -> None:
    """A flow whose ``@human_feedback`` names ag-ui-crewai's ``agui_feedback_provider``: the same
    interrupt (reason, message, metadata; the id is the thread id on both) as ag-ui-crewai's
    endpoint with ``emit_interrupt_outcome=True``, and the same resumed flow."""
    import agui_sdk_agents
    from ag_ui.core import ResumeEntry

    def resumed_with(interrupt: dict[str, Any]) -> list[ResumeEntry]:
        return [ResumeEntry(interrupt_id=interrupt["id"], status="resolved", payload="ship it")]

    request = run_request("review", "write a post")
    async with crewai_runtime(tmp_path, review={"flow": "agui_sdk_agents:AguiReviewFlow"}) as rt:
        asked = await collect(rt, request)
        [ours] = asked[-1]["outcome"]["interrupts"]
        answer = run_request("review", None, thread_id=request.thread_id,
                             messages=request.messages)
        answer.input = answer.input.model_copy(update={"resume": resumed_with(ours)})
        resumed = await collect(rt, answer)
    # The reference on a thread of its own (CrewAI persists paused flows by thread id).
    body = {**body_of(request), "threadId": f"ref-{request.thread_id}"}
    first = reference_events(agui_sdk_agents.AguiReviewFlow(), body, emit_interrupt_outcome=True)
    [theirs] = first[-1]["outcome"]["interrupts"]
    second = reference_events(agui_sdk_agents.AguiReviewFlow(), {
        **body, "runId": "second", "resume": [r.model_dump(mode="json", by_alias=True)
                                              for r in resumed_with(theirs)]},
        emit_interrupt_outcome=True)

    def same(interrupt: dict[str, Any], thread: str) -> dict[str, Any]:
        assert interrupt["id"] == interrupt["metadata"]["crewai"].pop("flowId") == thread
        return {k: v for k, v in interrupt.items() if k != "id"}

    assert same(ours, request.thread_id) == same(theirs, body["threadId"]) == {
        "reason": "crewai:human_feedback", "message": "Publish this draft?",
        "metadata": {"crewai": {"methodName": "write_draft", "emit": None,
                                "output": "A short post about runtimes."}}}
    def outcome(events: list[dict[str, Any]]) -> dict[str, Any]:
        """The conversation and state a client ends with (ag-ui-crewai sends the listener's
        message in MESSAGES_SNAPSHOT only; ours streams it as well)."""
        [*_, messages] = [e["messages"] for e in events if e["type"] == "MESSAGES_SNAPSHOT"]
        [*_, state] = [e["snapshot"] for e in events if e["type"] == "STATE_SNAPSHOT"]
        return {"messages": [(m["role"], m.get("content")) for m in messages],
                "state": {k: state.get(k) for k in ("draft", "verdict")},
                "error": digest(events)["error"]}

    assert outcome(resumed) == outcome(second) == {
        "messages": [("user", "write a post"), ("assistant", "Feedback on the draft: ship it")],
        "state": {"draft": "A short post about runtimes.", "verdict": "ship it"}, "error": None}
    assert texts(resumed) == ["Feedback on the draft: ship it"]
