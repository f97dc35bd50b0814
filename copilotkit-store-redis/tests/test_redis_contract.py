"""The Redis store passes the core's store contract against a real Redis server."""

from __future__ import annotations

from copilotkit_runtime.testing import StoreContract


class TestRedisStoreContract(StoreContract):
    """Uses the ``store`` fixture of conftest.py: a store on the test Redis with its own prefix."""
