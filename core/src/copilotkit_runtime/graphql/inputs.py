"""``generateCopilotResponse`` arguments → a protocol-neutral :class:`RunRequest`. Pure.

What goes where:

==============================================  =============================================
GraphQL input                                   RunRequest
==============================================  =============================================
``data.threadId`` (a new UUID when absent)      ``input.thread_id``
``data.runId`` (a new UUID when absent)         ``input.run_id``
``data.messages``                               ``input.messages`` (see :mod:`.convert`)
``data.frontend.actions`` (not ``disabled``)    ``input.tools`` (``jsonSchema`` parsed)
``data.context``                                ``input.context``
``data.forwardedParameters`` (non-null keys)    ``input.forwarded_props``
``data.agentStates[agent].state`` / ``agentState``  ``input.state`` (``messages`` key dropped)
``data.agentStates[agent].config``              ``config``
``data.metaEvents`` with a ``response``         ``input.resume``: one resolved entry each, the
                                                response string as the payload (as the
                                                CopilotKit SDK passes it to ``Command(resume)``)
``data.agentSession.nodeName``                  ``node_name``
``data.cloud.guardrails.inputValidationRules``  ``guardrail_rules``
``properties``                                  ``properties``
``metadata``, ``frontend.url``, meta events     ``metadata``
==============================================  =============================================
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ag_ui.core import Context, ResumeEntry, RunAgentInput, Tool

from ..errors import InvalidRequestError
from ..guardrails import GuardrailRules
from ..jsontext import JSONInputError, load_json
from ..providers import RunRequest
from .convert import input_messages_to_agui


def requested_agent(data: Mapping[str, Any]) -> str | None:
    session = data.get("agentSession")
    return session.get("agentName") if session else None


def build_run_request(data: Mapping[str, Any], properties: Mapping[str, Any] | None, *,
                      agent: str, principal: Any = None) -> RunRequest:
    """Raises :class:`InvalidRequestError` for input that is well typed but unusable."""
    thread_id = data.get("threadId") or str(uuid.uuid4())
    run_id = data.get("runId") or str(uuid.uuid4())
    state, config = _agent_state(data, agent)
    session = data.get("agentSession") or {}
    meta_events = list(data.get("metaEvents") or ())
    frontend = data.get("frontend") or {}
    run_input = RunAgentInput(
        thread_id=thread_id,
        run_id=run_id,
        state=state,
        messages=input_messages_to_agui(data.get("messages") or ()),
        tools=_tools(frontend.get("actions") or ()),
        context=[Context(description=c["description"], value=c["value"])
                 for c in data.get("context") or ()],
        forwarded_props={k: v for k, v in (data.get("forwardedParameters") or {}).items()
                         if v is not None},
        resume=_resume(meta_events) or None,
    )
    metadata: dict[str, Any] = {
        "requestType": (data.get("metadata") or {}).get("requestType"),
        "frontendUrl": frontend.get("url"),
    }
    if meta_events:
        metadata["metaEvents"] = [{k: v for k, v in e.items() if k != "messages"} for e in meta_events]
    return RunRequest(
        agent=agent,
        input=run_input,
        node_name=session.get("nodeName") or None,
        config=config,
        properties=dict(properties or {}),
        guardrail_rules=_guardrail_rules(data),
        protocol="graphql",
        principal=principal,
        metadata=metadata,
    )


def _json(text: str, what: str) -> Any:
    """JSON embedded in a string field: the same limits and sanitising as a request body."""
    try:
        return load_json(text, what)
    except JSONInputError as exc:
        raise InvalidRequestError(exc.message) from None


def _agent_state(data: Mapping[str, Any], agent: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    chosen = None
    for entry in data.get("agentStates") or ():
        if entry.get("agentName") == agent:
            chosen = entry
    single = data.get("agentState")
    if chosen is None and single and single.get("agentName") == agent:
        chosen = single
    if chosen is None:
        return {}, None
    state = _json(chosen["state"], f"agentStates[{agent}].state") if chosen.get("state") else {}
    if not isinstance(state, dict):
        raise InvalidRequestError(f"agentStates[{agent}].state must be a JSON object.")
    state.pop("messages", None)  # the conversation travels as messages, not as state
    config = None
    if chosen.get("config"):
        config = _json(chosen["config"], f"agentStates[{agent}].config")
        if not isinstance(config, dict):
            raise InvalidRequestError(f"agentStates[{agent}].config must be a JSON object.")
    return state, config


def _tools(actions: Any) -> list[Tool]:
    tools = []
    for action in actions:
        if action.get("available") == "disabled":
            continue
        schema = action.get("jsonSchema")
        parameters = _json(schema, f"The jsonSchema of frontend action '{action['name']}'") \
            if schema else {"type": "object", "properties": {}}
        tools.append(Tool(name=action["name"], description=action.get("description") or "",
                          parameters=parameters))
    return tools


def _resume(meta_events: list[Mapping[str, Any]]) -> list[ResumeEntry]:
    entries = []
    for i, event in enumerate(meta_events):
        response = event.get("response")
        if response is None:
            continue
        entries.append(ResumeEntry(
            interrupt_id=f"{event.get('name')}:{i}",
            status="resolved",
            payload=response,
            metadata={"name": event.get("name"), "value": event.get("value")},
        ))
    return entries


def _guardrail_rules(data: Mapping[str, Any]) -> GuardrailRules | None:
    cloud = data.get("cloud") or {}
    guardrails = cloud.get("guardrails") or {}
    rules = guardrails.get("inputValidationRules")
    if not rules:
        return None
    return GuardrailRules(allow_list=list(rules.get("allowList") or []),
                          deny_list=list(rules.get("denyList") or []))
