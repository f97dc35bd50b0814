"""Runtime startup/shutdown hooks, and mounting on an existing app."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from copilotkit_runtime import hookimpl
from copilotkit_runtime.server import mount
from copilotkit_runtime.testing import make_runtime, serve_runtime

pytestmark = pytest.mark.anyio


async def test_startup_and_shutdown_hooks_are_called_and_awaited() -> None:
    calls: list[str] = []

    async def on_startup(runtime: Any) -> None:
        calls.append(f"startup store-open={runtime.store is not None}")

    def on_shutdown(runtime: Any) -> Any:
        async def later() -> None:
            calls.append("shutdown")
        return later()

    plugin = SimpleNamespace(startup=hookimpl(on_startup), shutdown=hookimpl(on_shutdown))
    runtime = make_runtime(plugins={"lifecycle": plugin}, load_entry_points=False)
    await runtime.startup()
    assert calls == ["startup store-open=True"]
    await runtime.shutdown()
    assert calls == ["startup store-open=True", "shutdown"]


async def test_a_failing_startup_hook_aborts_startup_and_closes_the_store() -> None:
    def boom(runtime: Any) -> None:
        raise RuntimeError("cannot start")

    runtime = make_runtime(plugins={"bad": SimpleNamespace(startup=hookimpl(boom))},
                           load_entry_points=False)
    with pytest.raises(RuntimeError, match="cannot start"):
        await runtime.startup()
    assert runtime.started is False


def test_mount_on_an_existing_app_serves_at_the_path_and_starts_with_the_app() -> None:
    app = FastAPI()

    @app.get("/mine")
    def mine() -> dict[str, str]:
        return {"app": "mine"}

    runtime = make_runtime(load_entry_points=False)
    mount(app, runtime, path="/copilot")
    with serve_runtime(runtime, app=app) as served:
        assert httpx.get(f"{served.origin}/mine").json() == {"app": "mine"}
        health = httpx.get(f"{served.origin}/copilot/health")
        assert health.status_code == 200 and health.json()["started"] is True
        info = httpx.get(f"{served.origin}/copilot")
        assert info.json()["agents"] == ["demo"]
    assert runtime.started is False
