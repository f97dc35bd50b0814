"""The run lifecycle: streams, failures, locks, cancellation, stop, persistence."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest
from ag_ui.core import EventType

from copilotkit_runtime import GuardrailBlockedError, ThreadBusyError
from copilotkit_runtime.errors import AgentNotFoundError, StoreError
from copilotkit_runtime.guardrails import Guardrail, GuardrailDecision
from copilotkit_runtime.testing import collect_events, make_runtime, run_request, scripted_plugin

pytestmark = pytest.mark.anyio


def runtime_with(agents: dict[str, dict[str, Any]], **config: Any) -> Any:
    return make_runtime({"agents": agents, **config}, plugins={"scripted": scripted_plugin},
                        load_entry_points=False)


@pytest.fixture
async def runtime() -> Any:
    rt = runtime_with({
        "reply": {"provider": "scripted"},
        "boom": {"provider": "scripted", "mode": "raise_midway"},
        "wait": {"provider": "scripted", "mode": "wait"},
        "bad": {"provider": "scripted", "mode": "bad_stream"},
        "chunks": {"provider": "scripted", "mode": "chunks"},
    })
    await rt.startup()
    yield rt
    await rt.shutdown()


def types(events: list[Any]) -> list[str]:
    return [e.type.value for e in events]


async def test_a_run_is_wrapped_in_run_started_and_run_finished(runtime: Any) -> None:
    events = await collect_events(runtime.engine.stream(run_request("reply")))
    assert types(events) == ["RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT",
                             "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END",
                             "STATE_SNAPSHOT", "RUN_FINISHED"]


async def test_run_started_carries_the_input_itself_on_a_new_thread_and_only_new_messages_after(
        runtime: Any) -> None:
    # A held run keeps its RUN_STARTED for its whole life: on a new thread it is the request's
    # own input (no copy per open stream); on a known thread a copy with the new messages only.
    first = run_request("reply", "hi")
    events = await collect_events(runtime.engine.stream(first))
    assert events[0].input is first.input
    stored = (await runtime.engine.load_thread("reply", first.thread_id)).messages
    known = list(first.input.messages)
    second = run_request("reply", "again", thread_id=first.thread_id)
    again = second.input.messages[0]
    second.input = second.input.model_copy(update={"messages": [*known, again]})
    assert len(stored) == 2
    events = await collect_events(runtime.engine.stream(second))
    assert events[0].input is not second.input
    assert [m.id for m in events[0].input.messages] == [again.id]


async def test_state_and_messages_are_persisted_and_loaded(runtime: Any) -> None:
    request = run_request("reply", "hi", state={"color": "red"})
    await collect_events(runtime.engine.stream(request))
    snapshot = await runtime.engine.load_thread("reply", request.thread_id)
    assert snapshot.exists
    assert snapshot.state == {"color": "red", "done": True}
    assert [m["role"] for m in snapshot.messages] == ["user", "assistant"]
    assert snapshot.messages[1]["content"] == "w0 w1 w2 "


async def test_stored_state_is_the_starting_state_when_the_client_sends_none(runtime: Any) -> None:
    first = run_request("reply", state={"count": 7})
    await collect_events(runtime.engine.stream(first))
    second = run_request("reply", thread_id=first.thread_id)
    run = await runtime.engine.start(second)
    assert run.request.state == {"count": 7, "done": True}
    await collect_events(run.events())


async def test_history_is_recorded_compacted(runtime: Any) -> None:
    request = run_request("reply")
    await collect_events(runtime.engine.stream(request))
    history = await runtime.store.get_events(request.thread_id)
    contents = [e.event for e in history if e.event["type"] == "TEXT_MESSAGE_CONTENT"]
    assert [c["delta"] for c in contents] == ["w0 w1 w2 "]


async def test_unknown_thread_does_not_exist(runtime: Any) -> None:
    snapshot = await runtime.engine.load_thread("reply", "no-such-thread")
    assert snapshot.exists is False and snapshot.state == {} and snapshot.messages == []


async def test_unknown_agent_is_an_error_that_names_the_known_ones(runtime: Any) -> None:
    with pytest.raises(AgentNotFoundError, match="Available agents: bad, boom, chunks, reply, wait"):
        await runtime.engine.start(run_request("nope"))
    # ...and the engine keeps serving every agent afterwards.
    events = await collect_events(runtime.engine.stream(run_request("reply")))
    assert events[-1].type is EventType.RUN_FINISHED


async def test_a_provider_that_raises_fails_only_its_own_run(runtime: Any) -> None:
    failing = run_request("boom")
    events = await collect_events(runtime.engine.stream(failing))
    assert types(events) == ["RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT",
                             "TEXT_MESSAGE_END", "RUN_ERROR"]
    assert events[-1].code == "AGENT_ERROR"
    # Outside development the client gets no exception text (it is in the log).
    assert events[-1].message == "Agent 'boom' failed."
    assert "Traceback" not in events[-1].message
    # The failed run did not overwrite the thread, and the thread is free again.
    assert (await runtime.engine.load_thread("boom", failing.thread_id)).exists is False
    again = await collect_events(runtime.engine.stream(run_request("reply", thread_id=failing.thread_id)))
    assert again[-1].type is EventType.RUN_FINISHED


async def test_in_development_a_run_error_carries_the_exception_text() -> None:
    rt = runtime_with({"boom": {"provider": "scripted", "mode": "raise_midway"}},
                      server={"environment": "development"})
    await rt.startup()
    try:
        events = await collect_events(rt.engine.stream(run_request("boom")))
    finally:
        await rt.shutdown()
    assert "RuntimeError: the agent broke" in events[-1].message
    assert rt.settings.server.error_details is True
    # ... and an explicit setting wins over the environment.
    assert runtime_with({}, server={"environment": "development",
                                    "expose_error_details": False}).settings.server.error_details is False


async def test_an_invalid_event_stream_becomes_a_run_error(runtime: Any) -> None:
    events = await collect_events(runtime.engine.stream(run_request("bad")))
    assert types(events) == ["RUN_STARTED", "RUN_ERROR"]
    assert events[-1].code == "INVALID_EVENT_STREAM"
    assert "was not started" in events[-1].message


async def test_chunk_events_are_expanded(runtime: Any) -> None:
    events = await collect_events(runtime.engine.stream(run_request("chunks")))
    assert types(events) == ["RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT",
                             "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "TOOL_CALL_START",
                             "TOOL_CALL_ARGS", "TOOL_CALL_ARGS", "TOOL_CALL_END", "RUN_FINISHED"]


async def test_two_concurrent_runs_on_one_thread(runtime: Any) -> None:
    first = run_request("wait")
    run = await runtime.engine.start(first)
    stream = run.events()
    assert (await anext(stream)).type is EventType.RUN_STARTED
    with pytest.raises(ThreadBusyError, match="already has a run in progress"):
        await runtime.engine.start(run_request("reply", thread_id=first.thread_id))
    runtime.providers["wait"].release(first.thread_id)
    rest = [e async for e in stream]
    assert rest[-1].type is EventType.RUN_FINISHED
    # Once the first run ended, the thread takes a new run.
    after = await collect_events(runtime.engine.stream(run_request("reply", thread_id=first.thread_id)))
    assert after[-1].type is EventType.RUN_FINISHED


async def test_runs_on_different_threads_run_concurrently(runtime: Any) -> None:
    results = await asyncio.gather(*(collect_events(runtime.engine.stream(run_request("reply")))
                                     for _ in range(20)))
    assert all(r[-1].type is EventType.RUN_FINISHED for r in results)


async def test_consumer_going_away_cancels_the_provider_and_frees_the_thread(runtime: Any) -> None:
    before = asyncio.all_tasks()
    request = run_request("wait")
    run = await runtime.engine.start(request)
    stream = run.events()
    async for event in stream:
        if event.type is EventType.TEXT_MESSAGE_CONTENT:
            break
    await stream.aclose()
    assert request.run_id in runtime.providers["wait"].cleaned_up
    assert run.outcome == "cancelled"
    assert runtime.engine.active_runs == {}
    leftover = [t for t in asyncio.all_tasks() - before if not t.done()]
    assert leftover == []
    lease = await runtime.store.acquire_run_lock(request.thread_id, "next", 5)
    assert lease is not None
    await lease.release()


async def test_cancelling_the_consuming_task_leaves_no_task(runtime: Any) -> None:
    before = asyncio.all_tasks()
    request = run_request("wait")
    reached = asyncio.Event()

    async def consume() -> None:
        async for event in runtime.engine.stream(request):
            if event.type is EventType.TEXT_MESSAGE_CONTENT:
                reached.set()

    task = asyncio.create_task(consume())
    await reached.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert request.run_id in runtime.providers["wait"].cleaned_up
    leftover = [t for t in asyncio.all_tasks() - before if not t.done()]
    assert leftover == []


async def test_stop_ends_the_stream_properly(runtime: Any) -> None:
    request = run_request("wait")
    run = await runtime.engine.start(request)
    seen = []
    async for event in run.events():
        seen.append(event)
        if event.type is EventType.TEXT_MESSAGE_CONTENT:
            assert await runtime.engine.stop(request.thread_id) is True
    assert types(seen) == ["RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT",
                           "TEXT_MESSAGE_END", "RUN_FINISHED"]
    assert run.outcome == "stopped"
    assert request.run_id in runtime.providers["wait"].cleaned_up
    snapshot = await runtime.engine.load_thread("wait", request.thread_id)
    assert snapshot.messages[-1]["content"] == "first"


async def _until_content(run: Any) -> Any:
    """Read ``run`` up to its first text chunk (the ``wait`` agent then waits); the reader
    (kept open: closing it would cancel the run)."""
    reader = run.event_batches()
    async for batch in reader:
        if any(e.type is EventType.TEXT_MESSAGE_CONTENT for e in batch):
            break
    return reader


async def test_a_waiting_run_has_no_task_but_its_provider(runtime: Any) -> None:
    """The lease is kept by timers and the store's stop signal, not by tasks per run."""
    before = asyncio.all_tasks()
    request = run_request("wait")
    run = await runtime.engine.start(request)
    events = await _until_content(run)
    await asyncio.sleep(0)
    assert [t for t in asyncio.all_tasks() - before if not t.done()] == [run.task]
    assert await runtime.engine.stop(request.thread_id) is True
    async for _ in events:
        pass
    assert run.outcome == "stopped"


async def test_a_run_longer_than_its_lock_ttl_keeps_its_thread() -> None:
    rt = runtime_with({"wait": {"provider": "scripted", "mode": "wait"}},
                      store={"lock_ttl_seconds": 0.15})
    await rt.startup()
    try:
        request = run_request("wait")
        run = await rt.engine.start(request)
        reader = await _until_content(run)
        await asyncio.sleep(0.6)  # four lock lifetimes: only renewals keep the thread
        with pytest.raises(ThreadBusyError):
            await rt.engine.start(run_request("wait", thread_id=request.thread_id))
        rt.providers["wait"].release(request.thread_id)
        rest = [e async for batch in reader for e in batch]
        assert rest[-1].type is EventType.RUN_FINISHED and run.outcome == "success"
    finally:
        await rt.shutdown()


async def test_a_run_whose_lock_is_taken_ends_with_thread_lock_lost() -> None:
    rt = runtime_with({"wait": {"provider": "scripted", "mode": "wait"}},
                      store={"lock_ttl_seconds": 0.15})
    await rt.startup()
    try:
        before = asyncio.all_tasks()
        request = run_request("wait")
        run = await rt.engine.start(request)
        reader = await _until_content(run)
        # As if the lock had expired and another process's run had taken the thread:
        rt.store._locks[request.thread_id] = ("someone-else", float("inf"))
        async with asyncio.timeout(10):
            rest = [e async for batch in reader for e in batch]
        assert rest[-1].type is EventType.RUN_ERROR and rest[-1].code == "THREAD_LOCK_LOST"
        assert run.outcome == "error"
        assert request.run_id in rt.providers["wait"].cleaned_up
        assert [t for t in asyncio.all_tasks() - before if not t.done()] == []
    finally:
        await rt.shutdown()


async def test_stop_reaches_a_lease_without_a_stop_signal(runtime: Any, monkeypatch: Any) -> None:
    """A store whose leases have no ``stop_signal`` (they poll): its ``wait_for_stop`` runs."""
    from copilotkit_runtime.default_plugins import memory_store

    monkeypatch.setattr(memory_store._MemoryLease, "stop_signal", lambda self: None)
    before = asyncio.all_tasks()
    request = run_request("wait")
    run = await runtime.engine.start(request)
    reader = await _until_content(run)
    assert len([t for t in asyncio.all_tasks() - before if not t.done()]) == 2  # + wait_for_stop
    assert await runtime.engine.stop(request.thread_id) is True
    rest = [e async for batch in reader for e in batch]
    assert run.outcome == "stopped" and rest[-1].type is EventType.RUN_FINISHED
    await run.wait()
    assert [t for t in asyncio.all_tasks() - before if not t.done()] == []


async def test_stop_of_an_idle_thread_reports_nothing_running(runtime: Any) -> None:
    assert await runtime.engine.stop("idle-thread") is False


async def test_input_guardrail_blocks_before_the_run() -> None:
    rt = runtime_with({"reply": {"provider": "scripted"}},
                      guardrails={"topics": {"deny_list": ["politics"]}})
    await rt.startup()
    try:
        with pytest.raises(GuardrailBlockedError, match="'politics' is not allowed"):
            await rt.engine.start(run_request("reply", "let us talk politics"))
        events = await collect_events(rt.engine.stream(run_request("reply", "the weather")))
        assert events[-1].type is EventType.RUN_FINISHED
    finally:
        await rt.shutdown()


async def test_request_rules_are_applied_by_the_topic_guardrail(runtime: Any) -> None:
    from copilotkit_runtime.guardrails import GuardrailRules

    request = run_request("reply", "tell me about cooking",
                          guardrail_rules=GuardrailRules(allow_list=["weather"]))
    with pytest.raises(GuardrailBlockedError, match="limited to these topics: 'weather'"):
        await runtime.engine.start(request)


class NoSecrets(Guardrail):
    checks_output = True

    async def check_output(self, text: str, request: Any) -> GuardrailDecision | None:
        return GuardrailDecision("the reply contained a secret") if "w1" in text else None


async def test_output_guardrail_fails_the_run() -> None:
    rt = runtime_with({"reply": {"provider": "scripted"}})
    rt.engine.guardrails.append(NoSecrets("no-secrets"))
    await rt.startup()
    try:
        request = run_request("reply")
        events = await collect_events(rt.engine.stream(request))
        assert events[-1].type is EventType.RUN_ERROR
        assert events[-1].code == "GUARDRAILS_VALIDATION_FAILED"
        assert (await rt.engine.load_thread("reply", request.thread_id)).exists is False
    finally:
        await rt.shutdown()


async def test_a_store_failure_at_save_fails_the_run_clearly(runtime: Any, monkeypatch: Any) -> None:
    async def broken_save(*args: Any, **kwargs: Any) -> Any:
        raise StoreError("disk on fire")

    monkeypatch.setattr(runtime.store, "save_thread", broken_save)
    events = await collect_events(runtime.engine.stream(run_request("reply")))
    assert events[-1].type is EventType.RUN_ERROR
    assert events[-1].code == "STORE_ERROR"
    assert "could not be saved: disk on fire" in events[-1].message
    assert sys.modules  # the process is still here, obviously; the next run works:
    monkeypatch.undo()
    again = await collect_events(runtime.engine.stream(run_request("reply")))
    assert again[-1].type is EventType.RUN_FINISHED


async def test_a_detached_run_goes_on_when_its_reader_leaves(runtime: Any) -> None:
    request = run_request("wait")
    run = await runtime.engine.start(request, detached=True)
    stream = run.events()
    async for event in stream:
        if event.type is EventType.TEXT_MESSAGE_CONTENT:
            break
    await stream.aclose()
    assert runtime.engine.active_run(request.thread_id) is run
    # A second reader (a reconnecting client) replays from the start and follows live.
    replay = run.events()
    seen = [await anext(replay) for _ in range(3)]
    assert types(seen) == ["RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT"]
    runtime.providers["wait"].release(request.thread_id)
    rest = [e async for e in replay]
    assert types(rest)[-2:] == ["TEXT_MESSAGE_END", "RUN_FINISHED"]
    await run.wait()
    assert run.outcome == "success"
    assert runtime.engine.active_run(request.thread_id) is None
    snapshot = await runtime.engine.load_thread("wait", request.thread_id)
    assert snapshot.messages[-1]["content"] == "first second"
