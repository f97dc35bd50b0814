"""Finding the user's flow or crew from a ``"module:attribute"`` reference in the config."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from copilotkit_runtime.errors import ConfigError


def import_reference(reference: str, *, agent: str, key: str, base_dir: Path) -> Any:
    """Import ``"pkg.module:attr"`` (or ``"path/to/file.py:attr"``) and return ``attr``.

    Relative file paths and top-level modules next to the config file are found through
    ``base_dir`` (the config's directory), the way ``uvicorn`` finds an app in the working
    directory. Every failure is a :class:`ConfigError` naming the agent and the key.
    """
    where = f"agents.{agent}.{key}"
    module_name, sep, attr_path = reference.partition(":")
    if not sep or not module_name or not attr_path:
        raise ConfigError(f"{where}: '{reference}' is not a reference of the form "
                          f"'package.module:name' (for example 'my_app.flows:ChatFlow').")
    try:
        if module_name.endswith(".py") or "/" in module_name or "\\" in module_name:
            module = _import_file(Path(module_name), base_dir)
        else:
            if str(base_dir) not in sys.path:
                sys.path.insert(0, str(base_dir))
            module = importlib.import_module(module_name)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc.message}") from None
    except ModuleNotFoundError as exc:
        raise ConfigError(f"{where}: cannot import module '{module_name}' ({exc}). Check the "
                          f"spelling and that the module is installed or next to the config "
                          f"file ({base_dir}).") from exc
    except Exception as exc:
        raise ConfigError(f"{where}: importing '{module_name}' failed: "
                          f"{type(exc).__name__}: {exc}") from exc
    value: Any = module
    for part in attr_path.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise ConfigError(f"{where}: module '{module_name}' has no attribute "
                              f"'{attr_path}'.") from None
    return value


def _import_file(path: Path, base_dir: Path) -> Any:
    path = path if path.is_absolute() else base_dir / path
    if not path.is_file():
        raise ConfigError(f"file '{path}' does not exist")
    name = f"_copilotkit_crewai_{abs(hash(str(path.resolve())))}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot load '{path}' as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
