"""The live relay: a run's events published through a store that supports it, and AG-UI
``connect`` following a run of another runtime through that store.

Two runtimes on one ``bus`` of the test store share everything, as two processes sharing one
Redis would (the real two-process test is in copilotkit-store-redis)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import relay_store
from ag_ui.core import EventType, TextMessageContentEvent, TextMessageStartEvent, ToolCallArgsEvent

from copilotkit_runtime.errors import StoreError
from copilotkit_runtime.events import event_to_dict
from copilotkit_runtime.runtime import Runtime
from copilotkit_runtime.testing import (
    StoreContract,
    collect_events,
    make_runtime,
    run_request,
    scripted_plugin,
)

pytestmark = pytest.mark.anyio

AGENTS = {"reply": {"provider": "scripted"}, "wait": {"provider": "scripted", "mode": "wait"}}
TERMINAL = {"RUN_FINISHED", "RUN_ERROR"}


class TestLiveRelayStoreContract(StoreContract):
    """The contract's live-relay tests, on the test store (they run on Redis too)."""

    @pytest.fixture
    async def store(self) -> AsyncIterator[relay_store.LiveRelayStore]:
        store = relay_store.LiveRelayStore()
        await store.open()
        yield store
        await store.close()


def make(bus: str = "", store_type: str = "relay-memory", **store: Any) -> Runtime:
    section: dict[str, Any] = {"type": store_type, **store}
    if store_type == "relay-memory":
        section["relay-memory"] = {"bus": bus}
    return make_runtime({"agents": AGENTS, "store": section},
                        plugins={"scripted": scripted_plugin, "relay": relay_store},
                        load_entry_points=False)


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    rt = make()
    await rt.startup()
    yield rt
    await rt.shutdown()


def relay_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("copilotkit-relay-")]


async def published_by(runtime: Runtime, run_id: str) -> None:
    """Wait until the run has published a batch (bounded, so a bug fails, not hangs)."""
    async with asyncio.timeout(10):
        await runtime.store.published_by(run_id)


# -- the relay task ------------------------------------------------------------------------------

async def test_a_run_is_published_batch_by_batch_ending_with_a_final_batch(runtime: Runtime) -> None:
    store: relay_store.LiveRelayStore = runtime.store
    run = await runtime.engine.start(run_request("reply"))
    events = await collect_events(run.events())
    assert run.relay is not None
    await run.relay
    published = [p for p in store.published if p[1] == run.request.run_id]
    assert [e for p in published for e in p[2]] == [event_to_dict(e) for e in events]
    assert published[-1][3] is True and not any(p[3] for p in published[:-1])
    assert published[-1][2][-1]["type"] == "RUN_FINISHED"  # the terminal batch is the final one
    await asyncio.sleep(0)  # the engine forgets the task in its done callback (the next step)
    assert not runtime.engine._relays and not relay_tasks()


@pytest.mark.parametrize("fault", [StoreError("Redis went away"), RuntimeError("a bug")])
async def test_a_relay_failure_is_logged_and_does_not_fail_the_run(
        runtime: Runtime, fault: Exception, caplog: pytest.LogCaptureFixture) -> None:
    store: relay_store.LiveRelayStore = runtime.store
    store.publish_fault = fault
    request = run_request("reply")
    run = await runtime.engine.start(request)
    with caplog.at_level(logging.WARNING, logger="copilotkit_runtime.engine"):
        events = await collect_events(run.events())
        assert run.relay is not None
        await run.relay  # ends; does not raise
    assert events[-1].type is EventType.RUN_FINISHED and run.outcome == "success"
    assert (await runtime.engine.load_thread("reply", request.thread_id)).exists
    assert f"stopped relaying run {request.run_id}" in caplog.text
    await asyncio.sleep(0)  # the engine forgets the task in its done callback (the next step)
    assert not runtime.engine._relays and not relay_tasks()


async def test_a_slow_relay_never_holds_the_run_open(runtime: Runtime) -> None:
    store: relay_store.LiveRelayStore = runtime.store
    store.publish_gate = asyncio.Event()  # every publish hangs until set
    request = run_request("reply")
    run = await runtime.engine.start(request)
    events = await collect_events(run.events())
    await run.wait()
    assert events[-1].type is EventType.RUN_FINISHED
    # The run is over and its thread free while its relay is still stuck in the store.
    assert run.relay is not None and not run.relay.done()
    again = await collect_events(runtime.engine.stream(run_request("reply", thread_id=request.thread_id)))
    assert again[-1].type is EventType.RUN_FINISHED
    store.publish_gate.set()
    await asyncio.gather(*relay_tasks())
    # Everything arrived in the end, one write per batch, in order.
    mine = [p for p in store.published if p[1] == request.run_id]
    assert [e for p in mine for e in p[2]] == [event_to_dict(e) for e in events]


async def test_shutdown_cancels_a_relay_stuck_in_the_store(runtime: Runtime) -> None:
    store: relay_store.LiveRelayStore = runtime.store
    store.publish_gate = asyncio.Event()
    run = await runtime.engine.start(run_request("reply"))
    await collect_events(run.events())
    assert run.relay is not None and not run.relay.done()
    await runtime.engine.close(grace=0.05)
    assert run.relay.done() and not runtime.engine._relays and not relay_tasks()


async def test_a_cancelled_run_ends_its_relay_with_an_empty_final_batch(runtime: Runtime) -> None:
    store: relay_store.LiveRelayStore = runtime.store
    request = run_request("wait")
    run = await runtime.engine.start(request)
    events = run.events()
    assert (await anext(events)).type is EventType.RUN_STARTED
    await events.aclose()  # the only reader goes away: the run is cancelled
    assert run.relay is not None
    await run.relay
    mine = [p for p in store.published if p[1] == request.run_id]
    assert mine[-1][2:] == ([], True)
    assert not any(e["type"] in TERMINAL for p in mine for e in p[2])
    assert run.outcome == "cancelled" and not relay_tasks()


async def test_shutdown_with_a_run_in_progress_leaves_no_task() -> None:
    rt = make()
    await rt.startup()
    store: relay_store.LiveRelayStore = rt.store
    request = run_request("wait")
    run = await rt.engine.start(request, detached=True)
    run.start()
    await published_by(rt, request.run_id)
    await rt.shutdown()
    assert run.task is not None and run.task.done()
    assert run.relay is not None and run.relay.done()
    # The run cut by the shutdown ends properly: followers get its terminal event last.
    _, run_id, events, final = store.published[-1]
    assert (run_id, final) == (request.run_id, True)
    assert events[-1]["type"] == "RUN_ERROR" and events[-1]["code"] == "SERVER_SHUTTING_DOWN"
    assert not relay_tasks()


async def test_no_relay_when_the_config_turns_it_off() -> None:
    rt = make(live_relay=False)
    await rt.startup()
    try:
        assert rt.engine.relays_live is False
        run = await rt.engine.start(run_request("reply"))
        await collect_events(run.events())
        assert run.relay is None and rt.store.published == []
    finally:
        await rt.shutdown()


async def test_no_relay_with_a_store_that_cannot() -> None:
    rt = make(store_type="memory")
    await rt.startup()
    try:
        assert rt.store.supports_live_relay is False and rt.engine.relays_live is False
        run = await rt.engine.start(run_request("reply"))
        await collect_events(run.events())
        assert run.relay is None
    finally:
        await rt.shutdown()


# -- AG-UI connect through the relay ---------------------------------------------------------

@pytest.fixture
async def pair() -> AsyncIterator[tuple[Runtime, Runtime]]:
    """Two runtimes sharing one store bus ("instances" A and B)."""
    bus = uuid.uuid4().hex
    a, b = make(bus), make(bus)
    await a.startup()
    await b.startup()
    yield a, b
    await a.shutdown()
    await b.shutdown()
    relay_store.BUSES.pop(bus, None)


async def connect(runtime: Runtime, agent: str, thread_id: str) -> AsyncIterator[dict[str, Any]]:
    replay = await runtime.engine.connect(thread_id, idle_timeout=15.0)
    async for batch in replay:
        for event in batch:
            yield event if isinstance(event, dict) else event_to_dict(event)


async def finished_run(runtime: Runtime, agent: str, thread_id: str) -> None:
    run = await runtime.engine.start(run_request(agent, "earlier", thread_id=thread_id))
    assert (await collect_events(run.events()))[-1].type is EventType.RUN_FINISHED


async def test_connect_on_b_follows_a_run_going_on_a(pair: tuple[Runtime, Runtime]) -> None:
    a, b = pair
    thread = f"thread-{uuid.uuid4()}"
    await finished_run(a, "reply", thread)
    gate = a.providers["wait"].gate(thread)
    run = await a.engine.start(run_request("wait", "second", thread_id=thread), detached=True)
    run.start()
    await published_by(a, run.request.run_id)

    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(10):  # B must release the run (below) for it to end at all
        async for event in connect(b, "wait", thread):
            seen.append(event)
            if event.get("delta") == "first":
                gate.set()  # B has caught up with the live run: let it finish
        await run.wait()
    # The earlier run from history, then the live run exactly as A's own reader saw it.
    earlier = [s.event for s in await b.store.get_events(thread)
               if s.run_id != run.request.run_id]
    assert earlier and earlier[-1]["type"] == "RUN_FINISHED"
    assert seen == earlier + [event_to_dict(e) for e in run.log]
    assert seen[-1]["type"] == "RUN_FINISHED"


async def test_connect_on_b_for_another_agent_does_not_follow_a_run_going_on_a(
        pair: tuple[Runtime, Runtime]) -> None:
    """Issue 13 defect 8, for live runs: ``/agent/reply/connect`` on B neither replays nor
    tails the ``wait`` agent's run going on A on the same thread id."""
    a, b = pair
    thread = f"thread-{uuid.uuid4()}"
    gate = a.providers["wait"].gate(thread)
    run = await a.engine.start(run_request("wait", "theirs", thread_id=thread), detached=True)
    run.start()
    await published_by(a, run.request.run_id)
    try:
        async with asyncio.timeout(10):  # the run is held open: following it would hang
            replay = await b.engine.connect(thread, idle_timeout=15.0, agent="reply")
            assert [batch async for batch in replay] == []
            # the run's own agent does follow it
            mine = await b.engine.connect(thread, idle_timeout=15.0, agent="wait")
            first = await anext(mine)
            assert any(dict(e).get("type") == "RUN_STARTED" for e in first)
            await mine.aclose()  # type: ignore[attr-defined]
    finally:
        gate.set()
        await run.wait()


async def test_connect_skips_a_relayed_run_the_history_already_holds(
        pair: tuple[Runtime, Runtime]) -> None:
    a, b = pair
    store_a: relay_store.LiveRelayStore = a.store
    thread = f"thread-{uuid.uuid4()}"
    gate = a.providers["wait"].gate(thread)
    run = await a.engine.start(run_request("wait", "go", thread_id=thread), detached=True)
    run.start()
    await published_by(a, run.request.run_id)
    # The run ends and is saved, but its relay has not yet said so (held in the store).
    store_a.publish_gate = asyncio.Event()
    gate.set()
    await run.wait()
    seen = [event async for event in connect(b, "wait", thread)]
    history = [s.event for s in await b.store.get_events(thread)]
    assert seen == history  # each event once, from history
    assert [e["type"] for e in seen].count("RUN_STARTED") == 1
    store_a.publish_gate.set()
    await asyncio.gather(*relay_tasks())


async def test_connect_with_the_relay_off_replays_history_only(
        pair: tuple[Runtime, Runtime]) -> None:
    a, _ = pair
    b = make(a.store.options.bus, live_relay=False)
    await b.startup()
    thread = f"thread-{uuid.uuid4()}"
    gate = a.providers["wait"].gate(thread)
    try:
        run = await a.engine.start(run_request("wait", "go", thread_id=thread), detached=True)
        run.start()
        await published_by(a, run.request.run_id)
        assert [event async for event in connect(b, "wait", thread)] == []
        gate.set()
        await run.wait()
        replay = [event async for event in connect(b, "wait", thread)]
        assert replay and replay[-1]["type"] == "RUN_FINISHED"
    finally:
        gate.set()
        await b.shutdown()


# -- serialisation (what the relay costs per event) ------------------------------------------

@pytest.mark.parametrize("event", [
    TextMessageContentEvent(message_id="m1", delta=" hello ü"),
    TextMessageContentEvent(type=EventType.TEXT_MESSAGE_CONTENT, message_id="m1", delta="x"),
    TextMessageContentEvent.model_validate({"messageId": "m1", "delta": "x"}),
    TextMessageContentEvent(message_id="m1", delta="x", timestamp=123),
    TextMessageContentEvent(message_id="m1", delta="x", raw_event={"a": 1}),
    TextMessageContentEvent(message_id="m1", delta="x", extra_field="kept"),
    ToolCallArgsEvent(tool_call_id="t1", delta='{"a":'),
    ToolCallArgsEvent(tool_call_id="t1", delta="1}", timestamp=5),
    TextMessageStartEvent(message_id="m1", role="assistant"),
], ids=lambda e: type(e).__name__)
async def test_event_to_dict_shortcut_for_chunks_equals_model_dump(event: Any) -> None:
    assert event_to_dict(event) == event.model_dump(mode="json", by_alias=True, exclude_none=True)
