"""Message conversions between the GraphQL "v1" shapes and AG-UI messages. Pure functions.

* :func:`input_messages_to_agui`: the client's ``MessageInput`` list (text, action execution,
  result, image; agent-state messages are dropped) to AG-UI messages. An action execution joins
  the assistant message named by its ``parentMessageId`` as a tool call, as in the TypeScript
  runtime; a result becomes a ``tool`` message answering that call.
* :func:`snapshot_messages_to_json`: AG-UI message dicts (a thread as stored) to the JSON shape
  ``loadAgentState`` and agent-state messages carry, which react-core reads with
  ``loadMessagesFromJsonRepresentation``: ``{id, role, content}`` for text,
  ``{id, name, arguments: <object>, parentMessageId}`` for a tool call and
  ``{id, result, actionExecutionId, actionName}`` for its result.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ag_ui.core import (
    AssistantMessage,
    DeveloperMessage,
    FunctionCall,
    ImageInputContent,
    InputContentDataSource,
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)

__all__ = ["action_names", "input_messages_to_agui", "snapshot_messages_to_json", "text_of"]


def input_messages_to_agui(messages: Iterable[Mapping[str, Any]]) -> list[Message]:
    out: list[Message] = []
    assistants: dict[str, AssistantMessage] = {}
    for message in messages:
        mid = message["id"]
        text = message.get("textMessage")
        if text is not None:
            role = text.get("role")
            content = text.get("content") or ""
            if role == "user":
                out.append(UserMessage(id=mid, content=content))
            elif role == "assistant":
                assistant = assistants.get(mid)
                if assistant is not None:  # a tool call named this message as its parent first
                    assistant.content = content
                    continue
                assistant = AssistantMessage(id=mid, content=content)
                assistants[mid] = assistant
                out.append(assistant)
            elif role == "system":
                out.append(SystemMessage(id=mid, content=content))
            elif role == "developer":
                out.append(DeveloperMessage(id=mid, content=content))
            elif role == "tool":
                out.append(ToolMessage(id=mid, content=content,
                                       tool_call_id=text.get("parentMessageId") or mid))
            continue
        action = message.get("actionExecutionMessage")
        if action is not None:
            call = ToolCall(id=mid, function=FunctionCall(name=action["name"],
                                                          arguments=action.get("arguments") or ""))
            parent_id = action.get("parentMessageId") or mid
            assistant = assistants.get(parent_id)
            if assistant is None:
                assistant = AssistantMessage(id=parent_id, tool_calls=[])
                assistants[parent_id] = assistant
                out.append(assistant)
            if assistant.tool_calls is None:
                assistant.tool_calls = []
            assistant.tool_calls.append(call)
            continue
        result = message.get("resultMessage")
        if result is not None:
            out.append(ToolMessage(id=mid, content=result.get("result") or "",
                                   tool_call_id=result["actionExecutionId"]))
            continue
        image = message.get("imageMessage")
        if image is not None and image.get("role") == "user":
            source = InputContentDataSource(value=image["bytes"], mime_type=f"image/{image['format']}")
            out.append(UserMessage(id=mid, content=[ImageInputContent(source=source)]))
        # agent-state messages (and assistant images) carry nothing an agent reads as chat
    return out


def action_names(messages: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Tool call id → action name, from the client's action execution messages."""
    names: dict[str, str] = {}
    for message in messages:
        action = message.get("actionExecutionMessage")
        if action is not None:
            names[message["id"]] = action["name"]
    return names


def text_of(content: Any) -> str:
    """The text of an AG-UI message content (a string or a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content
                       if isinstance(part, Mapping) and part.get("type", "text") == "text")
    return str(content)


def _parse_arguments(arguments: Any) -> Any:
    if not isinstance(arguments, str):
        return arguments if arguments is not None else {}
    if not arguments:
        return {}
    try:
        return json.loads(arguments)
    except ValueError:
        return {}


def snapshot_messages_to_json(messages: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    messages = list(messages)
    names: dict[str, str] = {}
    for message in messages:
        for call in message.get("toolCalls") or message.get("tool_calls") or ():
            function = call.get("function") or {}
            names[call.get("id", "")] = function.get("name", "unknown")
    out: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        mid = message.get("id", "")
        if role in ("assistant", "user", "system", "developer"):
            content = text_of(message.get("content"))
            if content:
                out.append({"id": mid, "role": role, "content": content})
            if role == "assistant":
                for call in message.get("toolCalls") or message.get("tool_calls") or ():
                    function = call.get("function") or {}
                    out.append({"id": call.get("id", ""), "name": function.get("name", ""),
                                "arguments": _parse_arguments(function.get("arguments")),
                                "parentMessageId": mid})
        elif role == "tool":
            call_id = message.get("toolCallId") or message.get("tool_call_id") or ""
            out.append({"id": mid, "result": text_of(message.get("content")),
                        "actionExecutionId": call_id, "actionName": names.get(call_id, "unknown")})
    return out
