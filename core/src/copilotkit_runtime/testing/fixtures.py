"""pytest plugin shipped with copilotkit-runtime (entry point ``pytest11``)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
