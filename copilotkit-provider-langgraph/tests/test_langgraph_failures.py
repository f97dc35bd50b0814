"""A failing node fails its own run only; a stopped or abandoned run leaves nothing behind."""

from __future__ import annotations

import asyncio

import lg_test_graphs
import pytest
from ag_ui.core import EventType
from lg_helpers import Client, Turn, user

pytestmark = pytest.mark.anyio


def agents() -> dict[str, object]:
    return {"failing": {"provider": "langgraph", "graph": "lg_test_graphs:make_failing_graph"},
            "gated": {"provider": "langgraph", "graph": "lg_test_graphs:make_gated_graph"}}


async def _settled(before: set[asyncio.Task]) -> list[asyncio.Task]:
    """Tasks started since ``before`` that are still running, once things have had a chance to
    unwind (bounded; returns what is left)."""
    for _ in range(200):
        left = [t for t in asyncio.all_tasks() - before if not t.done()]
        if not left:
            return []
        await asyncio.sleep(0.01)
    return left


async def test_a_node_that_raises_fails_the_run_and_nothing_else(runtimes) -> None:
    runtime = await runtimes(agents())
    client = Client(runtime, "failing")
    turn = await client.send("boom")

    assert turn.last.type is EventType.RUN_ERROR
    assert turn.last.code == "AGENT_ERROR"
    # Production default: the client is told the agent failed, not the exception's text.
    assert turn.last.message == "Agent 'failing' failed."
    # What streamed before the failure was closed properly.
    assert turn.types.count("TEXT_MESSAGE_START") == turn.types.count("TEXT_MESSAGE_END") == 1
    assert sum(t in ("RUN_FINISHED", "RUN_ERROR") for t in turn.types) == 1

    # The same thread and the same agent keep working.
    again = await client.send("all good now")
    assert again.last.type is EventType.RUN_FINISHED
    assert again.text == "Working on it"


async def test_a_client_going_away_cancels_the_graph_run(runtimes) -> None:
    runtime = await runtimes(agents())
    before = asyncio.all_tasks()
    client = Client(runtime, "gated")
    client.messages.append(user("abandon me"))
    started = lg_test_graphs.STARTED.setdefault("abandon me", asyncio.Event())
    run = await runtime.engine.start(client.request())
    events = run.events()
    async for event in events:
        if event.type is EventType.TEXT_MESSAGE_CONTENT:
            break  # the client disconnects in the middle of the reply
    assert started.is_set()
    await events.aclose()

    assert await _settled(before) == []
    # The thread is free again, and its checkpoint holds no half-written node.
    lg_test_graphs.GATES.setdefault("next one", asyncio.Event()).set()
    client.messages.append(user("next one"))
    turn = await client.send()
    assert turn.last.type is EventType.RUN_FINISHED
    assert turn.text == "one two three four"
    assert [m["role"] for m in turn.messages] == ["user", "user", "assistant"]


async def test_stop_ends_the_run_and_cancels_the_graph(runtimes) -> None:
    runtime = await runtimes(agents())
    before = asyncio.all_tasks()
    client = Client(runtime, "gated")
    client.messages.append(user("stop me"))
    run = await runtime.engine.start(client.request())
    events = []
    async for event in run.events():
        events.append(event)
        if event.type is EventType.TEXT_MESSAGE_CONTENT:
            assert await runtime.engine.stop(client.thread_id) is True
    turn = Turn(events)

    assert turn.last.type is EventType.RUN_FINISHED
    assert turn.types.count("TEXT_MESSAGE_START") == turn.types.count("TEXT_MESSAGE_END")
    assert await _settled(before) == []
    assert runtime.engine.active_runs == {}
