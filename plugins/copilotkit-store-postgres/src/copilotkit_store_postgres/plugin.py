"""Entry point ``postgres``: registers the store type ``postgres``.

    [store]
    type = "postgres"

    [store.postgres]
    url = "${DATABASE_URL}"
"""

from __future__ import annotations

from typing import Any

from copilotkit_runtime import hookimpl

from .store import PostgresStore


@hookimpl
def register_stores(registry: Any) -> None:
    registry.add("postgres", PostgresStore)
