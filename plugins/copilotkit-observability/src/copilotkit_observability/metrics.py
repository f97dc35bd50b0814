"""``[metrics]``: Prometheus metrics at ``/metrics`` (prometheus-client), one registry per
runtime.

    [metrics]
    enabled = true
    path = "/metrics"

Metric names (public API; see docs/observability.md):

- ``copilotkit_runs_started_total{agent}``
- ``copilotkit_runs_ended_total{agent,outcome}`` outcome: success, error, stopped, cancelled,
  refused
- ``copilotkit_runs_failed_total{agent,code}`` the error code clients saw
- ``copilotkit_run_duration_seconds{agent}`` histogram
- ``copilotkit_run_time_to_first_event_seconds{agent}`` histogram
- ``copilotkit_open_streams`` gauge: runs streaming now
- ``copilotkit_store_operation_seconds{operation,result}`` histogram (result: ok, error)
- ``copilotkit_guardrail_blocks_total{agent}``
- ``copilotkit_llm_tokens_total{agent,model,direction}`` direction: input, output
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from copilotkit_runtime.runhooks import RunContext, RunFailure, RunHook

BLOCK_CODES = frozenset({"GUARDRAILS_VALIDATION_FAILED"})
_STARTED = "copilotkit_observability.started"


class MetricsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="serve Prometheus metrics")
    path: str = Field("/metrics", description="where (at the app's root)")

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/'")
        return value


class MetricsHook(RunHook):
    """Claims ``[metrics]``; counts what the engine tells run hooks."""

    config_section = "metrics"

    def __init__(self, options: MetricsOptions | None = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.options = options or MetricsOptions(enabled=True)
        self.registry = CollectorRegistry()
        r = self.registry
        self.started = Counter("copilotkit_runs_started", "Runs whose provider started",
                               ["agent"], registry=r)
        self.ended = Counter("copilotkit_runs_ended", "Runs ended, by outcome",
                             ["agent", "outcome"], registry=r)
        self.failed = Counter("copilotkit_runs_failed", "Failed runs, by error code",
                              ["agent", "code"], registry=r)
        self.duration = Histogram("copilotkit_run_duration_seconds", "Run duration",
                                  ["agent"], registry=r,
                                  buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
        self.first_event = Histogram(
            "copilotkit_run_time_to_first_event_seconds", "Time from run start to its first "
            "event", ["agent"], registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.open_streams = Gauge("copilotkit_open_streams", "Runs streaming now", registry=r)
        self.store = Histogram("copilotkit_store_operation_seconds", "Store operation latency",
                               ["operation", "result"], registry=r,
                               buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                        0.25, 0.5, 1))
        self.blocks = Counter("copilotkit_guardrail_blocks", "Runs blocked by a guardrail",
                              ["agent"], registry=r)
        self.tokens = Counter("copilotkit_llm_tokens", "LLM tokens", ["agent", "model",
                                                                      "direction"], registry=r)

    @classmethod
    def from_settings(cls, settings: Any) -> MetricsHook | None:
        options = MetricsOptions.model_validate(settings.metrics)
        return cls(options) if options.enabled else None

    # -- observations ------------------------------------------------------------------------

    def run_started(self, run: RunContext) -> None:
        run.state[_STARTED] = True
        self.started.labels(run.agent).inc()
        self.open_streams.inc()

    def run_ended(self, run: RunContext) -> None:
        if run.state.pop(_STARTED, False):
            self.open_streams.dec()
        self.ended.labels(run.agent, run.outcome).inc()
        if run.duration is not None and run.outcome != "refused":
            self.duration.labels(run.agent).observe(run.duration)
        if run.time_to_first_event is not None:
            self.first_event.labels(run.agent).observe(run.time_to_first_event)

    async def on_error(self, run: RunContext, error: RunFailure) -> None:
        self.failed.labels(run.agent, error.code).inc()
        if error.code in BLOCK_CODES:
            self.blocks.labels(run.agent).inc()

    def store_operation(self, operation: str, seconds: float, failed: bool) -> None:
        self.store.labels(operation, "error" if failed else "ok").observe(seconds)

    def llm_usage(self, agent: str, model: str, input_tokens: int | None,
                  output_tokens: int | None) -> None:
        if input_tokens:
            self.tokens.labels(agent, model, "input").inc(input_tokens)
        if output_tokens:
            self.tokens.labels(agent, model, "output").inc(output_tokens)

    # -- the endpoint ------------------------------------------------------------------------

    def http_routes(self) -> list[tuple[str, Any]]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
        from starlette.responses import Response

        registry = self.registry

        async def metrics() -> Response:
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

        return [(self.options.path, metrics)]
