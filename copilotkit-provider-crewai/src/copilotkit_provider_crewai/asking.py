"""CrewAI's ``Flow.ask()`` as an AG-UI interrupt.

``Flow.ask(message)`` blocks the step until its input provider answers. Under a served run
:class:`InterruptInputProvider` answers: it hands the question to the run (which ends with
``CUSTOM on_interrupt`` ``{"message", "method", "metadata"?}``, v1 clients get a
``LangGraphInterruptEvent``) and waits, in the kickoff's own thread, for the answer. The next
run on the thread that carries an answer (``resume`` entries, ``forwardedProps.command.resume``,
the v1 meta event's ``response``) delivers it: ``ask()`` returns it and the flow carries on from
where it asked, streaming to that run. A run on the thread without an answer cancels the waiting
kickoff and starts the flow afresh.

The waiting kickoff lives in this process: a restart, or a resume that reaches another instance,
finds nothing waiting and starts afresh (``@human_feedback``, which CrewAI persists, survives
both). A flow with an ``input_provider`` of its own keeps it; outside a served run the provider
CrewAI had before answers (the console by default).
"""

from __future__ import annotations

import concurrent.futures
from typing import Any

from .bridge import KickoffCancelled, RunChannel, current_channel


class Question:
    """A question a kickoff waits on; answered from the runtime's loop."""

    def __init__(self, message: str, method: str, metadata: dict[str, Any] | None) -> None:
        self.message = message
        self.method = method
        self.metadata = metadata
        self.answer: concurrent.futures.Future[str] = concurrent.futures.Future()

    def value(self) -> dict[str, Any]:
        value: dict[str, Any] = {"message": self.message, "method": self.method}
        if self.metadata:
            value["metadata"] = self.metadata
        return value

    @property
    def waiting(self) -> bool:
        return not self.answer.done()


def ask(channel: RunChannel, message: str, metadata: dict[str, Any] | None) -> str:
    """Kickoff side: hand the question to the run, wait for the answer (or cancellation)."""
    from crewai.flow.flow_context import current_flow_method_name

    question = Question(message, current_flow_method_name.get(channel.current_step or ""),
                        metadata)
    channel.question = question
    channel.put("ask", question)
    try:
        return question.answer.result()
    except concurrent.futures.CancelledError:
        raise KickoffCancelled() from None
    finally:
        channel.question = None


class InterruptInputProvider:
    """An ``InputProvider``: interrupt when inside a served kickoff, else delegate."""

    def __init__(self, previous: Any = None) -> None:
        self.previous = previous

    def request_input(self, message: str, flow: Any,
                      metadata: dict[str, Any] | None = None) -> Any:
        channel = current_channel()
        if channel is None:
            if self.previous is not None:
                return self.previous.request_input(message, flow, metadata=metadata)
            from crewai.flow.async_feedback import ConsoleProvider

            return ConsoleProvider().request_input(message, flow, metadata=metadata)
        return ask(channel, message, metadata)


def install() -> None:
    """Make :class:`InterruptInputProvider` CrewAI's default input provider (once)."""
    from crewai.flow.flow_config import flow_config

    current = flow_config.input_provider
    if not isinstance(current, InterruptInputProvider):
        flow_config.input_provider = InterruptInputProvider(previous=current)
