"""Observability in the core over real HTTP: OpenTelemetry spans (request, run, provider,
store operations, backend actions) with an incoming traceparent honoured, run hooks that
refuse, amend, see the output and see every error, and JSON log lines with the ids."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from copilotkit_runtime import AgentProvider, RunRequest, hookimpl
from copilotkit_runtime.actions import Action
from copilotkit_runtime.errors import RunRefusedError
from copilotkit_runtime.events import BaseEvent, text_message
from copilotkit_runtime.logs import JsonFormatter
from copilotkit_runtime.runhooks import RunContext, RunFailure, RunHook
from copilotkit_runtime.testing import make_runtime, serve_runtime

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
MUTATION = ("mutation($data: GenerateCopilotResponseInput!) { generateCopilotResponse(data: $data)"
            " { threadId status { __typename ... on FailedResponseStatus { reason details } }"
            " messages { __typename ... on TextMessageOutput { content } } } }")


def _exporter() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


EXPORTER = _exporter()


async def shout(text: str) -> str:
    """Shout the text."""
    return text.upper()


class Echo(AgentProvider):
    """Answers with the last user message (after calling the ``shout`` action), or fails
    when told to."""

    async def run(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        last = str(request.messages[-1].content)
        if last == "fail":
            logging.getLogger("test.echo").warning(
                "about to fail with Authorization: Bearer abc.def.ghi")
            raise RuntimeError("the agent broke")
        loud = await ACTION.invoke({"text": last})
        for event in text_message([loud]):
            yield event


ACTION = Action.from_function(shout)


class Recorder(RunHook):
    def __init__(self) -> None:
        self.before: list[list[str]] = []
        self.after: list[tuple[RunContext, list[dict[str, Any]]]] = []
        self.errors: list[tuple[RunContext, RunFailure]] = []
        self.ended: list[RunContext] = []

    async def before_run(self, run: RunContext) -> None:
        texts = [str(m.content) for m in run.messages]
        self.before.append(texts)
        if texts[-1] == "forbidden":
            raise RunRefusedError("This topic is refused by policy.")
        if texts[-1] == "amend me":
            first = run.messages[-1].model_copy(update={"content": "amended"})
            run.messages = [*run.messages[:-1], first]

    async def after_run(self, run: RunContext, messages: list[dict[str, Any]]) -> None:
        self.after.append((run, messages))

    async def on_error(self, run: RunContext, error: RunFailure) -> None:
        self.errors.append((run, error))

    def run_ended(self, run: RunContext) -> None:
        self.ended.append(run)


HOOK = Recorder()


class Plugin:
    @hookimpl
    def register_agent_providers(self, registry: Any) -> None:
        registry.add("echo", Echo)

    @hookimpl
    def register_run_hooks(self, registry: Any) -> None:
        registry.add("recorder", HOOK)


@pytest.fixture(scope="module")
def served() -> Any:
    runtime = make_runtime({"agents": {"echo": {"provider": "echo"}}},
                           plugins={"obs-test": Plugin()})
    with serve_runtime(runtime) as served:
        yield served


def agui_body(text: str, thread_id: str | None = None) -> dict[str, Any]:
    return {"threadId": thread_id or f"t-{uuid.uuid4().hex}", "runId": str(uuid.uuid4()),
            "state": {}, "tools": [], "context": [], "forwardedProps": {},
            "messages": [{"id": str(uuid.uuid4()), "role": "user", "content": text}]}


def agui_run(served: Any, text: str, **headers: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    body = agui_body(text)
    response = httpx.post(f"{served.url}/agent/echo/run", json=body, headers=headers, timeout=20)
    assert response.status_code == 200, response.text
    events = [json.loads(line[5:]) for line in response.text.splitlines()
              if line.startswith("data:")]
    return body, events


def graphql_run(served: Any, text: str, **headers: str) -> tuple[str, httpx.Response]:
    thread = f"t-{uuid.uuid4().hex}"
    data = {"threadId": thread, "frontend": {"actions": []},
            "metadata": {"requestType": "Chat"}, "agentSession": {"agentName": "echo"},
            "messages": [{"id": str(uuid.uuid4()), "createdAt": "2024-01-01T00:00:00Z",
                          "textMessage": {"content": text, "role": "user"}}]}
    response = httpx.post(served.url, json={"query": MUTATION, "variables": {"data": data}},
                          headers=headers, timeout=20)
    assert response.status_code == 200, response.text
    return thread, response


def spans_of_trace(trace_id: int) -> list[Any]:
    return [s for s in EXPORTER.get_finished_spans() if s.context.trace_id == trace_id]


def test_an_agui_run_is_traced_under_the_incoming_traceparent(served: Any) -> None:
    EXPORTER.clear()
    body, events = agui_run(served, "hello", traceparent=TRACEPARENT)
    assert events[-1]["type"] == "RUN_FINISHED"
    spans = spans_of_trace(int(TRACE_ID, 16))
    by_name = {s.name: s for s in spans}
    for name in ("copilotkit.request", "copilotkit.run", "copilotkit.provider",
                 "copilotkit.action", "copilotkit.store.acquire_run_lock",
                 "copilotkit.store.get_thread", "copilotkit.store.save_thread"):
        assert name in by_name, (name, sorted(by_name))
    request, run = by_name["copilotkit.request"], by_name["copilotkit.run"]
    assert request.parent is not None and request.parent.span_id == 0x00F067AA0BA902B7
    assert request.attributes["http.route"] == "/api/copilotkit/agent/{agentId}/run"
    assert request.attributes["http.response.status_code"] == 200
    assert run.parent.span_id == request.context.span_id
    assert run.attributes["copilotkit.agent"] == "echo"
    assert run.attributes["copilotkit.thread_id"] == body["threadId"]
    assert run.attributes["copilotkit.run_id"] == body["runId"]
    assert run.attributes["copilotkit.protocol"] == "agui"
    assert run.attributes["copilotkit.outcome"] == "success"
    provider = by_name["copilotkit.provider"]
    assert provider.parent.span_id == run.context.span_id
    assert by_name["copilotkit.action"].parent.span_id == provider.context.span_id
    assert by_name["copilotkit.action"].attributes["copilotkit.action"] == "shout"
    assert by_name["copilotkit.store.save_thread"].parent.span_id == run.context.span_id


def test_a_graphql_run_is_traced_too(served: Any) -> None:
    EXPORTER.clear()
    thread, response = graphql_run(served, "hello", traceparent=TRACEPARENT)
    assert "HELLO" in response.text
    spans = {s.name: s for s in spans_of_trace(int(TRACE_ID, 16))}
    assert spans["copilotkit.request"].attributes["copilotkit.protocol"] == "graphql"
    assert spans["copilotkit.request"].attributes["http.route"] == "/api/copilotkit"
    run = spans["copilotkit.run"]
    assert run.attributes["copilotkit.protocol"] == "graphql"
    assert run.attributes["copilotkit.thread_id"] == thread
    assert "copilotkit.provider" in spans and "copilotkit.store.save_thread" in spans


def test_without_a_traceparent_each_request_starts_its_own_trace(served: Any) -> None:
    EXPORTER.clear()
    agui_run(served, "one")
    agui_run(served, "two")
    requests = [s for s in EXPORTER.get_finished_spans() if s.name == "copilotkit.request"]
    assert len(requests) == 2 and requests[0].parent is None
    assert requests[0].context.trace_id != requests[1].context.trace_id


def test_a_failed_run_marks_its_span_and_reaches_the_error_hook(served: Any) -> None:
    EXPORTER.clear()
    HOOK.errors.clear()
    body, events = agui_run(served, "fail")
    assert events[-1]["type"] == "RUN_ERROR"
    run = next(s for s in EXPORTER.get_finished_spans() if s.name == "copilotkit.run")
    assert run.attributes["copilotkit.outcome"] == "error"
    assert run.status.status_code is trace.StatusCode.ERROR
    context, failure = HOOK.errors[-1]
    assert context.run_id == body["runId"] and context.outcome == "error"
    assert failure.code == "AGENT_ERROR"
    assert isinstance(failure.exception, RuntimeError)
    assert str(failure.exception) == "the agent broke"


def test_the_after_hook_sees_the_messages_the_run_produced(served: Any) -> None:
    HOOK.after.clear()
    body, _ = agui_run(served, "hello")
    context, messages = HOOK.after[-1]
    assert context.run_id == body["runId"] and context.outcome == "success"
    assert [m["role"] for m in messages] == ["assistant"]
    assert messages[0]["content"] == "HELLO"
    assert context.duration is not None and context.time_to_first_event is not None
    assert 0 <= context.time_to_first_event <= context.duration


def test_a_hook_may_amend_the_messages_the_agent_sees(served: Any) -> None:
    _, events = agui_run(served, "amend me")
    text = "".join(e.get("delta", "") for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert text == "AMENDED"


def test_a_hook_may_refuse_a_run_on_both_protocols(served: Any) -> None:
    HOOK.errors.clear()
    _, events = agui_run(served, "forbidden")
    assert events[-1]["type"] == "RUN_ERROR"
    assert events[-1]["code"] == "RUN_REFUSED"
    assert "refused by policy" in events[-1]["message"]
    _, response = graphql_run(served, "forbidden")
    assert "refused by policy" in response.text
    assert [e.code for _, e in HOOK.errors[-2:]] == ["RUN_REFUSED", "RUN_REFUSED"]
    assert all(c.outcome == "refused" for c, _ in HOOK.errors[-2:])


def test_every_run_ends_once_for_the_observers(served: Any) -> None:
    HOOK.ended.clear()
    agui_run(served, "hello")
    agui_run(served, "fail")
    agui_run(served, "forbidden")
    assert [c.outcome for c in HOOK.ended] == ["success", "error", "refused"]


def test_json_log_lines_carry_the_request_and_run_ids_and_no_secrets(served: Any) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        body, _ = agui_run(served, "fail", **{"x-request-id": "req-42"})
    finally:
        root.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    ours = [line for line in lines if line.get("run_id") == body["runId"]]
    assert {line["logger"] for line in ours} >= {"test.echo", "copilotkit_runtime.engine"}
    for line in ours:
        assert line["request_id"] == "req-42"
        assert line["thread_id"] == body["threadId"]
        assert line["agent"] == "echo"
    warning = next(line for line in ours if line["logger"] == "test.echo")
    assert "abc.def.ghi" not in warning["message"] and "[REDACTED]" in warning["message"]
    failed = next(line for line in ours if line["logger"] == "copilotkit_runtime.engine")
    assert "RuntimeError: the agent broke" in failed["exception"]


def test_the_response_carries_the_request_id(served: Any) -> None:
    response = httpx.post(f"{served.url}/agent/echo/run", json=agui_body("hi"),
                          headers={"x-request-id": "abc-1"})
    assert response.headers["x-request-id"] == "abc-1"
    response = httpx.post(f"{served.url}/agent/echo/run", json=agui_body("hi"),
                          headers={"x-request-id": "not ok; <script>"})
    assert len(response.headers["x-request-id"]) == 32


def test_a_configured_telemetry_section_without_the_plugin_is_a_clear_error() -> None:
    from copilotkit_runtime.errors import ConfigError

    with pytest.raises(ConfigError, match="pip install copilotkit-observability"):
        make_runtime({"metrics": {"enabled": True}}, load_entry_points=False)


def test_an_llm_call_is_a_span_with_its_model_and_tokens() -> None:
    import asyncio

    from copilotkit_runtime.llm.loop import ChatLoop, LoopSettings
    from copilotkit_runtime.llm.model import ChatModel, TextDelta, Usage
    from copilotkit_runtime.telemetry import current_observers
    from copilotkit_runtime.testing import run_request

    class TwoTokens(ChatModel):
        async def stream(self, request: Any) -> Any:
            yield TextDelta("hi")
            yield Usage(input_tokens=12, output_tokens=2)

    seen: list[tuple[Any, ...]] = []

    class Tokens:
        def llm_usage(self, *args: Any) -> None:
            seen.append(args)

    async def run() -> None:
        current_observers.set((Tokens(),))
        loop = ChatLoop(TwoTokens(), {}, LoopSettings(model="model-x"))
        async for _ in loop.run(run_request("chat", "hello")):
            pass

    EXPORTER.clear()
    asyncio.run(run())
    [span] = [s for s in EXPORTER.get_finished_spans() if s.name == "copilotkit.llm"]
    assert span.attributes["gen_ai.request.model"] == "model-x"
    assert span.attributes["gen_ai.usage.input_tokens"] == 12
    assert span.attributes["gen_ai.usage.output_tokens"] == 2
    assert seen == [("chat", "model-x", 12, 2)]
