"""copilotkit-store-redis: threads, history and run locks in Redis, shared by every runtime
instance, so several processes behind a load balancer behave as one."""

from __future__ import annotations

from .options import RedisOptions
from .store import RedisStore

__version__ = "0.1.0"

__all__ = ["RedisOptions", "RedisStore", "__version__"]
