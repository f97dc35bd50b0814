"""Registries the core owns: one per kind of thing plugins register."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from .errors import PluginError

T = TypeVar("T")


@dataclass(frozen=True)
class Registration(Generic[T]):
    name: str
    value: T
    plugin: str
    default: bool


class Registry(Generic[T]):
    """A name → object table that knows who registered each name.

    The one rule: a third-party plugin's entry wins over a built-in (default) plugin's, in
    whichever order they register (``replaced`` lists each ``(built-in, replacement)``); two
    third-party plugins registering one name is an error naming both.
    """

    def __init__(self, kind: str, base: type | None = None) -> None:
        self.kind = kind
        self.base = base
        self._entries: dict[str, Registration[T]] = {}
        self._plugin = "<direct>"
        self._plugin_is_default = False
        self.replaced: list[tuple[Registration[T], Registration[T]]] = []

    def _bind(self, plugin: str, default: bool) -> None:
        self._plugin, self._plugin_is_default = plugin, default

    def add(self, name: str, value: T) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(f"Plugin '{self._plugin}' registered a {self.kind} with an empty name.")
        if (self.base is not None
                and not (isinstance(value, type) and issubclass(value, self.base))
                and not isinstance(value, self.base)):
            raise PluginError(
                f"Plugin '{self._plugin}' registered {self.kind} '{name}' as {value!r}, which "
                f"is not a {self.base.__module__}.{self.base.__qualname__}."
            )
        new = Registration(name, value, self._plugin, self._plugin_is_default)
        old = self._entries.get(name)
        if old is not None:
            if new.default and not old.default:
                self.replaced.append((new, old))  # a third-party plugin already replaced it
                return
            if old.default and not new.default:
                self.replaced.append((old, new))
            else:
                raise PluginError(
                    f"Two plugins registered the {self.kind} '{name}': '{old.plugin}' and "
                    f"'{new.plugin}'. Disable one of them with [plugins] disabled = [...]."
                )
        if isinstance(value, type) and hasattr(value, "type_name"):
            value.type_name = name
        self._entries[name] = new

    def get(self, name: str) -> T | None:
        entry = self._entries.get(name)
        return entry.value if entry else None

    def registration(self, name: str) -> Registration[T] | None:
        return self._entries.get(name)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Registration[T]]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)
