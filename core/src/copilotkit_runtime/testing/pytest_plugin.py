"""An opt-in pytest plugin: async tests on asyncio.

Not loaded by installing copilotkit-runtime (it would change every project's tests). Turn it
on in your root ``conftest.py``::

    pytest_plugins = ["copilotkit_runtime.testing.pytest_plugin"]

or with ``-p copilotkit_runtime.testing.pytest_plugin`` in pytest's ``addopts``. The contract
suites (:class:`~copilotkit_runtime.testing.StoreContract` and the others) carry their own
``anyio_backend`` fixture and need neither.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """``@pytest.mark.anyio`` tests run on asyncio only (not once per installed backend)."""
    return "asyncio"
