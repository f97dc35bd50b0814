"""Guardrails: checks on what goes into a run and what comes out.

A plugin registers a guardrail *type* with the ``register_guardrails`` hook; each
``[guardrails.NAME]`` config section creates an instance (``type`` defaults to ``NAME``).
Per-request rules sent by CopilotKit clients (``cloud.guardrails.inputValidationRules``) are
applied by an instance of the type the top-level ``request_rules_guardrail`` setting names
(default ``topics``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from .contracts import GuardrailRules, RunRequest

__all__ = ["Guardrail", "GuardrailDecision", "GuardrailOptions", "GuardrailRules"]


class GuardrailOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class GuardrailDecision:
    """A refusal: the reason is shown to the user."""

    reason: str
    guardrail: str = ""


GuardrailOptionsT = TypeVar("GuardrailOptionsT", bound=GuardrailOptions)


class Guardrail(Generic[GuardrailOptionsT]):
    """Base class of guardrail types, generic over its options model. Return ``None`` to
    allow, a decision to block."""

    Options: ClassVar[type[GuardrailOptions]] = GuardrailOptions
    type_name: ClassVar[str] = ""

    def __init__(self, name: str, options: GuardrailOptionsT | None = None) -> None:
        self.name = name
        self.options: GuardrailOptionsT = options if options is not None else self.Options()  # type: ignore[assignment]

    @classmethod
    def from_rules(cls, rules: GuardrailRules) -> Guardrail | None:
        """An instance applying per-request client rules, or ``None`` if this type can't."""
        return None

    async def check_input(self, request: RunRequest) -> GuardrailDecision | None:
        return None

    async def check_output(self, text: str, request: RunRequest) -> GuardrailDecision | None:
        """Called with each complete assistant text message. Blocking fails the run."""
        return None

    #: set to True in subclasses that implement check_output, so the engine can skip the work.
    checks_output: ClassVar[bool] = False
