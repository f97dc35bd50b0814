"""Finding the user's flow or crew from a ``"module:attribute"`` reference in the config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from copilotkit_runtime.imports import import_object


def import_reference(reference: str, *, agent: str, key: str, base_dir: Path) -> Any:
    """Import ``"pkg.module:attr"`` (or ``"path/to/file.py:attr"``) and return ``attr``.

    Relative file paths and top-level modules next to the config file are found through
    ``base_dir`` (the config's directory). Every failure is a ``ConfigError`` naming the agent
    and the key (see :mod:`copilotkit_runtime.imports`).
    """
    return import_object(reference, base_dir=base_dir, where=f"agents.{agent}.{key}")
