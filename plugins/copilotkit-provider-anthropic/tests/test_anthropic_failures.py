"""Upstream failures through the runtime over real HTTP: each is a clear run error (or a retry
that succeeds), never a hang, a crash or a leaked key; a stop closes the upstream stream."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from anthropic_helpers import SECRET_KEY, run, run_error, run_input, text_of, types

import copilotkit_provider_anthropic.plugin as anthropic_plugin
from copilotkit_runtime.errors import ConfigError
from copilotkit_runtime.testing import make_runtime
from copilotkit_runtime.testing.fake_llm import FakeLLMServer, Turn


@pytest.fixture(autouse=True)
def no_key_in_logs(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level("DEBUG")
    yield
    assert not [r for r in caplog.records if SECRET_KEY in r.getMessage()]


def test_a_refused_key_says_which_variable_to_check(served: Any, llm: FakeLLMServer) -> None:
    llm.script(Turn(status=401))
    error = run_error(run(served.url, "claude", run_input("hi")))
    assert error["code"] == "LLM_AUTH_FAILED"
    assert "HTTP 401" in error["message"] and "api_key" in error["message"]
    assert SECRET_KEY not in json.dumps(error)
    assert len(llm.requests) == 1  # not retried


def test_a_bad_request_quotes_the_provider_without_the_key(served: Any, llm: FakeLLMServer) -> None:
    llm.script(Turn(status=400, body={"type": "error", "error": {
        "type": "invalid_request_error", "message": f"model not found (key {SECRET_KEY})"}}))
    error = run_error(run(served.url, "claude", run_input("hi")))
    assert error["code"] == "LLM_BAD_REQUEST"
    assert "HTTP 400" in error["message"] and "model not found" in error["message"]
    assert SECRET_KEY not in error["message"] and "***" in error["message"]


def test_a_rate_limit_is_retried_after_retry_after(served: Any, llm: FakeLLMServer) -> None:
    llm.script(Turn(status=429, headers={"retry-after": "0"}), Turn(text="second try"))
    events = run(served.url, "claude", run_input("hi"))
    assert text_of(events) == "second try" and types(events)[-1] == "RUN_FINISHED"
    assert len(llm.requests) == 2
    assert llm.headers[1]["x-stainless-retry-count"] == "0"  # the loop retried, not the SDK


def test_a_retry_after_longer_than_the_server_waits_fails_at_once(served: Any, llm: FakeLLMServer) -> None:
    llm.script(Turn(status=429, headers={"retry-after": "120"}))
    error = run_error(run(served.url, "claude", run_input("hi")))
    assert error["code"] == "LLM_RATE_LIMITED" and "120 s" in error["message"]
    assert len(llm.requests) == 1


def test_rate_limits_past_the_retry_budget_fail_the_run(served: Any, llm: FakeLLMServer) -> None:
    llm.script(Turn(status=429, headers={"retry-after-ms": "10"}),
               Turn(status=429, headers={"retry-after-ms": "10"}))
    error = run_error(run(served.url, "claude", run_input("hi")))
    assert error["code"] == "LLM_RATE_LIMITED" and "HTTP 429" in error["message"]
    assert len(llm.requests) == 2  # max_retries = 1


@pytest.mark.parametrize("status, words", [(500, "failed (HTTP 500)"), (529, "overloaded (HTTP 529)")])
def test_server_errors_are_retried_then_fail_the_run(served: Any, llm: FakeLLMServer, status: int,
                                                     words: str) -> None:
    llm.script(Turn(status=status), Turn(status=status))
    error = run_error(run(served.url, "claude", run_input("hi")))
    assert error["code"] == "LLM_UPSTREAM_ERROR" and words in error["message"]
    assert len(llm.requests) == 2


def test_overloaded_then_available_succeeds(served: Any, llm: FakeLLMServer) -> None:
    llm.script(Turn(status=529), Turn(text="back"))
    assert text_of(run(served.url, "claude", run_input("hi"))) == "back"


def test_an_error_event_inside_the_stream_is_retried_when_nothing_was_shown(
        served: Any, llm: FakeLLMServer) -> None:
    llm.script(Turn(stream_error="overloaded_error"), Turn(text="after the hiccup"))
    events = run(served.url, "claude", run_input("hi"))
    assert text_of(events) == "after the hiccup" and types(events)[-1] == "RUN_FINISHED"
    assert len(llm.requests) == 2


def test_an_error_event_that_persists_fails_the_run(served: Any, llm: FakeLLMServer) -> None:
    llm.script(Turn(stream_error="overloaded_error"), Turn(stream_error="overloaded_error"))
    error = run_error(run(served.url, "claude", run_input("hi")))
    assert error["code"] == "LLM_UPSTREAM_ERROR" and "overloaded" in error["message"]


def test_a_cut_off_stream_fails_the_run_and_keeps_what_streamed(served: Any, llm: FakeLLMServer) -> None:
    llm.script(Turn(text="one two three four", cut_after=4))  # no message_stop
    events = run(served.url, "claude", run_input("hi"))
    error = run_error(events)
    assert error["code"] == "LLM_BAD_STREAM" and "message_stop" in error["message"]
    assert text_of(events) == "one two"
    assert types(events)[-2] == "TEXT_MESSAGE_END"  # the message is closed before the error
    assert len(llm.requests) == 1  # something streamed: not retried


def test_a_malformed_stream_fails_the_run(served: Any, llm: FakeLLMServer) -> None:
    llm.script(Turn(text="one two three", malformed_after=3))
    error = run_error(run(served.url, "claude", run_input("hi")))
    assert error["code"] == "LLM_BAD_STREAM" and "malformed" in error["message"]


def test_a_stalled_stream_times_out(served: Any, llm: FakeLLMServer) -> None:
    llm.script(Turn(text="slow words here", chunk_delay=5))
    events = run(served.url, "claude-slow", run_input("hi"))
    error = run_error(events)
    assert error["code"] == "LLM_TIMEOUT" and "0.5 s" in error["message"]
    assert llm.wait_for(lambda s: s.closed_early == 1)


def test_tool_arguments_that_are_not_json_fail_the_run(served: Any, llm: FakeLLMServer) -> None:
    llm.script(Turn(tool_calls=[("lookup_order", '{"order_id": 7')]))
    error = run_error(run(served.url, "claude", run_input("hi")))
    assert error["code"] == "LLM_BAD_TOOL_ARGUMENTS"


def test_a_call_to_an_unknown_action_fails_the_run(served: Any, llm: FakeLLMServer) -> None:
    llm.script(Turn(tool_calls=[("launch_rockets", {})]))
    error = run_error(run(served.url, "claude", run_input("hi")))
    assert error["code"] == "LLM_UNKNOWN_ACTION" and "launch_rockets" in error["message"]


def test_stop_closes_the_upstream_stream(served: Any, llm: FakeLLMServer) -> None:
    llm.script(Turn(text=" ".join(f"w{i}" for i in range(50)), chunk_delay=0.2))
    thread = f"t-{uuid.uuid4()}"
    body = run_input("go", thread_id=thread)
    with httpx.stream("POST", f"{served.url}/agent/claude/run", json=body, timeout=30) as response:
        seen: list[dict[str, Any]] = []
        for line in response.iter_lines():
            if not line.startswith("data: "):
                continue
            seen.append(json.loads(line.removeprefix("data: ")))
            if seen[-1]["type"] == "TEXT_MESSAGE_CONTENT":
                stop = httpx.post(f"{served.url}/agent/claude/stop/{thread}",
                                  json={"runId": body["runId"]}, timeout=10)
                assert stop.status_code == 200, stop.text
        # the stream ends after the stop, long before the 50 slow words
    assert len([e for e in seen if e["type"] == "TEXT_MESSAGE_CONTENT"]) < 50
    assert llm.wait_for(lambda s: s.closed_early == 1)
    assert llm.completed == 0


def test_no_key_is_a_config_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        make_runtime({"agents": {"c": {"provider": "anthropic"}}}, env={},
                     plugins={"anthropic": anthropic_plugin}, load_entry_points=False)
