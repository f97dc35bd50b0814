"""copilotkit-observability: OpenTelemetry export and Prometheus metrics for copilotkit-runtime."""

from .metrics import MetricsHook, MetricsOptions
from .tracing import TelemetryOptions, TracingHook

__all__ = ["MetricsHook", "MetricsOptions", "TelemetryOptions", "TracingHook"]
