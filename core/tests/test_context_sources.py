"""Context sources (``Runtime.add_context_source``): plugins' context entries join each run's
context when it starts, after the client's readables; a source that fails is left out."""

from __future__ import annotations

import json
import types
from collections.abc import Sequence
from typing import Any

import pytest
from ag_ui.core import Context

from copilotkit_runtime import RunRequest, hookimpl
from copilotkit_runtime.testing import make_runtime, run_request, scripted_plugin
from copilotkit_runtime.testing.contracts import collect_events

pytestmark = pytest.mark.anyio


def plugin(*sources: Any) -> Any:
    @hookimpl
    def register_agent_providers(registry: Any) -> None:
        scripted_plugin.register_agent_providers(registry)  # type ``scripted``

    @hookimpl
    def startup(runtime: Any) -> None:
        for source in sources:
            runtime.add_context_source(source)

    return types.SimpleNamespace(register_agent_providers=register_agent_providers,
                                 startup=startup)


def text_of(events: list[Any]) -> str:
    """The context the echo agent received, one ``description=value`` per line."""
    seen = json.loads("".join(e.delta for e in events if e.type.value == "TEXT_MESSAGE_CONTENT"))
    return "\n".join(f"{c['description']}={c['value']}" for c in seen["context"]) or "none"


async def test_sources_add_context_after_the_clients_and_a_failing_one_is_left_out(
        caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []

    async def clock(request: RunRequest) -> Sequence[Context]:
        seen.append(request.agent)
        return [Context(description="run", value=str(len(seen)))]

    async def broken(request: RunRequest) -> Sequence[Context]:
        raise RuntimeError("the source broke")

    async def nothing(request: RunRequest) -> Sequence[Context]:
        return []

    runtime = make_runtime({"agents": {"echo": {"provider": "scripted", "mode": "echo"}}},
                           plugins={"ctx": plugin(clock, broken, nothing)}, load_entry_points=False)
    request = run_request("echo", "hi")
    request.input = request.input.model_copy(
        update={"context": [Context(description="page", value="orders")]})
    async with runtime.lifespan():
        first = await collect_events(runtime.engine.stream(request))
        second = await collect_events(runtime.engine.stream(run_request("echo", "hi")))
    assert text_of(first) == "page=orders\nrun=1"  # the client's readables first
    assert text_of(second) == "run=2"  # asked again at every run's start
    assert first[-1].type.value == "RUN_FINISHED"
    assert "a context source failed for a run of echo" in caplog.text


async def test_without_sources_the_context_is_the_clients() -> None:
    runtime = make_runtime({"agents": {"echo": {"provider": "scripted", "mode": "echo"}}},
                           plugins={"ctx": plugin()}, load_entry_points=False)
    async with runtime.lifespan():
        events = await collect_events(runtime.engine.stream(run_request("echo", "hi")))
    assert text_of(events) == "none"
