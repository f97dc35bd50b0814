"""Messages between the two worlds: AG-UI messages (what clients send and see) and LangChain
messages (what a LangGraph graph keeps in ``state["messages"]``).

The mapping follows the CopilotKit SDK's conversions, so a graph written for the SDK sees the
same messages it would see behind the reference runtime:

* user / system / developer → ``HumanMessage`` / ``SystemMessage``, ids kept;
* assistant → ``AIMessage`` with ``tool_calls`` (arguments parsed from JSON), id kept; the id of
  an assistant message that carried a streamed tool call is the LangChain message id the graph
  produced, so the client's copy and the checkpoint's copy are recognised as the same message;
* tool → ``ToolMessage`` (``name`` = the name of the call it answers).

And back, for ``MESSAGES_SNAPSHOT`` and ``load_thread``: camelCase AG-UI message dicts.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from pydantic import BaseModel


def content_text(content: Any) -> str:
    """The text of a message content: a string, or the text parts of a list of blocks joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        text = content.get("text")
        return text if isinstance(text, str) else ""
    if isinstance(content, Sequence):
        parts: list[str] = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping):
                if part.get("type") in (None, "text", "text_delta") and isinstance(part.get("text"), str):
                    parts.append(part["text"])
            else:
                text = getattr(part, "text", None)
                if isinstance(text, str):
                    parts.append(text)
        return "".join(parts)
    return str(content)


def _user_content(content: Any) -> Any:
    """A user message's content for LangChain: a string, or (when it has media) a list of
    text and ``image_url`` blocks, the shape chat models accept."""
    if not isinstance(content, list) or all(
            isinstance(p, Mapping) and p.get("type") == "text" for p in content):
        return content_text(content)
    blocks: list[Any] = []
    for part in content:
        if not isinstance(part, Mapping):
            continue
        kind = part.get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": part.get("text") or ""})
            continue
        source = part.get("source") or {}
        if kind == "image" and source.get("type") == "url":
            blocks.append({"type": "image_url", "image_url": {"url": source.get("value")}})
        elif kind == "image" and source.get("type") == "data":
            mime = source.get("mimeType") or "image/png"
            blocks.append({"type": "image_url",
                           "image_url": {"url": f"data:{mime};base64,{source.get('value')}"}})
    return blocks


def _parse_arguments(arguments: str | None) -> dict[str, Any]:
    if not arguments:
        return {}
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return {"__raw_arguments__": arguments}
    return parsed if isinstance(parsed, dict) else {"value": parsed}


def agui_to_langchain(messages: Iterable[Any]) -> list[BaseMessage]:
    """AG-UI messages (``ag_ui.core`` models or camelCase dicts) → LangChain messages.

    Roles LangChain has no message for (activity, reasoning) are left out.
    """
    out: list[BaseMessage] = []
    call_names: dict[str, str] = {}
    for raw in messages:
        message = raw.model_dump(by_alias=True, exclude_none=True) if isinstance(raw, BaseModel) else dict(raw)
        role = message.get("role")
        mid = message.get("id") or str(uuid.uuid4())
        if role == "user":
            out.append(HumanMessage(content=_user_content(message.get("content")), id=mid))
        elif role in ("system", "developer"):
            out.append(SystemMessage(content=content_text(message.get("content")), id=mid))
        elif role == "assistant":
            calls = []
            for call in message.get("toolCalls") or []:
                function = call.get("function") or {}
                name = function.get("name") or ""
                call_names[call.get("id", "")] = name
                calls.append({"id": call.get("id"), "name": name,
                              "args": _parse_arguments(function.get("arguments")), "type": "tool_call"})
            out.append(AIMessage(content=message.get("content") or "", tool_calls=calls, id=mid))
        elif role == "tool":
            tool_call_id = message.get("toolCallId") or ""
            out.append(ToolMessage(content=content_text(message.get("content")), id=mid,
                                   tool_call_id=tool_call_id, name=call_names.get(tool_call_id)))
    return out


def langchain_to_agui(messages: Iterable[Any]) -> list[dict[str, Any]]:
    """LangChain messages → AG-UI message dicts (camelCase, like ``event_to_dict`` output).

    Messages without an id get a stable one derived from their position, so two reads of the
    same checkpoint agree.
    """
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        if isinstance(message, Mapping):  # a message kept as a plain dict in state
            out.append(dict(message))
            continue
        if not isinstance(message, BaseMessage):
            continue
        mid = message.id or f"msg-{index}"
        kind = message.type
        if kind in ("human", "HumanMessageChunk"):
            out.append({"id": mid, "role": "user", "content": content_text(message.content)})
        elif kind in ("system", "SystemMessageChunk"):
            out.append({"id": mid, "role": "system", "content": content_text(message.content)})
        elif kind in ("ai", "AIMessageChunk"):
            entry: dict[str, Any] = {"id": mid, "role": "assistant",
                                     "content": content_text(message.content)}
            calls = getattr(message, "tool_calls", None) or []
            if calls:
                entry["toolCalls"] = [
                    {"id": call.get("id") or f"{mid}-call-{i}", "type": "function",
                     "function": {"name": call.get("name") or "",
                                  "arguments": json.dumps(to_jsonable(call.get("args") or {}))}}
                    for i, call in enumerate(calls)
                ]
            out.append(entry)
        elif kind in ("tool", "ToolMessageChunk"):
            entry = {"id": mid, "role": "tool", "content": content_text(message.content),
                     "toolCallId": getattr(message, "tool_call_id", "") or ""}
            if getattr(message, "status", None) == "error":
                entry["error"] = entry["content"] or "error"
            out.append(entry)
        elif kind == "chat":
            role = getattr(message, "role", "assistant")
            role = role if role in ("user", "assistant", "system") else "assistant"
            out.append({"id": mid, "role": role, "content": content_text(message.content)})
    return out


def to_jsonable(value: Any, _depth: int = 0) -> Any:
    """``value`` made JSON-serialisable: what state snapshots and interrupt values go out as.

    LangChain messages become AG-UI message dicts, pydantic models and dataclasses their dumps,
    anything else unknown its ``str()``.
    """
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if _depth > 64:
        return str(value)
    if isinstance(value, BaseMessage):
        converted = langchain_to_agui([value])
        return converted[0] if converted else None
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v, _depth + 1) for v in value]
    if isinstance(value, BaseModel):
        return to_jsonable(value.model_dump(mode="json"), _depth + 1)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value), _depth + 1)
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value, _depth + 1)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
