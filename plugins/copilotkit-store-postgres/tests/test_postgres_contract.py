"""The PostgreSQL store passes the core's store contract against a real PostgreSQL server."""

from __future__ import annotations

from copilotkit_runtime.testing import StoreContract


class TestPostgresStoreContract(StoreContract):
    """Uses the ``store`` fixture of conftest.py: a store in a schema of its own."""
