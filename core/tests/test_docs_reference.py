"""docs/settings.md is the generated settings reference, current with the code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from copilotkit_runtime.config import ServerSettings, Settings
from copilotkit_runtime.reference import settings_reference

DOCS = Path(__file__).parents[2] / "docs" / "settings.md"


def test_docs_settings_md_is_current() -> None:
    assert DOCS.read_text() == settings_reference() + "\n", (
        "docs/settings.md is stale: run `uv run copilotkit-runtime reference > docs/settings.md`")


def test_every_key_is_in_the_reference() -> None:
    text = settings_reference()
    for model in (Settings, ServerSettings):
        for name, field in model.model_fields.items():
            if not field.exclude:
                assert f"`{name}`" in text or f"`[{name}" in text, name


HOOKS = Path(__file__).parents[2] / "docs" / "hooks.md"


def test_docs_hooks_md_is_current(capsys: Any) -> None:
    from copilotkit_runtime.cli import main
    from copilotkit_runtime.hooks_reference import hooks_reference

    assert main(["reference", "--hooks"]) == 0
    printed = capsys.readouterr().out
    assert printed == hooks_reference()
    assert HOOKS.read_text() == printed, (
        "docs/hooks.md is stale: run `uv run copilotkit-runtime reference --hooks > docs/hooks.md`")


def test_every_hook_has_a_section_with_its_signature_and_parameters() -> None:
    import inspect

    from copilotkit_runtime import hookspecs
    from copilotkit_runtime.hooks_reference import hook_names, hooks_reference

    text = hooks_reference()
    names = hook_names()
    assert len(names) == 9 and names[0] == "register_agent_providers"
    for name in names:
        spec = getattr(hookspecs, name)
        assert f"## `{name}`" in text
        assert f"def {name}(" in text
        for param in inspect.signature(spec).parameters:
            assert f"- **{param}**:" in text.split(f"## `{name}`")[1].split("\n## ")[0], (name, param)
