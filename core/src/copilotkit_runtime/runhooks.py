"""Run hooks: code that sees every run's conversation, as the TypeScript runtime's
``onBeforeRequest`` / ``onAfterRequest`` (v1) and ``onRequest`` / ``onResponse`` / ``onError``
(v2) do, free and self-hosted.

Register instances (or classes with ``from_settings``) with the ``register_run_hooks`` hook::

    from copilotkit_runtime import hookimpl
    from copilotkit_runtime.runhooks import RunHook
    from copilotkit_runtime.errors import RunRefusedError

    class NoSecrets(RunHook):
        async def before_run(self, run):
            if any("password" in (m.content or "") for m in run.messages):
                raise RunRefusedError("Do not paste passwords here.")

        async def on_error(self, run, error):
            sentry_sdk.capture_message(f"{run.agent}: {error.code}: {error.message}")

    @hookimpl
    def register_run_hooks(registry):
        registry.add("no-secrets", NoSecrets())

The async methods are awaited by the engine; the sync ``run_started`` / ``run_ended`` /
``store_operation`` / ``llm_usage`` observations are for metrics (cheap, never awaited). A
hook's exception in anything but ``before_run`` is logged and never changes the run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ag_ui.core import Message

    from .config import Settings
    from .contracts import RunRequest

__all__ = ["RunContext", "RunFailure", "RunHook"]


@dataclass
class RunFailure:
    """Why a run failed: the code and message its client got, and the exception when one
    was raised (a provider's, a store's; ``None`` for a ``RUN_ERROR`` event)."""

    code: str
    message: str
    exception: BaseException | None = None


@dataclass
class RunContext:
    """One run as hooks see it. ``messages`` may be replaced in ``before_run`` (the provider
    and the guardrails then see the new list)."""

    request: RunRequest
    #: ``pending`` until the run ends: ``success``, ``error``, ``stopped``, ``cancelled``
    #: (the client went away), or ``refused`` (before it started)
    outcome: str = "pending"
    started_at: float = field(default_factory=time.monotonic)
    first_event_at: float | None = None
    ended_at: float | None = None
    #: what a hook wants to keep between its calls for this run
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def agent(self) -> str:
        return self.request.agent

    @property
    def thread_id(self) -> str:
        return self.request.thread_id

    @property
    def run_id(self) -> str:
        return self.request.run_id

    @property
    def protocol(self) -> str:
        return self.request.protocol

    @property
    def principal(self) -> Any:
        return self.request.principal

    @property
    def properties(self) -> dict[str, Any]:
        return self.request.properties

    @property
    def messages(self) -> list[Message]:
        return list(self.request.input.messages)

    @messages.setter
    def messages(self, messages: list[Message]) -> None:
        self.request.input = self.request.input.model_copy(update={"messages": list(messages)})

    @property
    def duration(self) -> float | None:
        """Seconds from the start of the run to its end."""
        return None if self.ended_at is None else self.ended_at - self.started_at

    @property
    def time_to_first_event(self) -> float | None:
        """Seconds from the start of the run to its first event for the client."""
        return None if self.first_event_at is None else self.first_event_at - self.started_at


class RunHook:
    """Override what you need. Runs in registration order."""

    #: the top-level config section this hook type is configured by (``[metrics]``): a
    #: configured section nothing claims stops the runtime at start-up
    config_section: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> RunHook | None:
        """An instance for these settings, or ``None`` when they do not turn it on."""
        return cls()

    async def before_run(self, run: RunContext) -> None:
        """Before the run starts (before guardrails, thread lock): raise
        :class:`~copilotkit_runtime.errors.RunRefusedError` to refuse it with a message for
        the client, or assign ``run.messages`` to amend the conversation."""

    async def after_run(self, run: RunContext, messages: list[dict[str, Any]]) -> None:
        """The run ended without error (``run.outcome``: ``success``, ``stopped`` or
        ``cancelled``); ``messages`` are the ones it produced (AG-UI message dicts)."""

    async def on_error(self, run: RunContext, error: RunFailure) -> None:
        """Every failed run: refused, blocked by a guardrail, a provider that raised or sent
        ``RUN_ERROR``, a store that failed (``run.outcome`` is ``error`` or ``refused``)."""

    # -- observations for metrics: sync, cheap, every one optional ----------------------------

    def run_started(self, run: RunContext) -> None:
        """The run passed its checks and its provider starts."""

    def run_ended(self, run: RunContext) -> None:
        """Every run that was started or refused, once, with its outcome and timings."""

    def store_operation(self, operation: str, seconds: float, failed: bool) -> None:
        """The engine called the store (``get_thread``, ``save_thread``, ...)."""

    def llm_usage(self, agent: str, model: str, input_tokens: int | None,
                  output_tokens: int | None) -> None:
        """An LLM agent's model call ended, with its token counts when the model told them."""
