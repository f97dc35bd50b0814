"""copilotkit-store-postgres: threads, history, run locks and the live relay in PostgreSQL,
shared by every runtime instance, so several processes behind a load balancer behave as one."""

from __future__ import annotations

from .options import PostgresOptions
from .store import PostgresStore

__version__ = "0.1.0"

__all__ = ["PostgresOptions", "PostgresStore", "__version__"]
