"""What the remote endpoint reads: CopilotKit messages, SDK action parameters, meta events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from copilotkit_runtime import RunRequest


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def copilotkit_messages(request: RunRequest) -> list[dict[str, Any]]:
    """The run's AG-UI messages as the SDK's ``/agents/execute`` expects them (the
    GraphQL runtime's ``TextMessage`` / ``ActionExecutionMessage`` / ``ResultMessage``)."""
    created = _now()
    names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for message in request.input.messages:
        role = message.role
        if role == "tool":
            call_id = getattr(message, "tool_call_id", "")
            out.append({"id": message.id, "createdAt": created, "type": "ResultMessage",
                        "actionExecutionId": call_id, "actionName": names.get(call_id, ""),
                        "result": _content(message.content)})
            continue
        if role not in ("user", "assistant", "system", "developer"):
            continue
        text = _content(getattr(message, "content", None))
        calls = getattr(message, "tool_calls", None) or []
        if text or not calls:
            out.append({"id": message.id, "createdAt": created, "type": "TextMessage",
                        "content": text, "role": "system" if role == "developer" else role,
                        **({"parentMessageId": message.id} if role == "assistant" else {})})
        for call in calls:
            names[call.id] = call.function.name
            try:
                arguments = json.loads(call.function.arguments or "{}")
            except ValueError:
                arguments = {}
            out.append({"id": call.id, "createdAt": created, "type": "ActionExecutionMessage",
                        "name": call.function.name, "arguments": arguments,
                        "parentMessageId": message.id})
    return out


def meta_events(request: RunRequest) -> list[dict[str, Any]]:
    """Interrupt answers, as react-core 1.10.6 sends them (``LangGraphInterruptEvent``)."""
    sent = request.metadata.get("metaEvents")
    if isinstance(sent, list) and sent:
        return [dict(e) for e in sent]
    out = []
    for entry in request.resume:
        meta = entry.metadata if isinstance(getattr(entry, "metadata", None), dict) else {}
        out.append({"name": meta.get("name") or "LangGraphInterruptEvent",
                    "value": meta.get("value"), "response": entry.payload})
    return out


def frontend_actions(request: RunRequest) -> list[dict[str, Any]]:
    return [{"name": t.name, "description": t.description or "",
             "parameters": t.parameters if isinstance(t.parameters, dict)
             else {"type": "object", "properties": {}}} for t in request.tools]


_TYPES = {"string", "number", "integer", "boolean", "object", "array"}


def parameters_schema(parameters: Any) -> dict[str, Any]:
    """The SDK's parameter list (``[{name, type, description, required, ...}]``) as a JSON
    schema; a schema passes through."""
    if isinstance(parameters, dict):
        return parameters
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in parameters or ():
        if not isinstance(param, dict) or "name" not in param:
            continue
        properties[param["name"]] = _param_schema(param)
        if param.get("required", True) is not False:
            required.append(param["name"])
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _param_schema(param: dict[str, Any]) -> dict[str, Any]:
    kind = str(param.get("type") or "string")
    schema: dict[str, Any]
    if kind.endswith("[]"):
        item = {"name": "item", "type": kind[:-2], "attributes": param.get("attributes")}
        schema = {"type": "array", "items": _param_schema(item)}
    elif kind == "object" and param.get("attributes"):
        schema = parameters_schema(param["attributes"])
    else:
        schema = {"type": kind if kind in _TYPES else "string"}
    if param.get("description"):
        schema["description"] = param["description"]
    if param.get("enum"):
        schema["enum"] = list(param["enum"])
    return schema


def _content(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(getattr(p, "text", "") or "" for p in content)
    return "" if content is None else str(content)
