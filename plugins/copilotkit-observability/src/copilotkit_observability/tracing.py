"""``[telemetry]``: the OpenTelemetry SDK with the OTLP/HTTP exporter for the core's spans.

    [telemetry]
    otlp_endpoint = "http://collector:4318/v1/traces"
    service_name = "copilotkit-runtime"
    headers = { authorization = "Bearer ${OTLP_TOKEN}" }

Without the section, the standard variables turn it on too: ``OTEL_EXPORTER_OTLP_ENDPOINT``
or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (and the SDK's other ``OTEL_*`` variables:
``OTEL_SERVICE_NAME``, ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_TRACES_SAMPLER``...).
``OTEL_SDK_DISABLED=true`` turns it off.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from copilotkit_runtime.runhooks import RunHook

log = logging.getLogger("copilotkit_observability")

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


class TelemetryOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    otlp_endpoint: str | None = Field(
        None, description="OTLP/HTTP traces URL (e.g. http://collector:4318/v1/traces); "
        "default: the OTEL_EXPORTER_OTLP_* variables")
    service_name: str | None = Field(None, description="service.name (default: "
                                     "OTEL_SERVICE_NAME, else copilotkit-runtime)")
    headers: dict[str, str] = Field(default_factory=dict,
                                    description="headers sent with each export")
    timeout: float = Field(10.0, gt=0, description="seconds one export may take")


class TracingHook(RunHook):
    """Claims ``[telemetry]``; installs the SDK ``TracerProvider`` at startup."""

    config_section = "telemetry"

    def __init__(self, options: TelemetryOptions, environ: Mapping[str, str]) -> None:
        self.options = options
        self.environ = environ
        self.provider: Any = None
        self.processor: Any = None

    @classmethod
    def from_settings(cls, settings: Any, environ: Mapping[str, str] | None = None
                      ) -> TracingHook | None:
        environ = os.environ if environ is None else environ
        options = TelemetryOptions.model_validate(settings.telemetry)
        if environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
            return None
        if options.otlp_endpoint is None and not any(environ.get(v) for v in ENDPOINT_VARIABLES):
            return None
        return cls(options, environ)

    def install(self) -> Any:
        """The SDK provider exporting over OTLP/HTTP, set as the global one (when another
        SDK provider is already global, the exporter joins it)."""
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        options = self.options
        exporter = OTLPSpanExporter(endpoint=options.otlp_endpoint,
                                    headers=options.headers or None, timeout=options.timeout)
        current = trace.get_tracer_provider()
        if isinstance(current, TracerProvider):
            provider = current
        else:
            name = options.service_name or self.environ.get("OTEL_SERVICE_NAME") or \
                "copilotkit-runtime"
            provider = TracerProvider(resource=Resource.create({"service.name": name}))
            trace.set_tracer_provider(provider)
        self.processor = BatchSpanProcessor(exporter)
        provider.add_span_processor(self.processor)
        self.provider = provider
        # The endpoint, never the headers (they may hold a token).
        log.info("OpenTelemetry: exporting spans over OTLP/HTTP to %s",
                 options.otlp_endpoint or "the OTEL_EXPORTER_OTLP_* endpoint")
        return provider

    def close(self) -> None:
        """Export what is pending and stop this exporter (the runtime is stopping)."""
        processor = self.processor
        if processor is not None:
            processor.shutdown()  # flushes first
            self.processor = None
