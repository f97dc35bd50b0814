"""OpenTelemetry spans at the runtime's seams, with the API only.

The core depends on ``opentelemetry-api`` and nothing else of OpenTelemetry: until an SDK
``TracerProvider`` is installed (``copilotkit-observability`` does it from ``[telemetry]`` or
the ``OTEL_*`` variables, or your own code does) every span is the API's no-op span.

Spans (names are public API, see docs/observability.md):

``copilotkit.request``      one protocol request (``http.route`` is the route template); an
                            incoming W3C ``traceparent`` is its parent
``copilotkit.run``          one agent run: ``copilotkit.agent``, ``copilotkit.thread_id``,
                            ``copilotkit.run_id``, ``copilotkit.protocol``, ``copilotkit.outcome``
``copilotkit.provider``     the provider's event stream within the run
``copilotkit.store.<op>``   each call the engine makes into the store (``get_thread``, ...)
``copilotkit.llm``          each model call of an LLM agent: ``gen_ai.request.model``,
                            ``gen_ai.usage.input_tokens`` / ``output_tokens`` when known
``copilotkit.action``       each backend action call: ``copilotkit.action``
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

tracer = trace.get_tracer("copilotkit_runtime")

#: the observers of the run being served in this context (run hooks with their sync
#: observation methods, e.g. the metrics plugin), for code far from the engine (LLM calls)
current_observers: ContextVar[tuple[Any, ...]] = ContextVar("copilotkit_observers", default=())

#: the store methods the engine calls that are traced (async ones, returning a value)
STORE_OPERATIONS = frozenset({
    "get_thread", "save_thread", "append_events", "get_events", "acquire_run_lock",
    "claim_thread", "get_thread_info", "update_thread_info", "request_stop",
    "publish_live", "delete_thread",
})


def notify(observers: Iterable[Any], method: str, *args: Any) -> None:
    """Call ``method`` on each observer that has it; an observer's error is never the run's."""
    for observer in observers:
        fn = getattr(observer, method, None)
        if fn is None:
            continue
        try:
            fn(*args)
        except Exception:
            import logging

            logging.getLogger("copilotkit_runtime.telemetry").exception(
                "%s.%s failed", type(observer).__name__, method)


class ObservedStore:
    """The store as the engine sees it: each operation in :data:`STORE_OPERATIONS` is a
    ``copilotkit.store.<op>`` span and an observers' ``store_operation(op, seconds, failed)``.

    Everything else (attributes, generators such as ``follow_live``) is the store's own. Wrap
    at this one seam rather than inside every store plugin.
    """

    def __init__(self, store: Any, observers: tuple[Any, ...] = ()) -> None:
        self._store = store
        self._observers = observers
        self._store_type = type(store).__name__

    @property
    def wrapped(self) -> Any:
        return self._store

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._store, name)
        if name not in STORE_OPERATIONS or not callable(value):
            return value
        return self._traced(name, value)

    def _traced(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        observers = self._observers
        span_name = f"copilotkit.store.{name}"
        attributes = {"copilotkit.store": self._store_type, "copilotkit.store.operation": name}

        @functools.wraps(method)
        async def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            failed = True
            try:
                with tracer.start_as_current_span(span_name, attributes=attributes):
                    result = await method(*args, **kwargs)
                failed = False
                return result
            finally:
                if observers:
                    notify(observers, "store_operation", name, time.perf_counter() - started,
                           failed)

        return call


def run_attributes(request: Any) -> dict[str, Any]:
    return {"copilotkit.agent": request.agent, "copilotkit.thread_id": request.thread_id,
            "copilotkit.run_id": request.run_id, "copilotkit.protocol": request.protocol}


def record_llm_usage(span: Any, agent: str, model: str, input_tokens: int | None,
                     output_tokens: int | None) -> None:
    """Put a model call's token counts on its span and tell the run's observers."""
    if input_tokens is not None:
        span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
    if output_tokens is not None:
        span.set_attribute("gen_ai.usage.output_tokens", output_tokens)
    observers = current_observers.get()
    if observers:
        notify(observers, "llm_usage", agent, model, input_tokens, output_tokens)


@dataclass(frozen=True)
class RouteTemplate:
    """What a plain (non-FastAPI) route puts in ``scope["route"]``: its path template,
    relative to the runtime's base path or absolute."""

    path: str


def route_template(scope: Mapping[str, Any]) -> str:
    """The matched route's path template (``/api/copilotkit/agent/{agentId}/run``), else the
    raw path (never with ids in it when a route matched)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else str(scope.get("path", ""))


def enter_span(span: Any) -> object:
    """Make ``span`` the current span, as ``trace.use_span(span)`` does, without its context
    manager: a run holds its spans current for its whole life, and ``use_span``'s generator
    and context manager were about 0.4 KB each per open stream. Undo with :func:`exit_span`."""
    return otel_context.attach(trace.set_span_in_context(span))


def exit_span(token: object, span: Any, exc: BaseException | None = None) -> None:
    """Undo :func:`enter_span`; with ``exc`` (an ``Exception`` leaving the span's scope), record
    it on the span and mark it failed first, as ``use_span`` does."""
    if isinstance(exc, Exception) and span.is_recording():
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
    otel_context.detach(token)  # type: ignore[arg-type]
