"""Fixtures of the provider's tests (helpers live in ``lg_helpers``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from lg_helpers import build_runtime

from copilotkit_runtime.runtime import Runtime


@pytest.fixture
async def runtimes(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """``await runtimes({"name": {...agent section...}})`` → a started runtime, stopped after."""
    started: list[Runtime] = []

    async def make(agents: dict[str, Any], **config: Any) -> Runtime:
        runtime = build_runtime(agents, tmp_path, **config)
        await runtime.startup()
        started.append(runtime)
        return runtime

    yield make
    for runtime in started:
        await runtime.shutdown()
