"""The OpenAI plugin with the real ``openai`` SDK against a fake OpenAI server on a real port,
through the runtime served over real HTTP (AG-UI routes, read as raw SSE)."""

from __future__ import annotations

import base64
import logging
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai_helpers import SECRET, agui_run, chat_runtime, run_body, sse_events

from copilotkit_runtime.testing import serve_runtime
from copilotkit_runtime.testing.fake_llm import FakeLLMServer, Turn

COLOR_TOOL = {"name": "setColor", "description": "Set the page color",
              "parameters": {"type": "object", "properties": {"color": {"type": "string"}},
                             "required": ["color"]}}


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def text_of(events: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")


def test_chat_streams_the_models_words_with_system_prompt_and_readables(served: Any,
                                                                         fake: FakeLLMServer) -> None:
    body = run_body("Tell me a story", context=[{"description": "The user's name", "value": "Ada"}])
    events = agui_run(served, body)
    assert text_of(events) == "You said: Tell me a story"
    assert kinds(events)[0] == "RUN_STARTED" and kinds(events)[-1] == "RUN_FINISHED"
    assert sum(1 for k in kinds(events) if k == "TEXT_MESSAGE_CONTENT") == 6  # streamed, one per word
    sent = fake.requests[-1]
    assert sent["model"] == "fake-gpt" and sent["stream"] is True
    assert sent["messages"][0]["role"] == "system"
    assert "The user's name: Ada" in sent["messages"][0]["content"]
    assert sent["messages"][-1] == {"role": "user", "content": "Tell me a story"}
    assert fake.headers[-1]["authorization"] == f"Bearer {SECRET}"


def test_a_frontend_action_round_trip(served: Any, fake: FakeLLMServer) -> None:
    events = agui_run(served, run_body("please setColor to red", tools=[COLOR_TOOL]))
    start = next(e for e in events if e["type"] == "TOOL_CALL_START")
    assert start["toolCallName"] == "setColor"
    args = "".join(e["delta"] for e in events if e["type"] == "TOOL_CALL_ARGS")
    assert args == '{"color": "to red"}'
    assert kinds(events)[-1] == "RUN_FINISHED" and len(fake.requests) == 1
    offered = fake.requests[-1]["tools"]
    assert {t["function"]["name"] for t in offered} >= {"setColor", "lookup_order",
                                                        "convert_currency", "explode"}
    # The frontend ran it; its follow-up run carries the call and the result.
    call_id = start["toolCallId"]
    follow_up = run_body(messages=[
        {"id": "u1", "role": "user", "content": "please setColor to red"},
        {"id": start["parentMessageId"], "role": "assistant", "toolCalls": [
            {"id": call_id, "type": "function", "function": {"name": "setColor", "arguments": args}}]},
        {"id": "t1", "role": "tool", "toolCallId": call_id, "content": "color set to red"}],
        tools=[COLOR_TOOL])
    events = agui_run(served, follow_up)
    assert text_of(events) == "The action returned: color set to red"
    sent = fake.requests[-1]["messages"]
    assert sent[-2]["tool_calls"][0]["id"] == call_id
    assert sent[-1] == {"role": "tool", "tool_call_id": call_id, "content": "color set to red"}


def test_a_backend_action_loop_of_two_iterations(served: Any, fake: FakeLLMServer) -> None:
    fake.script(Turn(tool_calls=[("lookup_order", {"order_id": 42})]),
                Turn(tool_calls=[("convert_currency", {"amount": 10})]),
                Turn(text="Order 42 shipped; that is 9.00 EUR."))
    events = agui_run(served, run_body("where is order 42 and what is 10 dollars in euros"))
    results = [e["content"] for e in events if e["type"] == "TOOL_CALL_RESULT"]
    assert results == ['{"order":42,"status":"shipped"}', "9.00 EUR"]  # JSON.stringify's form
    assert text_of(events) == "Order 42 shipped; that is 9.00 EUR."
    assert kinds(events)[-1] == "RUN_FINISHED" and len(fake.requests) == 3
    third = fake.requests[2]["messages"]
    assert [m["role"] for m in third[1:]] == ["user", "assistant", "tool", "assistant", "tool"]


def test_an_action_that_raises_is_a_result_the_model_sees(served: Any, fake: FakeLLMServer,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    fake.script(Turn(tool_calls=[("explode", {"reason": "disk full"})]), Turn(text="It failed."))
    body = run_body("explode")
    with caplog.at_level(logging.WARNING, "copilotkit_runtime.llm"):
        events = agui_run(served, body)
    [result] = [e["content"] for e in events if e["type"] == "TOOL_CALL_RESULT"]
    assert result == "Error: action 'explode' failed: ValueError: exploded: disk full"
    assert fake.requests[-1]["messages"][-1]["content"] == result
    assert kinds(events)[-1] == "RUN_FINISHED"
    assert any(body["threadId"] in r.getMessage() and body["runId"] in r.getMessage()
               for r in caplog.records)


@pytest.mark.parametrize(("turns", "code", "words"), [
    ([Turn(status=401)], "LLM_AUTH_FAILED", ["agents.chat.api_key", "HTTP 401"]),
    ([Turn(status=500)] * 4, "LLM_UPSTREAM_ERROR", ["HTTP 500"]),
    ([Turn(status=404, body={"error": {"message": "The model fake-gpt does not exist"}})],
     "LLM_BAD_REQUEST", ["does not exist"]),
    ([Turn(text="one two three four five", cut_after=3)], "LLM_BAD_STREAM", ["ended before"]),
    ([Turn(text="one two three four", malformed_after=2)], "LLM_BAD_STREAM", ["malformed"]),
    ([Turn(tool_calls=[("launch_rockets", {})])], "LLM_UNKNOWN_ACTION", ["launch_rockets"]),
    ([Turn(tool_calls=[("lookup_order", '{"order_id": 4')])], "LLM_BAD_TOOL_ARGUMENTS",
     ["not valid JSON"]),
])
def test_upstream_failures_are_clear_run_errors_without_the_key(
        served: Any, fake: FakeLLMServer, caplog: pytest.LogCaptureFixture, turns: list[Turn],
        code: str, words: list[str]) -> None:
    fake.script(*turns)
    with caplog.at_level(logging.DEBUG):
        events = agui_run(served, run_body("hi"))
    error = events[-1]
    assert error["type"] == "RUN_ERROR" and error["code"] == code, error
    for word in words:
        assert word in error["message"]
    assert SECRET not in error["message"] and SECRET not in caplog.text
    assert SECRET not in httpx.get(served.origin + "/health").text


def test_a_rate_limit_is_retried_honouring_retry_after(served: Any, fake: FakeLLMServer) -> None:
    fake.script(Turn(status=429, headers={"retry-after": "0.3"}), Turn(text="after the wait"))
    started = time.monotonic()
    events = agui_run(served, run_body("hi"))
    assert text_of(events) == "after the wait" and len(fake.requests) == 2
    assert time.monotonic() - started >= 0.3  # it waited as told (a lower bound, never flaky)


def test_5xx_retries_are_bounded(fake: FakeLLMServer, tmp_path: Path) -> None:
    fake.script(*[Turn(status=503)] * 5)
    with serve_runtime(chat_runtime(fake, tmp_path, max_retries=1)) as served:
        events = agui_run(served, run_body("hi"))
    assert events[-1]["code"] == "LLM_UPSTREAM_ERROR" and len(fake.requests) == 2


def test_an_upstream_timeout_fails_the_run(fake: FakeLLMServer, tmp_path: Path) -> None:
    fake.script(Turn(text="too late", first_delay=5))
    with serve_runtime(chat_runtime(fake, tmp_path, timeout=0.5, max_retries=0)) as served:
        events = agui_run(served, run_body("hi"))
    assert events[-1]["code"] == "LLM_TIMEOUT" and "0.5 s" in events[-1]["message"]


def test_stop_closes_the_upstream_stream(served: Any, fake: FakeLLMServer) -> None:
    fake.script(Turn(text=" ".join(f"w{i}" for i in range(200)), chunk_delay=0.05))
    body = run_body("a long answer please")
    seen: list[dict[str, Any]] = []

    def read() -> None:
        with httpx.stream("POST", f"{served.url}/agent/chat/run", json=body, timeout=30) as r:
            for line in r.iter_lines():
                if line.startswith("data:"):
                    seen.extend(sse_events(line))

    reader = threading.Thread(target=read)
    reader.start()
    assert fake.wait_for(lambda f: any(e["type"] == "TEXT_MESSAGE_CONTENT" for e in seen) or False
                         , timeout=10)
    stopped = httpx.post(f"{served.url}/agent/chat/stop/{body['threadId']}", json={}).json()
    assert stopped["stopped"] is True
    reader.join(20)
    assert fake.wait_for(lambda f: f.closed_early == 1)
    assert fake.completed == 0
    assert kinds(seen)[-1] == "RUN_FINISHED" and len(text_of(seen).split()) < 200


def test_suggest_is_stateless_and_forces_the_suggest_tool(served: Any, fake: FakeLLMServer) -> None:
    suggest_tool = {"name": "copilotkitSuggest", "description": "Suggest", "parameters": {
        "type": "object", "properties": {"suggestions": {"type": "array", "items": {
            "type": "object", "properties": {"title": {"type": "string"},
                                             "message": {"type": "string"}}}}}}}
    body = run_body("Suggest what the user could say next", tools=[suggest_tool],
                    forwardedProps={"toolChoice": {"type": "function",
                                                   "function": {"name": "copilotkitSuggest"}}})
    assert httpx.get(served.url + "/info").json()["suggestions"] is True
    events = agui_run(served, body, route="suggest")
    args = "".join(e["delta"] for e in events if e["type"] == "TOOL_CALL_ARGS")
    assert '"suggestions"' in args and kinds(events)[-1] == "RUN_FINISHED"
    assert fake.requests[-1]["tool_choice"] == {"type": "function",
                                                "function": {"name": "copilotkitSuggest"}}
    # Nothing stored: the thread does not exist for /connect.
    replay = httpx.post(f"{served.url}/agent/chat/connect", json=run_body(
        None, messages=[], thread_id=body["threadId"]), timeout=10)
    assert replay.status_code == 200
    assert "copilotkitSuggest" not in replay.text and "TOOL_CALL_START" not in replay.text


def test_transcribe_multipart_and_json(served: Any, fake: FakeLLMServer) -> None:
    info = httpx.get(served.url + "/info").json()
    assert info["audioFileTranscriptionEnabled"] is True
    fake.script(Turn(transcript="hello from the microphone"))
    audio = b"\x1aE\xdf\xa3fake-webm-bytes"
    response = httpx.post(served.url + "/transcribe",
                          files={"audio": ("clip.webm", audio, "audio/webm")})
    assert response.status_code == 200, response.text
    assert response.json() == {"text": "hello from the microphone", "size": len(audio),
                               "type": "audio/webm"}
    assert fake.requests[-1] == {"model": "whisper-1", "file_bytes": len(audio),
                                 "filename": "clip.webm"}
    response = httpx.post(served.url + "/transcribe", json={
        "audio": base64.b64encode(audio).decode(), "mimeType": "audio/ogg"})
    assert response.json() == {"text": f"transcribed {len(audio)} bytes", "size": len(audio),
                               "type": "audio/ogg"}
    single = httpx.post(served.url, json={"method": "transcribe", "body": {
        "audio": base64.b64encode(audio).decode(), "mimeType": "audio/webm"}})
    assert single.json()["size"] == len(audio)
    bad = httpx.post(served.url + "/transcribe", json={"audio": "%%% not base64"})
    assert bad.status_code == 400 and "base64" in bad.text
    fake.script(Turn(status=401))
    refused = httpx.post(served.url + "/transcribe", files={"audio": ("a.webm", audio, "audio/webm")})
    assert refused.status_code == 503 and "agents.chat.api_key" in refused.text
    assert SECRET not in refused.text


def test_transcription_off_is_said_in_info_and_answered_501(fake: FakeLLMServer,
                                                            tmp_path: Path) -> None:
    with serve_runtime(chat_runtime(fake, tmp_path, transcription_model="")) as served:
        assert httpx.get(served.url + "/info").json()["audioFileTranscriptionEnabled"] is False
        response = httpx.post(served.url + "/transcribe", json={"audio": "AAAA"})
        assert response.status_code == 501


def test_images_reach_the_model_as_image_parts(served: Any, fake: FakeLLMServer) -> None:
    pixel = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    body = run_body(messages=[{"id": "u", "role": "user", "content": [
        {"type": "text", "text": "what is this"},
        {"type": "image", "source": {"type": "data", "value": pixel, "mimeType": "image/png"}}]}])
    agui_run(served, body)
    content = fake.requests[-1]["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "what is this"}
    assert content[1] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{pixel}"}}
