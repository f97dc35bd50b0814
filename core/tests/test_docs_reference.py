"""docs/settings.md is the generated settings reference, current with the code."""

from __future__ import annotations

from pathlib import Path

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
