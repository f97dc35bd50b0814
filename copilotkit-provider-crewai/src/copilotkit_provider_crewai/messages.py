"""Messages between AG-UI and the OpenAI chat format CrewAI flows keep in their state.

Flows written for CopilotKit keep ``state.messages`` as OpenAI chat dicts with ids
(``{"id", "role", "content"}``, assistant ``tool_calls``, ``{"role": "tool", "tool_call_id"}``),
which is also what ``litellm``/``crewai.LLM`` take. Frontend actions become OpenAI function
tools (``{"type": "function", "function": {name, description, parameters}}``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from ag_ui.core import Context, Message, Tool

_ROLES = {"user", "assistant", "system", "developer", "tool"}


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            text = part.get("text") if isinstance(part, dict) else getattr(part, "text", None)
            if text:
                parts.append(text)
        return "".join(parts)
    return str(content)


def agui_to_openai(messages: Sequence[Message], *, drop_leading_system: bool = True) -> list[dict[str, Any]]:
    """AG-UI messages → OpenAI chat dicts (ids kept), as flows expect in ``state.messages``.

    A leading system message (the frontend's instructions) is dropped like the CopilotKit SDK
    does: the flow has its own prompt. Activity/reasoning messages are left out.
    """
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        role = message.role
        if role not in _ROLES:
            continue
        if index == 0 and role == "system" and drop_leading_system:
            continue
        item: dict[str, Any] = {"id": message.id, "role": role}
        if role == "assistant":
            item["content"] = _text(message.content) if message.content is not None else ""
            calls = getattr(message, "tool_calls", None) or []
            if calls:
                item["tool_calls"] = [
                    {"id": c.id, "type": "function",
                     "function": {"name": c.function.name, "arguments": c.function.arguments}}
                    for c in calls
                ]
        elif role == "tool":
            item["content"] = _text(message.content)
            item["tool_call_id"] = getattr(message, "tool_call_id", "")
            error = getattr(message, "error", None)
            if error:
                item["error"] = error
        else:
            item["content"] = message.content if role == "user" and not isinstance(
                message.content, str) else _text(message.content)
            if isinstance(item["content"], list):
                item["content"] = [p.model_dump(mode="json", exclude_none=True) for p in item["content"]]
        name = getattr(message, "name", None)
        if name:
            item["name"] = name
        out.append(item)
    return out


def tools_to_openai(tools: Iterable[Tool]) -> list[dict[str, Any]]:
    """Frontend actions as OpenAI function tools (``state.copilotkit.actions``)."""
    return [
        {"type": "function",
         "function": {"name": t.name, "description": t.description or "",
                      "parameters": t.parameters if isinstance(t.parameters, dict)
                      else {"type": "object", "properties": {}}}}
        for t in tools
    ]


def context_to_dicts(context: Iterable[Context]) -> list[dict[str, str]]:
    return [{"description": c.description, "value": c.value} for c in context]


def plain(value: Any) -> Any:
    """A JSON-ready copy of ``value`` (pydantic models and objects with ``model_dump`` /
    ``dict`` / attributes turned into dicts)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return plain(dump(mode="json"))
        except TypeError:
            return plain(dump())
    to_dict = getattr(value, "dict", None)
    if callable(to_dict):
        try:
            return plain(to_dict())
        except Exception:
            pass
    if hasattr(value, "__dict__"):
        return {k: plain(v) for k, v in vars(value).items() if not k.startswith("_")}
    return str(value)


def _arguments(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(plain(value) if value is not None else {})


def openai_to_agui(message: Any, fallback_id: str) -> dict[str, Any] | None:
    """One OpenAI-format message (dict or object) → an AG-UI message dict, or ``None``
    when it is not a chat message. Messages without an id get ``fallback_id``."""
    data = plain(message)
    if not isinstance(data, dict):
        return None
    role = data.get("role")
    if role not in _ROLES:
        return None
    mid = str(data.get("id") or fallback_id)
    if role == "assistant":
        out: dict[str, Any] = {"id": mid, "role": "assistant"}
        content = _text(data.get("content"))
        if content:
            out["content"] = content
        calls = []
        for index, call in enumerate(data.get("tool_calls") or []):
            function = call.get("function") or {}
            calls.append({"id": str(call.get("id") or f"{mid}-call-{index}"), "type": "function",
                          "function": {"name": function.get("name") or "",
                                       "arguments": _arguments(function.get("arguments"))}})
        if calls:
            out["toolCalls"] = calls
        if "content" not in out and not calls:
            out["content"] = ""
        return out
    if role == "tool":
        out = {"id": mid, "role": "tool", "content": _text(data.get("content")),
               "toolCallId": str(data.get("tool_call_id") or data.get("toolCallId") or "")}
        if data.get("error"):
            out["error"] = str(data["error"])
        return out
    user_content = data.get("content")
    if role == "user" and isinstance(user_content, list):
        return {"id": mid, "role": role, "content": user_content}
    return {"id": mid, "role": role, "content": _text(user_content)}


def message_id_of(message: Any) -> str | None:
    value: Any = message.get("id") if isinstance(message, dict) else getattr(message, "id", None)
    return str(value) if value else None
