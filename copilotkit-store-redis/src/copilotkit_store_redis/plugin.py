"""Entry point ``redis``: registers the store type ``redis``.

    [store]
    type = "redis"

    [store.redis]
    url = "${REDIS_URL}"
"""

from __future__ import annotations

from typing import Any

from copilotkit_runtime import hookimpl

from .store import RedisStore


@hookimpl
def register_stores(registry: Any) -> None:
    registry.add("redis", RedisStore)
