"""The types every part of the runtime passes to the others: one home, no import circles.

Protocol layers build a :class:`RunRequest`; the engine hands it to a provider and to the
guardrails; ``loadAgentState`` answers with a :class:`ThreadSnapshot`; agents describe
themselves with :class:`AgentInfo`; per-request topic rules are :class:`GuardrailRules`.
Everything here is plain data (no behaviour beyond reading itself) and imports nothing of the
runtime, so any module may import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ag_ui.core import Context, Message, ResumeEntry, RunAgentInput, Tool

__all__ = ["AgentInfo", "GuardrailRules", "RunRequest", "ThreadSnapshot"]


@dataclass(frozen=True)
class AgentInfo:
    """What the runtime and the clients know about one agent."""

    name: str
    description: str = ""
    provider: str = ""
    capabilities: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GuardrailRules:
    """Topic rules in the shape of CopilotKit's ``inputValidationRules``."""

    allow_list: list[str] = field(default_factory=list)
    deny_list: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.allow_list or self.deny_list)


@dataclass
class RunRequest:
    """One agent run, in protocol-neutral terms.

    ``input`` is an AG-UI ``RunAgentInput``: ``thread_id``, ``run_id``, ``state`` (the starting
    state: the frontend's shared state, or the thread's stored state when the client sent none),
    ``messages`` (the conversation as the client sees it), ``tools`` (frontend actions),
    ``context`` (readables), ``forwarded_props`` and ``resume`` (answers to interrupts).
    """

    agent: str
    input: RunAgentInput
    node_name: str | None = None
    config: dict[str, Any] | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    guardrail_rules: GuardrailRules | None = None
    protocol: str = "internal"
    principal: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)
    #: The request's headers that the server's policy lets reach providers (``[server]
    #: forward_headers``, ``provider_headers`` over them; lower-case names); a provider decides
    #: which of them an agent sees (e.g. the LangGraph provider's ``forward_headers``).
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def thread_id(self) -> str:
        return self.input.thread_id

    @property
    def run_id(self) -> str:
        return self.input.run_id

    @property
    def messages(self) -> list[Message]:
        return list(self.input.messages)

    @property
    def state(self) -> dict[str, Any]:
        state = self.input.state
        return dict(state) if isinstance(state, dict) else {}

    @property
    def tools(self) -> list[Tool]:
        return list(self.input.tools or [])

    @property
    def context(self) -> list[Context]:
        return list(self.input.context or [])

    @property
    def forwarded_props(self) -> dict[str, Any]:
        props = self.input.forwarded_props
        return dict(props) if isinstance(props, dict) else {}

    @property
    def resume(self) -> list[ResumeEntry]:
        return list(self.input.resume or [])

    def last_user_text(self) -> str:
        """Text of the last user message, or ``""``."""
        for message in reversed(self.input.messages):
            if message.role == "user":
                content = message.content
                if isinstance(content, str):
                    return content
                return " ".join(getattr(part, "text", "") for part in content)
        return ""


@dataclass
class ThreadSnapshot:
    """A thread as ``loadAgentState`` shows it: state and messages (AG-UI message dicts)."""

    thread_id: str
    agent: str
    exists: bool
    state: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    node_name: str | None = None
    run_id: str | None = None
