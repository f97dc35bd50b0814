"""Import the object a config names: ``"package.module:name"`` or ``"path/to/file.py:name"``.

Providers use it for the graphs, flows and crews their ``[agents.NAME]`` sections point at.
``name`` may be dotted (``module:Class.factory``). A module that does not import as is is
looked for next to the config file too (the folder a project is served from), and a file path
is relative to ``base_dir``; the file's folder goes on ``sys.path`` so its sibling modules
import each other by name. Every failure is a :class:`~copilotkit_runtime.errors.ConfigError`
that names where the reference is written and the reference itself.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from .errors import ConfigError


def ensure_on_sys_path(folder: Path) -> None:
    entry = str(folder.resolve())
    if entry not in sys.path:
        sys.path.insert(0, entry)


def _is_file_path(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target


def _failed(where: str, reference: str, target: str, exc: BaseException) -> ConfigError:
    return ConfigError(f"{where}: importing '{target}' for '{reference}' failed: "
                       f"{type(exc).__name__}: {exc}")


def _load_file(target: str, reference: str, base_dir: Path, where: str) -> ModuleType:
    file = Path(target).expanduser()
    file = (file if file.is_absolute() else base_dir / file).resolve()
    if not file.is_file():
        raise ConfigError(f"{where}: cannot load '{reference}': file {file} does not exist.")
    ensure_on_sys_path(file.parent)
    digest = hashlib.sha1(str(file).encode()).hexdigest()[:10]
    name = f"_copilotkit_user_{file.stem}_{digest}"
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{where}: cannot load '{reference}': {file} is not a Python file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(name, None)
        raise _failed(where, reference, str(file), exc) from exc
    return module


def _is_missing(exc: ModuleNotFoundError, target: str) -> bool:
    """Whether ``target`` itself is missing (not a module it imports)."""
    return exc.name is not None and (target == exc.name or target.startswith(exc.name + "."))


def _import_module(target: str, reference: str, base_dir: Path, where: str) -> ModuleType:
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if not _is_missing(exc, target):
            raise _failed(where, reference, target, exc) from exc
    except BaseException as exc:
        raise _failed(where, reference, target, exc) from exc
    # Not importable as is: try next to the config file.
    ensure_on_sys_path(base_dir)
    importlib.invalidate_caches()
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if not _is_missing(exc, target):
            raise _failed(where, reference, target, exc) from exc
        raise ConfigError(
            f"{where}: cannot import module '{target}' for '{reference}': no module named "
            f"'{exc.name}' (searched the Python path and {base_dir}). Check the spelling and "
            "that the module is installed or next to the config file."
        ) from exc
    except BaseException as exc:
        raise _failed(where, reference, target, exc) from exc


def import_object(reference: str, *, base_dir: Path, where: str) -> Any:
    """The object ``reference`` names, imported now (see the module docstring)."""
    target, sep, attribute = reference.rpartition(":")
    if not sep or not target or not attribute:
        raise ConfigError(
            f"{where}: '{reference}' is not an import path: write 'package.module:name' or "
            "'path/to/file.py:name'."
        )
    if _is_file_path(target):
        module = _load_file(target, reference, base_dir, where)
    else:
        module = _import_module(target, reference, base_dir, where)
    value: Any = module
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise ConfigError(
                f"{where}: module '{target}' has no attribute '{attribute}' ('{reference}')."
            ) from None
    return value
