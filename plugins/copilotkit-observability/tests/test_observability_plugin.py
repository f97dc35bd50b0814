"""The plugin over real HTTP: a /metrics scrape after real runs through both protocols, the
config sections validated, and spans exported over OTLP/HTTP to a local collector."""

from __future__ import annotations

import http.server
import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families

from copilotkit_observability import MetricsHook, TracingHook
from copilotkit_runtime import AgentProvider, RunRequest, hookimpl
from copilotkit_runtime.errors import ConfigError
from copilotkit_runtime.events import BaseEvent, text_message
from copilotkit_runtime.testing import make_runtime, serve_runtime
from copilotkit_runtime.testing.server import free_port

MUTATION = ("mutation($data: GenerateCopilotResponseInput!) { generateCopilotResponse(data: $data)"
            " { threadId status { __typename } } }")


class Echo(AgentProvider):
    async def run(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        if str(request.messages[-1].content) == "fail":
            raise RuntimeError("broken")
        for event in text_message(["ok"]):
            yield event


class Agents:
    @hookimpl
    def register_agent_providers(self, registry: Any) -> None:
        registry.add("echo", Echo)


CONFIG = {"agents": {"echo": {"provider": "echo"}},
          "guardrails": {"topics": {"deny_list": ["politics"]}}}


def agui(served: Any, text: str) -> list[dict[str, Any]]:
    body = {"threadId": f"t-{uuid.uuid4().hex}", "runId": str(uuid.uuid4()), "state": {},
            "tools": [], "context": [], "forwardedProps": {},
            "messages": [{"id": str(uuid.uuid4()), "role": "user", "content": text}]}
    response = httpx.post(f"{served.url}/agent/echo/run", json=body, timeout=20)
    assert response.status_code == 200, response.text
    return [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")]


def graphql(served: Any, text: str) -> str:
    data = {"threadId": f"t-{uuid.uuid4().hex}", "frontend": {"actions": []},
            "metadata": {"requestType": "Chat"}, "agentSession": {"agentName": "echo"},
            "messages": [{"id": str(uuid.uuid4()), "createdAt": "2024-01-01T00:00:00Z",
                          "textMessage": {"content": text, "role": "user"}}]}
    response = httpx.post(served.url, json={"query": MUTATION, "variables": {"data": data}},
                          timeout=20)
    assert response.status_code == 200, response.text
    return response.text


def scrape(served: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{served.origin}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(scope="module")
def metered() -> Iterator[Any]:
    runtime = make_runtime({**CONFIG, "metrics": {"enabled": True}}, plugins={"agents": Agents()},
                           load_entry_points=["observability"])
    with serve_runtime(runtime) as served:
        yield served


def test_metrics_count_runs_of_both_protocols(metered: Any) -> None:
    before = scrape(metered)
    assert agui(metered, "hello")[-1]["type"] == "RUN_FINISHED"
    assert agui(metered, "fail")[-1]["type"] == "RUN_ERROR"
    assert "SuccessResponseStatus" in graphql(metered, "hello")
    assert "FailedResponseStatus" in graphql(metered, "let us talk politics")
    after = scrape(metered)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("copilotkit_runs_started_total", agent="echo") == 3
    assert moved("copilotkit_runs_ended_total", agent="echo", outcome="success") == 2
    assert moved("copilotkit_runs_ended_total", agent="echo", outcome="error") == 1
    assert moved("copilotkit_runs_ended_total", agent="echo", outcome="refused") == 1
    assert moved("copilotkit_runs_failed_total", agent="echo", code="AGENT_ERROR") == 1
    assert moved("copilotkit_runs_failed_total", agent="echo",
                 code="GUARDRAILS_VALIDATION_FAILED") == 1
    assert moved("copilotkit_guardrail_blocks_total", agent="echo") == 1
    assert moved("copilotkit_run_duration_seconds_count", agent="echo") == 3
    assert moved("copilotkit_run_time_to_first_event_seconds_count", agent="echo") == 3
    assert value(after, "copilotkit_open_streams") == 0
    # A failed run keeps its history but not its state.
    assert moved("copilotkit_store_operation_seconds_count", operation="save_thread",
                 result="ok") == 2
    assert moved("copilotkit_store_operation_seconds_count", operation="append_events",
                 result="ok") == 3
    assert moved("copilotkit_store_operation_seconds_count", operation="acquire_run_lock",
                 result="ok") == 3


def test_metrics_are_off_unless_enabled() -> None:
    runtime = make_runtime(CONFIG, plugins={"agents": Agents()},
                           load_entry_points=["observability"])
    assert not any(isinstance(h, MetricsHook) for h in runtime.run_hooks)
    with serve_runtime(runtime) as served:
        assert httpx.get(f"{served.origin}/metrics").status_code == 404


@pytest.mark.parametrize("section", ["metrics", "telemetry"])
def test_an_unknown_key_is_a_clear_startup_error(section: str) -> None:
    with pytest.raises(ConfigError, match=rf"{section}\.bogus: unknown key"):
        make_runtime({**CONFIG, section: {"bogus": 1}}, plugins={"agents": Agents()},
                           load_entry_points=["observability"])


def test_telemetry_is_off_without_an_endpoint() -> None:
    runtime = make_runtime(CONFIG, plugins={"agents": Agents()}, env={},
                           load_entry_points=["observability"])
    assert not any(isinstance(h, TracingHook) for h in runtime.run_hooks)


class Collector(http.server.BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []
    arrived = threading.Event()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        Collector.received.append((self.path, self.headers["content-type"], body))
        Collector.arrived.set()
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_spans_are_exported_over_otlp_http_to_a_collector() -> None:
    port = free_port()
    collector = http.server.ThreadingHTTPServer(("127.0.0.1", port), Collector)
    thread = threading.Thread(target=collector.serve_forever, daemon=True)
    thread.start()
    try:
        runtime = make_runtime({**CONFIG, "telemetry": {
            "otlp_endpoint": f"http://127.0.0.1:{port}/v1/traces",
            "headers": {"x-collector-token": "t0k"}}}, plugins={"agents": Agents()},
                           load_entry_points=["observability"])
        trace_id = uuid.uuid4().hex
        with serve_runtime(runtime) as served:
            response = httpx.post(f"{served.url}/agent/echo/run", timeout=20, headers={
                "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}, json={
                "threadId": "t-otlp", "runId": "r-otlp", "state": {}, "tools": [],
                "context": [], "forwardedProps": {},
                "messages": [{"id": "m1", "role": "user", "content": "hello"}]})
            assert response.status_code == 200
        # Stopping the runtime flushes the exporter.
        assert Collector.arrived.wait(10)
        names, trace_ids = set(), set()
        for path, content_type, body in Collector.received:
            assert path == "/v1/traces" and content_type == "application/x-protobuf"
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        names.add(span.name)
                        trace_ids.add(span.trace_id.hex())
        assert {"copilotkit.request", "copilotkit.run", "copilotkit.provider",
                "copilotkit.store.save_thread"} <= names
        assert trace_id in trace_ids
    finally:
        collector.shutdown()
        collector.server_close()
