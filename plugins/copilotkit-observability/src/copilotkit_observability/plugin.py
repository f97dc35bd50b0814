"""Entry point ``observability``: claims ``[telemetry]`` and ``[metrics]``.

    [telemetry]
    otlp_endpoint = "http://127.0.0.1:4318/v1/traces"

    [metrics]
    enabled = true
"""

from __future__ import annotations

from typing import Any

from copilotkit_runtime import hookimpl

from .metrics import MetricsHook
from .tracing import TracingHook


@hookimpl
def register_run_hooks(registry: Any) -> None:
    registry.add("otel-tracing", TracingHook)
    registry.add("prometheus-metrics", MetricsHook)


@hookimpl
def startup(runtime: Any) -> None:
    for hook in runtime.run_hooks:
        if isinstance(hook, TracingHook) and hook.provider is None:
            hook.install()


@hookimpl
def shutdown(runtime: Any) -> None:
    for hook in runtime.run_hooks:
        if isinstance(hook, TracingHook):
            hook.close()
