"""MCP tools, resources and prompts as the runtime's backend actions.

* each tool: an action of its own (its name, description and input schema);
* a server's resources: one action ``<prefix or NAME_>read_resource(uri)`` whose description
  lists them (and the resource templates), returning their text;
* a server's prompts: one action ``<prefix or NAME_>get_prompt(name, arguments)`` whose
  description lists them with their arguments, returning the rendered messages.

The model reads resources when it needs them and fetches a prompt (a server's template for a
task: a review checklist, a report outline) to follow it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mcp.types import (
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    GetPromptResult,
    ReadResourceResult,
    TextContent,
    TextResourceContents,
    Tool,
)

from copilotkit_runtime import Action

from .connection import McpConnection, McpToolError

_INVALID = re.compile(r"[^A-Za-z0-9_\-]")
#: most characters of a generated description (model APIs cap tool descriptions)
DESCRIPTION_LIMIT = 1000


def action_name(prefix: str, tool: str) -> str:
    """A name every model API accepts (letters, digits, ``_``, ``-``; at most 64)."""
    return _INVALID.sub("_", f"{prefix}{tool}")[:64]


def result_value(result: CallToolResult) -> Any:
    """What the model reads: the text parts, else the structured result."""
    parts = []
    for block in result.content:
        if isinstance(block, TextContent):
            parts.append(block.text)
        else:
            kind = getattr(block, "type", "content")
            mime = getattr(block, "mime_type", None) or getattr(block, "mimeType", None)
            parts.append(f"[{kind}{': ' + mime if mime else ''}]")
    text = "\n".join(parts)
    if result.is_error:
        raise McpToolError(text or "the tool reported an error")
    if text:
        return text
    return result.structured_content if result.structured_content is not None else ""


def tool_action(connection: McpConnection, tool: Tool) -> Action:
    async def call_tool(**arguments: Any) -> Any:
        return result_value(await connection.call(tool.name, arguments))

    schema = dict(tool.input_schema or {}) or {"type": "object", "properties": {}}
    schema.setdefault("type", "object")
    return Action(name=action_name(connection.options.prefix, tool.name),
                  description=tool.description or f"{tool.name} (MCP server {connection.name})",
                  handler=call_tool, parameters=schema, timeout=connection.options.timeout)


def placeholder_action(connection: McpConnection, tool: str) -> Action:
    """A tool the config lists on a server that could not be started: calling it says why."""

    async def unavailable(**arguments: Any) -> Any:
        return result_value(await connection.call(tool, arguments))  # reconnects, or says why

    return Action(name=action_name(connection.options.prefix, tool),
                  description=f"{tool} (MCP server {connection.name}, not available yet)",
                  handler=unavailable, timeout=connection.options.timeout)


def server_action_name(connection: McpConnection, what: str) -> str:
    """``<prefix>what``, or ``<server name>_what`` for a server without a prefix."""
    return action_name(connection.options.prefix or f"{connection.name}_", what)


def _listing(intro: str, lines: list[str]) -> str:
    text = intro
    for index, line in enumerate(lines):
        if len(text) + len(line) + 2 > DESCRIPTION_LIMIT:
            return f"{text}\n... ({len(lines) - index} more)"
        text += "\n" + line
    return text


def resource_text(result: ReadResourceResult) -> str:
    parts = []
    for item in result.contents:
        if isinstance(item, TextResourceContents):
            parts.append(item.text)
        elif isinstance(item, BlobResourceContents):
            size = len(item.blob) * 3 // 4
            parts.append(f"[binary {item.mime_type or 'data'}, about {size} bytes: {item.uri}]")
    return "\n".join(parts)


def resource_action(connection: McpConnection) -> Action:
    """One action that reads any resource of the server (listed, or a template filled in)."""
    resources, templates = connection.resources, connection.templates
    lines = [f"- {r.uri}: {r.title or r.name}{' - ' + r.description if r.description else ''}"
             for r in resources]
    lines += [f"- {t.uri_template} (template: fill in the {{...}} parts): {t.title or t.name}"
              f"{' - ' + t.description if t.description else ''}" for t in templates]
    uri: dict[str, Any] = {"type": "string", "description": "the URI of the resource to read"}
    if resources and not templates:
        uri["enum"] = [str(r.uri) for r in resources]

    async def read_resource(uri: str) -> str:
        return resource_text(await connection.read_resource(uri))

    return Action(
        name=server_action_name(connection, "read_resource"),
        description=_listing(f"Read a resource of the MCP server '{connection.name}' and get "
                             "its content. Its resources:", lines),
        handler=read_resource, timeout=connection.options.timeout,
        parameters={"type": "object", "properties": {"uri": uri}, "required": ["uri"]})


def _prompt_text(name: str, result: GetPromptResult) -> str:
    lines = [f"Prompt '{name}'" + (f": {result.description}" if result.description else "")]
    for message in result.messages:
        content = message.content
        if isinstance(content, TextContent):
            text = content.text
        elif isinstance(content, EmbeddedResource):
            text = (content.resource.text if isinstance(content.resource, TextResourceContents)
                    else f"[resource {content.resource.uri}]")
        else:
            text = f"[{getattr(content, 'type', 'content')}]"
        lines.append(f"[{message.role}] {text}")
    return "\n".join(lines)


def prompt_action(connection: McpConnection) -> Action:
    """One action that renders any prompt of the server with its arguments."""
    prompts = {p.name: p for p in connection.prompts}
    lines = []
    for prompt in prompts.values():
        arguments = ", ".join(f"{a.name}{'' if a.required else '?'}"
                              for a in prompt.arguments or ())
        about = prompt.description or prompt.title or ""
        lines.append(f"- {prompt.name}({arguments}){': ' + about if about else ''}")

    async def get_prompt(name: str, arguments: dict[str, Any] | None = None) -> str:
        prompt = prompts.get(name)
        if prompt is None:
            raise McpToolError(f"the MCP server '{connection.name}' has no prompt '{name}' "
                               f"(it has: {', '.join(prompts) or 'none'})")
        given = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (arguments or {}).items()}
        missing = [a.name for a in prompt.arguments or () if a.required and a.name not in given]
        if missing:
            raise McpToolError(f"prompt '{name}' needs the argument(s) {', '.join(missing)}")
        return _prompt_text(name, await connection.get_prompt(name, given))

    return Action(
        name=server_action_name(connection, "get_prompt"),
        description=_listing(f"Get a prompt (a ready-made instruction for a task) from the MCP "
                             f"server '{connection.name}', filled in with its arguments, and "
                             "follow it. Its prompts (? = optional argument):", lines),
        handler=get_prompt, timeout=connection.options.timeout,
        parameters={"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string", "enum": list(prompts)},
            "arguments": {"type": "object", "additionalProperties": {"type": "string"},
                          "description": "the prompt's arguments by name"}}})
