"""CrewAI's ``@human_feedback`` as an AG-UI interrupt.

Under a served run, a flow method decorated with ``@human_feedback`` (and no ``provider=`` of
its own) does not block on the console: :class:`InterruptFeedbackProvider` pauses the flow
(``HumanFeedbackPending``; CrewAI persists the paused flow under its state id, which is the
thread id), the run ends with ``CUSTOM on_interrupt`` ``{"message", "output", "method"}``, and
the next run that answers it (``resume`` entries, ``forwardedProps.command.resume``, or a v1
``LangGraphInterruptEvent`` response) restores the flow with ``Flow.from_pending(thread id)``
and calls ``resume_async(answer)``. Outside a served run the previously configured provider
(CrewAI's console by default) answers, so a process that also runs flows elsewhere keeps its
behaviour.
"""

from __future__ import annotations

import json
from typing import Any

from .bridge import current_channel


class InterruptFeedbackProvider:
    """A ``HumanFeedbackProvider``: pause when inside a served kickoff, else delegate."""

    def __init__(self, previous: Any = None) -> None:
        self.previous = previous

    def request_feedback(self, context: Any, flow: Any) -> str:
        if current_channel() is None:
            if self.previous is not None:
                return str(self.previous.request_feedback(context, flow))
            from crewai.flow.async_feedback import ConsoleProvider

            return str(ConsoleProvider().request_feedback(context, flow))
        from crewai.flow.async_feedback import HumanFeedbackPending

        raise HumanFeedbackPending(context=context)


def install() -> None:
    """Make :class:`InterruptFeedbackProvider` CrewAI's default feedback provider (once)."""
    from crewai.flow.flow_config import flow_config

    current = flow_config.hitl_provider
    if not isinstance(current, InterruptFeedbackProvider):
        flow_config.hitl_provider = InterruptFeedbackProvider(previous=current)


def interrupt_value(pending: Any) -> dict[str, Any]:
    """What the client is asked: the decorator's message and the output to review."""
    context = pending.context
    output = context.method_output
    try:
        json.dumps(output)
    except (TypeError, ValueError):
        output = str(output)
    value: dict[str, Any] = {"message": context.message, "output": output,
                             "method": context.method_name}
    if context.emit:
        value["options"] = list(context.emit)
    return value


def standard_interrupt(pending: Any) -> Any:
    """The AG-UI ``Interrupt`` a paused flow ends its run with, as ag-ui-crewai's endpoint builds
    it: ``id`` the flow id (the thread id, so the same after a restart), ``reason``
    ``crewai:human_feedback``, the decorator's ``message``, a ``responseSchema`` enum of its
    ``emit`` options, ``metadata.crewai`` ``{flowId, methodName, emit, output}``."""
    from ag_ui.core import Interrupt

    context = pending.context
    value = interrupt_value(pending)
    emit = value.get("options")
    return Interrupt(
        id=str(context.flow_id), reason="crewai:human_feedback", message=context.message,
        response_schema={"type": "string", "enum": emit} if emit else None,
        metadata={"crewai": {"flowId": context.flow_id, "methodName": context.method_name,
                             "emit": emit, "output": value["output"]}})


def is_pending(result: Any) -> bool:
    try:
        from crewai.flow.async_feedback import HumanFeedbackPending
    except ImportError:
        return False
    return isinstance(result, HumanFeedbackPending)


def resume_answer(request: Any) -> str | None:
    """The answer the request carries for a pending feedback, as CrewAI wants it (a string)."""
    answers = [e.payload for e in request.resume if e.status == "resolved"]
    if not answers:
        command = request.forwarded_props.get("command")
        if isinstance(command, dict) and "resume" in command:
            answers = [command["resume"]]
    if not answers:
        return None
    answer = answers[0]
    return answer if isinstance(answer, str) else json.dumps(answer)
