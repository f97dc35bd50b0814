"""The settings reference, generated from the pydantic models that validate them.

``copilotkit-runtime reference`` prints it; ``docs/settings.md`` is its output, and a test
checks the file is current, so the reference cannot drift from the code.
"""

from __future__ import annotations

import json
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .config import ActionSettings, AgentSettings, GuardrailSettings, Settings

__all__ = ["settings_reference"]

HEADER = """# Settings reference

Generated from the runtime's pydantic models by `copilotkit-runtime reference` (a test checks
this file is current). Settings come from `copilotkit.toml` (or `--config`), then
`COPILOTKIT_SECTION__KEY` environment variables; any string may be `"${VARIABLE}"`
(`"${VARIABLE:-default}"`). Plugins add the options of their own provider, store and guardrail
types: `copilotkit-runtime plugins` lists what is installed, and each plugin's README its keys.
"""


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if annotation is type(None):
        return "none"
    if origin is None:
        if isinstance(annotation, type):
            return annotation.__name__
        return str(annotation).replace("typing.", "")
    args = ", ".join(_type_name(a) for a in get_args(annotation))
    name = getattr(origin, "__name__", str(origin))
    if name in ("UnionType", "Union"):
        return " or ".join(_type_name(a) for a in get_args(annotation))
    return f"{name}[{args}]".replace("|", " or ")


def _default(field: FieldInfo) -> str:
    if field.default is not PydanticUndefined:
        value = field.default
    elif field.default_factory is not None:
        try:
            value = field.default_factory()  # type: ignore[call-arg]
        except TypeError:
            return "(computed)"
    else:
        return "required"
    if isinstance(value, BaseModel):
        return "(section)"
    try:
        return f"`{json.dumps(value)}`"
    except (TypeError, ValueError):
        return f"`{value}`"


def _table(model: type[BaseModel], skip: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    rows = ["| key | type | default | what it does |", "| --- | --- | --- | --- |"]
    for name, field in model.model_fields.items():
        if name in skip or field.exclude:
            continue
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            continue
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{name}` | {_type_name(annotation)} | {_default(field)} | {description} |")
    return rows


def settings_reference() -> str:
    out = [HEADER, "## Top level", "", *_table(Settings, {"agents", "guardrails", "actions",
                                                           "mcp", "auth", "telemetry",
                                                           "metrics"})]
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            doc = (annotation.__doc__ or "").strip().split("\n\n")[0]
            out += ["", f"## `[{name}]`", ""]
            if doc and not doc.startswith("Usage docs"):
                out += [" ".join(doc.split()), ""]
            out += _table(annotation)
    from .default_plugins.sqlite_store import SQLiteOptions

    out += ["", "## `[store.sqlite]`", "", "Options of the built-in SQLite store "
            "(`[store] type = \"sqlite\"`).", "", *_table(SQLiteOptions)]
    sections: list[tuple[str, type[BaseModel], str]] = [
        ("agents.NAME", AgentSettings, "One agent. `provider` picks a registered provider type; "
         "every other key is an option of that type."),
        ("actions.NAME", ActionSettings, "A backend action the LLM agents may call."),
        ("guardrails.NAME", GuardrailSettings, "One guardrail; `type` defaults to NAME; the other "
         "keys are options of that type."),
    ]
    for title, model, text in sections:
        out += ["", f"## `[{title}]`", "", text, "", *_table(model)]
    out += ["", "## `[auth.NAME]`, `[mcp.NAME]`, `[telemetry]`, `[metrics]`", "",
            "Sections read by plugins (`copilotkit-auth`, `copilotkit-mcp`, "
            "`copilotkit-observability`): see their READMEs.", ""]
    return "\n".join(out)
