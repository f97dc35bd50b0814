"""``copilotkit-runtime new-plugin NAME``: a new plugin distribution from the shipped template.

The templates are package data: ``templates/common/`` (pyproject, package ``__init__``,
CHANGELOG) and ``templates/<kind>/`` for each kind (its module, ``plugin.py``, tests, README),
files ending in ``.tmpl``; rendering replaces ``{{name}}``, ``{{dist}}``, ``{{package}}``,
``{{type}}``, ``{{cls}}``, ``{{kind}}``, ``{{summary}}`` in file contents and ``__package__`` in
paths. ``plugins/copilotkit-plugin-template`` in this repository is the rendering of
``template`` as a provider (a test re-renders it and compares).

Kinds (what the plugin registers, and the registered type name):

``provider``  an agent provider, type ``NAME-echo`` (``[agents.X] provider = "NAME-echo"``)
``store``     a state store, type ``NAME`` (``[store] type = "NAME"``)
``guardrail`` a guardrail, type ``NAME`` (``[guardrails.X] type = "NAME"``)
``middleware`` request middleware claiming ``[auth.NAME]``
"""

from __future__ import annotations

import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from .errors import CopilotKitRuntimeError

KINDS = ("provider", "store", "guardrail", "middleware")
_TYPE = {"provider": "{name}-echo", "store": "{name}", "guardrail": "{name}", "middleware": "{name}"}
_SUMMARY = {"provider": "the `{type}` agent provider", "store": "the `{type}` state store",
            "guardrail": "the `{type}` guardrail",
            "middleware": "the `{type}` request middleware (`[auth.{type}]`)"}
_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


class NewPluginError(CopilotKitRuntimeError):
    """``new-plugin`` cannot create the distribution (bad name, existing folder)."""

    code = "NEW_PLUGIN_ERROR"


def substitutions(name: str, kind: str = "provider") -> dict[str, str]:
    """The template's placeholders for plugin ``name`` (lower case words joined by ``-``)."""
    if kind not in KINDS:
        raise NewPluginError(f"unknown plugin kind {kind!r} (known: {', '.join(KINDS)})")
    if not _NAME.fullmatch(name):
        raise NewPluginError(
            f"bad plugin name {name!r}: use lower-case letters and digits in words joined by "
            "'-', starting with a letter (e.g. 'acme-echo')")
    dist = f"copilotkit-plugin-{name}"
    type_name = _TYPE[kind].format(name=name)
    return {"name": name, "dist": dist, "package": dist.replace("-", "_"), "type": type_name,
            "cls": "".join(w.capitalize() for w in name.split("-")), "kind": kind,
            "summary": _SUMMARY[kind].format(type=type_name)}


def _files(root: Traversable, prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            out.extend(_files(entry, f"{prefix}{entry.name}/"))
        elif entry.name.endswith(".tmpl"):
            out.append((prefix + entry.name[: -len(".tmpl")], entry.read_text(encoding="utf-8")))
    return out


def render(name: str, kind: str = "provider") -> dict[str, str]:
    """The files of the new distribution: relative path -> text."""
    subs = substitutions(name, kind)
    templates = resources.files(__package__ or "copilotkit_runtime") / "templates"
    rendered: dict[str, str] = {}
    for rel, text in [*_files(templates / "common"), *_files(templates / kind)]:
        for key, value in subs.items():
            text = text.replace("{{" + key + "}}", value)
        rendered[rel.replace("__package__", subs["package"])] = text
    return rendered


def create(name: str, parent: Path, kind: str = "provider") -> Path:
    """Write the distribution as ``parent/copilotkit-plugin-NAME``; the folder must not exist."""
    files = render(name, kind)
    target = Path(parent) / substitutions(name, kind)["dist"]
    if target.exists():
        raise NewPluginError(f"{target} already exists: choose another name or --dir")
    for rel, text in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target
