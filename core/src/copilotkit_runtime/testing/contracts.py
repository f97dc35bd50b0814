"""Contract suites: subclass one, supply one fixture, get the whole behaviour tested.

Tests of optional abilities skip (never pass silently) when the implementation says it lacks
them (e.g. ``StateStore.supports_ttl = False``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from ag_ui.core import (
    AssistantMessage,
    BaseEvent,
    EventType,
    FunctionCall,
    Tool,
    ToolCall,
    ToolMessage,
)

from ..errors import VersionConflictError
from ..guardrails import Guardrail, GuardrailDecision
from ..hookspecs import hookimpl
from ..middleware import RequestMiddleware
from ..providers import AgentProvider, RunRequest
from ..stores import (
    InvalidCursorError,
    LiveBatch,
    StateStore,
    ThreadInfo,
    ThreadRecord,
    update_thread,
)
from ..stream import StreamValidator
from .client import RuntimeClient
from .runtime import make_runtime, run_request
from .scripted import ScriptedProvider, scripted_plugin


def _tid() -> str:
    return f"thread-{uuid.uuid4().hex}"


def _ev(i: int) -> dict[str, object]:
    return {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": f"w{i} ü"}


async def collect_events(stream: AsyncIterator[BaseEvent]) -> list[BaseEvent]:
    return [event async for event in stream]


@pytest.mark.anyio
class StoreContract:
    """The behaviour of every :class:`~copilotkit_runtime.stores.StateStore`.

    Supply a ``store`` fixture yielding an opened store. Override :attr:`lock_ttl` /
    :attr:`short_ttl` if your store's clock granularity needs longer times.
    """

    short_ttl: float = 0.3

    @pytest.fixture
    def anyio_backend(self) -> str:
        """The suite runs on asyncio, whatever the project's own pytest setup."""
        return "asyncio"

    # -- threads -----------------------------------------------------------------------------

    async def test_unknown_thread_is_none(self, store: StateStore) -> None:
        assert await store.get_thread(_tid(), "agent") is None

    async def test_save_then_get_round_trips(self, store: StateStore) -> None:
        tid = _tid()
        record = ThreadRecord(tid, "agent", state={"n": 1, "nested": {"a": [1, 2]}},
                              messages=[{"id": "m1", "role": "user", "content": "hi ü"}],
                              run_id="r1", node_name="node")
        saved = await store.save_thread(record)
        assert saved.version == 1
        got = await store.get_thread(tid, "agent")
        assert got is not None
        assert (got.state, got.messages, got.version, got.run_id, got.node_name) == (
            record.state, record.messages, 1, "r1", "node")

    async def test_each_write_increments_the_version(self, store: StateStore) -> None:
        tid = _tid()
        first = await store.save_thread(ThreadRecord(tid, "agent", state={"v": 1}))
        second = await store.save_thread(ThreadRecord(tid, "agent", state={"v": 2}))
        assert (first.version, second.version) == (1, 2)
        got = await store.get_thread(tid, "agent")
        assert got is not None and got.state == {"v": 2}

    async def test_threads_are_separate_per_agent(self, store: StateStore) -> None:
        tid = _tid()
        await store.save_thread(ThreadRecord(tid, "a", state={"who": "a"}))
        await store.save_thread(ThreadRecord(tid, "b", state={"who": "b"}))
        a, b = await store.get_thread(tid, "a"), await store.get_thread(tid, "b")
        assert a is not None and b is not None
        assert (a.state["who"], b.state["who"]) == ("a", "b")

    async def test_compare_and_set_rejects_a_stale_version(self, store: StateStore) -> None:
        tid = _tid()
        await store.save_thread(ThreadRecord(tid, "agent", state={"v": 1}), expected_version=0)
        with pytest.raises(VersionConflictError):
            await store.save_thread(ThreadRecord(tid, "agent", state={"v": 9}), expected_version=0)
        got = await store.get_thread(tid, "agent")
        assert got is not None and got.state == {"v": 1}

    async def test_compare_and_set_on_missing_thread_needs_version_zero(self, store: StateStore) -> None:
        with pytest.raises(VersionConflictError):
            await store.save_thread(ThreadRecord(_tid(), "agent"), expected_version=3)

    async def test_concurrent_updates_lose_nothing(self, store: StateStore) -> None:
        tid = _tid()

        def bump(record: ThreadRecord) -> ThreadRecord:
            return record.evolve(state={"count": record.state.get("count", 0) + 1})

        await asyncio.gather(*(update_thread(store, tid, "agent", bump, attempts=200)
                               for _ in range(20)))
        got = await store.get_thread(tid, "agent")
        assert got is not None and got.state["count"] == 20

    async def test_delete_one_agent_keeps_the_others(self, store: StateStore) -> None:
        tid = _tid()
        await store.save_thread(ThreadRecord(tid, "a"))
        await store.save_thread(ThreadRecord(tid, "b"))
        await store.delete_thread(tid, "a")
        assert await store.get_thread(tid, "a") is None
        assert await store.get_thread(tid, "b") is not None

    async def test_delete_thread_removes_records_and_history(self, store: StateStore) -> None:
        tid = _tid()
        await store.save_thread(ThreadRecord(tid, "a"))
        await store.append_events(tid, "r1", [{"type": "RUN_STARTED"}])
        await store.delete_thread(tid)
        assert await store.get_thread(tid, "a") is None
        assert await store.get_events(tid) == []

    async def test_thread_expires_after_ttl(self, store: StateStore) -> None:
        if not store.supports_ttl:
            pytest.skip("this store does not support thread TTLs")
        tid = _tid()
        await store.save_thread(ThreadRecord(tid, "agent"), ttl=self.short_ttl)
        assert await store.get_thread(tid, "agent") is not None
        await asyncio.sleep(self.short_ttl * 4)
        assert await store.get_thread(tid, "agent") is None

    # -- history -----------------------------------------------------------------------------

    async def test_history_is_ordered_with_increasing_sequence(self, store: StateStore) -> None:
        tid = _tid()
        await store.append_events(tid, "r1", [{"type": "A", "i": 1}, {"type": "B", "i": 2}])
        await store.append_events(tid, "r2", [{"type": "C", "i": 3}])
        events = await store.get_events(tid)
        assert [e.event["i"] for e in events] == [1, 2, 3]
        assert [e.run_id for e in events] == ["r1", "r1", "r2"]
        seqs = [e.seq for e in events]
        assert seqs == sorted(seqs) and len(set(seqs)) == 3

    async def test_history_after_cursor_and_limit(self, store: StateStore) -> None:
        tid = _tid()
        await store.append_events(tid, "r1", [{"i": i} for i in range(5)])
        events = await store.get_events(tid)
        after = await store.get_events(tid, after=events[1].seq)
        assert [e.event["i"] for e in after] == [2, 3, 4]
        limited = await store.get_events(tid, after=events[1].seq, limit=2)
        assert [e.event["i"] for e in limited] == [2, 3]

    async def test_history_per_agent(self, store: StateStore) -> None:
        if not store.history_by_agent:
            pytest.skip("this store keeps one history per thread, whatever the agent")
        tid = _tid()
        # agent= is not in StateStore's signatures: only history_by_agent stores take it
        by_agent: Any = store
        await by_agent.append_events(tid, "r1", [{"i": 1}], agent="a")
        await by_agent.append_events(tid, "r2", [{"i": 2}], agent="b")
        await store.append_events(tid, "r3", [{"i": 3}])
        mine = await by_agent.get_events(tid, agent="a")
        assert [(e.run_id, e.agent) for e in mine] == [("r1", "a"), ("r3", None)]
        assert [e.run_id for e in await store.get_events(tid)] == ["r1", "r2", "r3"]
        assert [e.run_id for e in await by_agent.get_events(tid, agent="b", after=mine[0].seq)] \
            == ["r2", "r3"]

    async def test_concurrent_appends_keep_every_event(self, store: StateStore) -> None:
        tid = _tid()
        await asyncio.gather(*(store.append_events(tid, f"r{i}", [{"i": i}]) for i in range(10)))
        events = await store.get_events(tid)
        assert sorted(e.event["i"] for e in events) == list(range(10))
        assert len({e.seq for e in events}) == 10

    # -- run locks ---------------------------------------------------------------------------

    async def test_run_lock_is_exclusive(self, store: StateStore) -> None:
        tid = _tid()
        lease = await store.acquire_run_lock(tid, "r1", 10)
        assert lease is not None
        assert await store.acquire_run_lock(tid, "r2", 10) is None
        await lease.release()
        again = await store.acquire_run_lock(tid, "r2", 10)
        assert again is not None
        await again.release()

    async def test_locks_of_different_threads_are_independent(self, store: StateStore) -> None:
        a = await store.acquire_run_lock(_tid(), "r1", 10)
        b = await store.acquire_run_lock(_tid(), "r2", 10)
        assert a is not None and b is not None
        await a.release()
        await b.release()

    async def test_expired_lock_can_be_taken_and_old_holder_cannot_renew(self, store: StateStore) -> None:
        tid = _tid()
        old = await store.acquire_run_lock(tid, "r1", self.short_ttl)
        assert old is not None
        await asyncio.sleep(self.short_ttl * 4)
        new = await store.acquire_run_lock(tid, "r2", 10)
        assert new is not None
        assert await old.renew() is False
        await old.release()  # must not release the new holder's lock
        assert await store.acquire_run_lock(tid, "r3", 10) is None
        await new.release()

    async def test_a_reused_run_id_does_not_take_renew_or_release_a_live_lease(
            self, store: StateStore) -> None:
        """Run ids come from clients: a second acquisition with the id of the run holding the
        thread is refused, and a lease that was released cannot renew or release the next
        lease of the same run id."""
        tid = _tid()
        lease = await store.acquire_run_lock(tid, "same", 10)
        assert lease is not None
        assert await store.acquire_run_lock(tid, "same", 10) is None
        await lease.release()
        again = await store.acquire_run_lock(tid, "same", 10)
        assert again is not None
        assert await lease.renew() is False  # the old lease is not the new one
        await lease.release()  # nor may it release it
        assert await store.acquire_run_lock(tid, "other", 10) is None
        assert await again.renew() is True
        await again.release()
        assert await store.request_stop(tid) is False

    async def test_renew_keeps_the_lock(self, store: StateStore) -> None:
        tid = _tid()
        lease = await store.acquire_run_lock(tid, "r1", self.short_ttl * 2)
        assert lease is not None
        for _ in range(4):
            await asyncio.sleep(self.short_ttl / 2)
            assert await lease.renew() is True
        assert await store.acquire_run_lock(tid, "r2", 10) is None
        await lease.release()

    async def test_stop_request_reaches_the_holder(self, store: StateStore) -> None:
        tid = _tid()
        lease = await store.acquire_run_lock(tid, "r1", 10)
        assert lease is not None
        waiter = asyncio.ensure_future(lease.wait_for_stop())
        await asyncio.sleep(0.05)
        assert not waiter.done()
        assert await store.request_stop(tid) is True
        await asyncio.wait_for(waiter, timeout=5)
        await lease.release()

    async def test_stop_for_another_run_or_idle_thread_is_refused(self, store: StateStore) -> None:
        tid = _tid()
        assert await store.request_stop(tid) is False
        lease = await store.acquire_run_lock(tid, "r1", 10)
        assert lease is not None
        assert await store.request_stop(tid, "other-run") is False
        await lease.release()

    async def test_ping(self, store: StateStore) -> None:
        await store.ping()

    # -- thread info: owners and listing -------------------------------------------------------

    async def _all_pages(self, store: StateStore, owner: str, limit: int,
                         **kwargs: object) -> list[list[ThreadInfo]]:
        pages, cursor = [], None
        while True:
            page = await store.list_threads(owner, limit=limit, cursor=cursor, **kwargs)  # type: ignore[arg-type]
            pages.append(page.threads)
            if page.next_cursor is None:
                return pages
            assert len(pages) < 1000, "the listing never ends"
            cursor = page.next_cursor

    async def test_unknown_thread_has_no_info(self, store: StateStore) -> None:
        assert await store.get_thread_info(_tid()) is None

    async def test_the_first_claim_owns_the_thread(self, store: StateStore) -> None:
        tid = _tid()
        first = await store.claim_thread(ThreadInfo(tid, "alice", "agent", name="Hello ü"))
        assert (first.owner, first.agent, first.name, first.archived) == ("alice", "agent",
                                                                          "Hello ü", False)
        assert first.created_at > 0 and first.updated_at >= first.created_at
        second = await store.claim_thread(ThreadInfo(tid, "bob", "other", name="Mine"))
        assert second == first
        assert await store.get_thread_info(tid) == first

    async def test_concurrent_claims_have_one_winner(self, store: StateStore) -> None:
        tid = _tid()
        claims = await asyncio.gather(*(store.claim_thread(ThreadInfo(tid, f"user-{i}", "agent"))
                                        for i in range(8)))
        assert len({c.owner for c in claims}) == 1
        stored = await store.get_thread_info(tid)
        assert stored is not None and stored.owner == claims[0].owner

    async def test_update_thread_info_changes_only_what_is_given(self, store: StateStore) -> None:
        tid = _tid()
        claimed = await store.claim_thread(ThreadInfo(tid, "alice", "agent", name="First"))
        renamed = await store.update_thread_info(tid, name="Renamed")
        assert renamed is not None
        assert (renamed.name, renamed.archived, renamed.owner, renamed.created_at) == (
            "Renamed", False, "alice", claimed.created_at)
        archived = await store.update_thread_info(tid, archived=True, updated_at=claimed.created_at + 5)
        assert archived is not None
        assert (archived.name, archived.archived, archived.updated_at) == (
            "Renamed", True, claimed.created_at + 5)
        assert await store.get_thread_info(tid) == archived
        assert await store.update_thread_info(_tid(), name="x") is None

    async def test_listing_shows_only_the_owners_threads_newest_first(self, store: StateStore) -> None:
        alice, bob = f"alice-{uuid.uuid4().hex}", f"bob-{uuid.uuid4().hex}"
        mine = [await store.claim_thread(ThreadInfo(_tid(), alice, "agent", created_at=100.0 + i))
                for i in range(3)]
        await store.claim_thread(ThreadInfo(_tid(), bob, "agent", created_at=200.0))
        page = await store.list_threads(alice)
        assert [i.thread_id for i in page.threads] == [i.thread_id for i in reversed(mine)]
        assert page.next_cursor is None
        assert [i.owner for i in (await store.list_threads(bob)).threads] == [bob]
        assert (await store.list_threads(f"nobody-{uuid.uuid4().hex}")).threads == []

    async def test_listing_per_agent(self, store: StateStore) -> None:
        owner = f"owner-{uuid.uuid4().hex}"
        a = await store.claim_thread(ThreadInfo(_tid(), owner, "a"))
        b = await store.claim_thread(ThreadInfo(_tid(), owner, "b"))
        assert [i.thread_id for i in (await store.list_threads(owner, agent="a")).threads] == [a.thread_id]
        assert [i.thread_id for i in (await store.list_threads(owner, agent="b")).threads] == [b.thread_id]
        assert len((await store.list_threads(owner)).threads) == 2

    async def test_pagination_over_250_threads_sees_each_once_in_order(self, store: StateStore) -> None:
        owner = f"owner-{uuid.uuid4().hex}"
        # Groups of threads created in the same instant: the cursor must break ties.
        for i in range(250):
            await store.claim_thread(ThreadInfo(_tid(), owner, "agent", created_at=1000.0 + i // 4))
        pages = await self._all_pages(store, owner, 7)
        assert [len(p) for p in pages[:-1]] == [7] * (len(pages) - 1) and 1 <= len(pages[-1]) <= 7
        listed = [info for page in pages for info in page]
        assert len(listed) == 250 and len({i.thread_id for i in listed}) == 250
        keys = [(i.created_at, i.thread_id) for i in listed]
        assert keys == sorted(keys, reverse=True)

    async def test_pagination_is_stable_while_threads_are_added(self, store: StateStore) -> None:
        owner = f"owner-{uuid.uuid4().hex}"
        old = [await store.claim_thread(ThreadInfo(_tid(), owner, "agent", created_at=10.0 + i))
               for i in range(10)]
        first = await store.list_threads(owner, limit=5)
        await store.claim_thread(ThreadInfo(_tid(), owner, "agent", created_at=99.0))
        await store.update_thread_info(old[0].thread_id, updated_at=500.0)
        rest = await store.list_threads(owner, limit=5, cursor=first.next_cursor)
        seen = [i.thread_id for i in first.threads + rest.threads]
        assert seen == [i.thread_id for i in reversed(old)]

    async def test_archived_threads_are_listed_only_when_asked(self, store: StateStore) -> None:
        owner = f"owner-{uuid.uuid4().hex}"
        kept = await store.claim_thread(ThreadInfo(_tid(), owner, "agent", created_at=1.0))
        gone = await store.claim_thread(ThreadInfo(_tid(), owner, "agent", created_at=2.0))
        await store.update_thread_info(gone.thread_id, archived=True)
        assert [i.thread_id for i in (await store.list_threads(owner)).threads] == [kept.thread_id]
        both = await store.list_threads(owner, include_archived=True)
        assert [i.thread_id for i in both.threads] == [gone.thread_id, kept.thread_id]

    async def test_a_cursor_the_store_did_not_give_is_refused(self, store: StateStore) -> None:
        with pytest.raises(InvalidCursorError):
            await store.list_threads("owner", cursor="not a cursor")

    async def test_deleting_a_thread_removes_everything(self, store: StateStore) -> None:
        owner, tid = f"owner-{uuid.uuid4().hex}", _tid()
        await store.claim_thread(ThreadInfo(tid, owner, "a"))
        await store.save_thread(ThreadRecord(tid, "a", state={"x": 1},
                                             messages=[{"id": "m", "role": "user", "content": "hi"}]))
        await store.save_thread(ThreadRecord(tid, "b", state={"y": 2}))
        await store.append_events(tid, "r1", [_ev(1), _ev(2)])
        await store.delete_thread(tid)
        assert await store.get_thread_info(tid) is None
        assert await store.get_thread(tid, "a") is None and await store.get_thread(tid, "b") is None
        assert await store.get_events(tid) == []
        assert (await store.list_threads(owner, include_archived=True)).threads == []
        # The id is free again: a new claim makes a new thread.
        again = await store.claim_thread(ThreadInfo(tid, "someone-else", "a"))
        assert again.owner == "someone-else"

    # -- live relay (optional) -----------------------------------------------------------------

    @staticmethod
    def _needs_live_relay(store: StateStore) -> None:
        if not store.supports_live_relay:
            pytest.skip("this store does not relay live runs")

    @staticmethod
    async def _follow(store: StateStore, thread_id: str) -> list[LiveBatch]:
        return [batch async for batch in store.follow_live(thread_id) if batch.events or batch.final]

    @staticmethod
    async def _joined(store: StateStore, thread_id: str
                      ) -> tuple[LiveBatch, asyncio.Future[list[LiveBatch]]]:
        """Join the live run: its first batch now, the rest (a future) as it comes."""
        follow = store.follow_live(thread_id)
        first = await asyncio.wait_for(anext(follow), timeout=10)

        async def rest() -> list[LiveBatch]:
            try:
                return [first, *[b async for b in follow if b.events or b.final]]
            finally:
                await follow.aclose()

        return first, asyncio.ensure_future(rest())

    async def test_live_relay_of_an_idle_thread_yields_nothing(self, store: StateStore) -> None:
        self._needs_live_relay(store)
        assert await self._follow(store, _tid()) == []

    async def test_live_relay_follows_a_run_from_its_start_to_its_final_batch(
            self, store: StateStore) -> None:
        self._needs_live_relay(store)
        tid = _tid()
        lease = await store.acquire_run_lock(tid, "r1", 10)
        assert lease is not None
        await store.publish_live(tid, "r1", [_ev(0), _ev(1)], final=False)
        await store.publish_live(tid, "r1", [_ev(2)], final=False)
        # A follower joining mid-run gets the start, then the tail as it comes.
        first, follower = await self._joined(store, tid)
        assert first.run_id == "r1" and first.events[0] == _ev(0)
        await store.publish_live(tid, "r1", [_ev(3), _ev(4)], final=False)
        await store.publish_live(tid, "r1", [_ev(5)], final=True)
        batches = await asyncio.wait_for(follower, timeout=10)
        assert {b.run_id for b in batches} == {"r1"}
        assert [e for b in batches for e in b.events] == [_ev(i) for i in range(6)]
        assert batches[-1].final and not any(b.final for b in batches[:-1])
        await lease.release()

    async def test_live_relay_ends_with_an_empty_final_batch(self, store: StateStore) -> None:
        self._needs_live_relay(store)
        tid = _tid()
        lease = await store.acquire_run_lock(tid, "r1", 10)
        assert lease is not None
        await store.publish_live(tid, "r1", [_ev(0)], final=False)
        _, follower = await self._joined(store, tid)
        await lease.release()
        await store.publish_live(tid, "r1", [], final=True)  # a cancelled run: no terminal event
        batches = await asyncio.wait_for(follower, timeout=10)
        assert [e for b in batches for e in b.events] == [_ev(0)]
        assert batches[-1].final

    async def test_live_relay_of_a_finished_run_yields_nothing(self, store: StateStore) -> None:
        self._needs_live_relay(store)
        tid = _tid()
        lease = await store.acquire_run_lock(tid, "r1", 10)
        assert lease is not None
        await store.publish_live(tid, "r1", [_ev(0)], final=False)
        await store.publish_live(tid, "r1", [_ev(1)], final=True)
        await lease.release()
        assert await self._follow(store, tid) == []

    async def test_live_relay_of_a_new_run_starts_afresh(self, store: StateStore) -> None:
        self._needs_live_relay(store)
        tid = _tid()
        first = await store.acquire_run_lock(tid, "r1", 10)
        assert first is not None
        await store.publish_live(tid, "r1", [_ev(0)], final=False)
        await store.publish_live(tid, "r1", [_ev(1)], final=True)
        await first.release()
        second = await store.acquire_run_lock(tid, "r2", 10)
        assert second is not None
        await store.publish_live(tid, "r2", [_ev(10)], final=False)
        _, follower = await self._joined(store, tid)
        await store.publish_live(tid, "r2", [_ev(11)], final=True)
        batches = await asyncio.wait_for(follower, timeout=10)
        assert {b.run_id for b in batches} == {"r2"}
        assert [e for b in batches for e in b.events] == [_ev(10), _ev(11)]
        await second.release()

    async def test_live_relay_of_a_run_reusing_the_last_runs_id_starts_afresh(
            self, store: StateStore) -> None:
        """Run ids come from clients: a run with the id of the thread's previous run gets a
        relay of its own, and a follower sees it from its first batch, not the previous run's
        batches."""
        self._needs_live_relay(store)
        tid = _tid()
        first = await store.acquire_run_lock(tid, "same", 10)
        assert first is not None
        await store.publish_live(tid, "same", [_ev(0)], final=False)
        await store.publish_live(tid, "same", [_ev(1)], final=True)
        await first.release()
        second = await store.acquire_run_lock(tid, "same", 10)
        assert second is not None
        await store.publish_live(tid, "same", [_ev(10)], final=False)
        joined, follower = await self._joined(store, tid)
        assert joined.events == [_ev(10)] and not joined.final
        await store.publish_live(tid, "same", [_ev(11)], final=True)
        batches = await asyncio.wait_for(follower, timeout=10)
        assert [e for b in batches for e in b.events] == [_ev(10), _ev(11)]
        assert batches[-1].final
        await second.release()

    async def test_live_relay_names_the_agent_of_the_run(self, store: StateStore) -> None:
        """With ``live_relay_by_agent``, a follower learns whose run it is (AG-UI ``/connect``
        on another agent must not follow it)."""
        self._needs_live_relay(store)
        if not store.live_relay_by_agent:
            pytest.skip("this store does not name the agent of a relayed run")
        tid = _tid()
        lease = await store.acquire_run_lock(tid, "r1", 10)
        assert lease is not None
        publish: Any = store.publish_live
        await publish(tid, "r1", [_ev(0)], final=False, agent="agent-a")
        first, follower = await self._joined(store, tid)
        assert (first.run_id, first.agent) == ("r1", "agent-a")
        await publish(tid, "r1", [_ev(1)], final=True, agent="agent-a")
        batches = await asyncio.wait_for(follower, timeout=10)
        assert {b.agent for b in batches} == {"agent-a"}
        await lease.release()

    async def test_live_relay_keeps_threads_apart(self, store: StateStore) -> None:
        self._needs_live_relay(store)
        one, two = _tid(), _tid()
        lease = await store.acquire_run_lock(one, "r1", 10)
        assert lease is not None
        await store.publish_live(one, "r1", [_ev(0)], final=False)
        assert await self._follow(store, two) == []
        await store.publish_live(one, "r1", [], final=True)
        await lease.release()

    async def test_live_relay_sends_keep_alives_while_the_run_is_quiet(
            self, store: StateStore) -> None:
        self._needs_live_relay(store)
        tid = _tid()
        lease = await store.acquire_run_lock(tid, "r1", 10)
        assert lease is not None
        await store.publish_live(tid, "r1", [_ev(0)], final=False)
        follow = store.follow_live(tid, idle_timeout=0.05)
        try:
            first = await asyncio.wait_for(anext(follow), timeout=10)
            assert first.events == [_ev(0)]
            quiet = await asyncio.wait_for(anext(follow), timeout=10)
            assert (quiet.run_id, quiet.events, quiet.final) == ("r1", [], False)
        finally:
            await follow.aclose()
        await store.publish_live(tid, "r1", [], final=True)
        await lease.release()

    async def test_live_relay_follower_ends_when_the_run_is_gone_without_a_final_batch(
            self, store: StateStore) -> None:
        """The run's process died: its lock is gone and no final batch will come."""
        self._needs_live_relay(store)
        tid = _tid()
        lease = await store.acquire_run_lock(tid, "r1", 10)
        assert lease is not None
        await store.publish_live(tid, "r1", [_ev(0)], final=False)
        _, follower = await self._joined(store, tid)
        await lease.release()
        batches = await asyncio.wait_for(follower, timeout=60)
        assert [e for b in batches for e in b.events] == [_ev(0)]


@pytest.mark.anyio
class ProviderContract:
    """The behaviour of every :class:`~copilotkit_runtime.providers.AgentProvider`.

    Supply a ``provider`` fixture yielding a started provider. Override :meth:`make_request`
    when the agent needs a particular input.
    """

    prompt: str = "hello"

    @pytest.fixture
    def anyio_backend(self) -> str:
        """The suite runs on asyncio, whatever the project's own pytest setup."""
        return "asyncio"

    def make_request(self, provider: AgentProvider, thread_id: str | None = None) -> RunRequest:
        agent = provider.agents()[0].name
        return run_request(agent, self.prompt, thread_id=thread_id)

    async def _run(self, provider: AgentProvider, request: RunRequest) -> list[BaseEvent]:
        validator = StreamValidator(request.thread_id, request.run_id)
        out: list[BaseEvent] = []
        async for event in provider.run(request):
            out.extend(validator.feed(event))  # raises on an invalid stream
            if validator.finished:
                break
        out.extend(validator.finish())
        return out

    async def test_lists_at_least_one_named_agent(self, provider: AgentProvider) -> None:
        agents = provider.agents()
        assert agents, "a provider must serve at least one agent"
        assert all(a.name for a in agents)
        assert len({a.name for a in agents}) == len(agents)

    async def test_a_run_is_a_valid_event_stream(self, provider: AgentProvider) -> None:
        events = await self._run(provider, self.make_request(provider))
        assert events[0].type is EventType.RUN_STARTED
        assert events[-1].type is EventType.RUN_FINISHED, events[-1]
        assert sum(e.type in (EventType.RUN_FINISHED, EventType.RUN_ERROR) for e in events) == 1

    async def test_a_run_produces_output(self, provider: AgentProvider) -> None:
        events = await self._run(provider, self.make_request(provider))
        produced = {EventType.TEXT_MESSAGE_CONTENT, EventType.TOOL_CALL_START,
                    EventType.STATE_SNAPSHOT, EventType.STATE_DELTA, EventType.MESSAGES_SNAPSHOT}
        assert any(e.type in produced for e in events), [e.type for e in events]

    async def test_two_runs_on_one_thread(self, provider: AgentProvider) -> None:
        tid = f"thread-{uuid.uuid4().hex}"
        for _ in range(2):
            events = await self._run(provider, self.make_request(provider, tid))
            assert events[-1].type is EventType.RUN_FINISHED

    async def test_closing_the_stream_early_leaves_no_task(self, provider: AgentProvider) -> None:
        before = asyncio.all_tasks()
        stream = provider.run(self.make_request(provider))
        async for _ in stream:
            break
        await stream.aclose()  # type: ignore[attr-defined]
        await asyncio.sleep(0.05)
        leftover = [t for t in asyncio.all_tasks() - before if not t.done()]
        assert leftover == [], leftover

    # -- tools, cancellation, state (optional abilities skip) -------------------------------

    #: a prompt under which the agent calls the offered :attr:`tool` (None: tools are skipped)
    tool_prompt: str | None = None
    #: the frontend tool offered with :attr:`tool_prompt`
    tool: Tool = Tool(name="contract_tool", description="A tool of the contract suite: call it.",
                      parameters={"type": "object", "properties": {}})
    #: a starting state the agent keeps in the state it reports (None: skipped)
    starting_state: dict[str, Any] | None = None

    def _needs_tools(self) -> str:
        if self.tool_prompt is None:
            pytest.skip("set tool_prompt to a prompt under which the agent calls `tool`")
        return self.tool_prompt

    async def test_calls_an_offered_frontend_tool(self, provider: AgentProvider) -> None:
        prompt = self._needs_tools()
        agent = provider.agents()[0].name
        events = await self._run(provider, run_request(agent, prompt, tools=[self.tool]))
        starts = [e for e in events if e.type is EventType.TOOL_CALL_START]
        assert [e.tool_call_name for e in starts] == [self.tool.name]  # type: ignore[attr-defined]
        args = "".join(e.delta for e in events if e.type is EventType.TOOL_CALL_ARGS  # type: ignore[attr-defined]
                       and e.tool_call_id == starts[0].tool_call_id)  # type: ignore[attr-defined]
        assert isinstance(json.loads(args or "{}"), dict), args
        assert events[-1].type is EventType.RUN_FINISHED

    async def test_continues_after_the_frontend_tool_result(self, provider: AgentProvider) -> None:
        """The round trip: the frontend ran the tool; the next run carries its result."""
        prompt = self._needs_tools()
        agent = provider.agents()[0].name
        tid = f"thread-{uuid.uuid4().hex}"
        first = run_request(agent, prompt, thread_id=tid, tools=[self.tool])
        events = await self._run(provider, first)
        start = next(e for e in events if e.type is EventType.TOOL_CALL_START)
        call_id = start.tool_call_id  # type: ignore[attr-defined]
        messages = [*first.messages,
                    AssistantMessage(id=f"msg-{uuid.uuid4().hex}", tool_calls=[ToolCall(
                        id=call_id, type="function",
                        function=FunctionCall(name=self.tool.name, arguments="{}"))]),
                    ToolMessage(id=f"msg-{uuid.uuid4().hex}", tool_call_id=call_id,
                                content="contract tool result")]
        second = await self._run(provider, run_request(agent, None, thread_id=tid,
                                                       messages=messages, tools=[self.tool]))
        assert second[-1].type is EventType.RUN_FINISHED, second[-1]
        answered = {EventType.TEXT_MESSAGE_CONTENT, EventType.MESSAGES_SNAPSHOT,
                    EventType.STATE_SNAPSHOT, EventType.TOOL_CALL_START}
        assert any(e.type in answered for e in second), [e.type for e in second]

    async def test_cancelling_a_run_midway_leaves_no_task(self, provider: AgentProvider) -> None:
        """The consuming task is cancelled while the run is under way (a client went away)."""
        before = asyncio.all_tasks()
        request = self.make_request(provider)
        started = asyncio.Event()

        async def consume() -> None:
            async for _ in provider.run(request):
                started.set()

        task = asyncio.ensure_future(consume())
        waiter = asyncio.ensure_future(started.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.05)
        leftover = [t for t in asyncio.all_tasks() - before if not t.done()]
        assert leftover == [], leftover
        # The provider is still usable on the same thread.
        again = await self._run(provider, self.make_request(provider, request.thread_id))
        assert again[-1].type is EventType.RUN_FINISHED

    async def test_the_starting_state_is_honoured(self, provider: AgentProvider) -> None:
        if self.starting_state is None:
            pytest.skip("set starting_state to a state the agent keeps")
        agent = provider.agents()[0].name
        request = run_request(agent, self.prompt, state=dict(self.starting_state))
        events = await self._run(provider, request)
        snapshots = [e.snapshot for e in events if e.type is EventType.STATE_SNAPSHOT]  # type: ignore[attr-defined]
        if not snapshots:
            pytest.skip("the agent reports no state")
        assert {k: snapshots[-1].get(k) for k in self.starting_state} == self.starting_state

    async def test_load_thread_of_unknown_thread(self, provider: AgentProvider) -> None:
        agent = provider.agents()[0].name
        snapshot = await provider.load_thread(agent, f"thread-{uuid.uuid4().hex}")
        assert snapshot is None or snapshot.exists is False


@pytest.mark.anyio
class GuardrailContract:
    """The behaviour of every :class:`~copilotkit_runtime.guardrails.Guardrail`.

    Supply a ``guardrail`` fixture (an instance). Set :attr:`blocked_prompt` to an input it
    refuses (and :attr:`blocked_output` to an output it refuses, if it checks output); the
    tests of what is not set skip.
    """

    #: an input the guardrail lets through
    allowed_prompt: str = "hello"
    #: an input the guardrail refuses (None: the blocking tests skip)
    blocked_prompt: str | None = None
    #: an assistant text the guardrail lets through
    allowed_output: str = "Hello! How can I help?"
    #: an assistant text it refuses (None: skipped; needs ``checks_output = True``)
    blocked_output: str | None = None

    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"

    def _blocked(self) -> str:
        if self.blocked_prompt is None:
            pytest.skip("set blocked_prompt to an input the guardrail refuses")
        return self.blocked_prompt

    async def test_an_ordinary_request_is_allowed(self, guardrail: Guardrail) -> None:
        assert await guardrail.check_input(run_request("agent", self.allowed_prompt)) is None

    async def test_a_request_without_user_text_does_not_fail(self, guardrail: Guardrail) -> None:
        decision = await guardrail.check_input(run_request("agent", None))
        assert decision is None or isinstance(decision, GuardrailDecision)

    async def test_a_refusal_has_a_reason_for_the_user(self, guardrail: Guardrail) -> None:
        decision = await guardrail.check_input(run_request("agent", self._blocked()))
        assert isinstance(decision, GuardrailDecision), decision
        assert decision.reason.strip(), "the reason is shown to the user: say why"

    async def test_concurrent_checks_keep_their_answers(self, guardrail: Guardrail) -> None:
        blocked = self._blocked()
        prompts = [self.allowed_prompt, blocked] * 10
        decisions = await asyncio.gather(*(guardrail.check_input(run_request("agent", p))
                                           for p in prompts))
        assert [d is None for d in decisions] == [p == self.allowed_prompt for p in prompts]

    async def test_an_ordinary_output_is_allowed(self, guardrail: Guardrail) -> None:
        request = run_request("agent", self.allowed_prompt)
        assert await guardrail.check_output(self.allowed_output, request) is None

    async def test_a_refused_output_has_a_reason(self, guardrail: Guardrail) -> None:
        if self.blocked_output is None:
            pytest.skip("set blocked_output to an assistant text the guardrail refuses")
        assert type(guardrail).checks_output, "set checks_output = True, or the engine skips it"
        decision = await guardrail.check_output(self.blocked_output,
                                                run_request("agent", self.allowed_prompt))
        assert isinstance(decision, GuardrailDecision) and decision.reason.strip()


@pytest.mark.anyio
class MiddlewareContract:
    """The behaviour of every :class:`~copilotkit_runtime.middleware.RequestMiddleware`, in a
    real runtime (a scripted agent named ``agent``) driven over HTTP by :class:`RuntimeClient`.

    Supply a ``middleware`` fixture (an instance). Override :meth:`allowed_headers` with the
    headers of a request it lets through (a valid token...), :meth:`refused_headers` with
    those of one it refuses (None: the refusal tests skip).
    """

    @pytest.fixture
    def anyio_backend(self) -> str:
        return "asyncio"

    def allowed_headers(self) -> dict[str, str]:
        return {}

    def refused_headers(self) -> dict[str, str] | None:
        return None

    @pytest.fixture
    async def client(self, middleware: RequestMiddleware, tmp_path: Path
                     ) -> AsyncIterator[RuntimeClient]:
        plugin = SimpleNamespace(
            register_middleware=hookimpl(lambda registry: registry.add("contract", middleware)))
        runtime = make_runtime({"agents": {"agent": {"provider": "scripted"}}},
                               plugins={"scripted": scripted_plugin, "contract-middleware": plugin},
                               tmp_path=tmp_path)
        async with RuntimeClient(runtime) as client:
            yield client

    async def test_an_allowed_run_reaches_the_agent(self, client: RuntimeClient) -> None:
        events = await client.run("agent", "hello", headers=self.allowed_headers())
        assert events[-1]["type"] == "RUN_FINISHED", events[-1]
        provider = client.runtime.providers["agent"]
        assert isinstance(provider, ScriptedProvider) and len(provider.requests) == 1
        if getattr(client.runtime.middleware[0], "authenticates_users", False):
            assert provider.requests[0].principal is not None, "no principal reached the agent"

    async def test_an_allowed_graphql_request_is_answered(self, client: RuntimeClient) -> None:
        answer = await client.graphql("{ availableAgents { agents { name } } }",
                                      headers=self.allowed_headers())
        assert answer.get("errors") is None, answer
        assert [a["name"] for a in answer["data"]["availableAgents"]["agents"]] == ["agent"]

    async def test_a_refused_request_is_a_client_error_on_every_protocol(
            self, client: RuntimeClient) -> None:
        refused = self.refused_headers()
        if refused is None:
            pytest.skip("override refused_headers() with the headers of a refused request")
        base = client.base_path
        body = client.run_body("hello")
        for method, path, payload in (
                ("POST", f"{base}/agent/agent/run", body),
                ("GET", f"{base}/info", None),
                ("POST", base, {"query": "{ availableAgents { agents { name } } }"})):
            response = await client.http.request(method, path, json=payload, headers=refused)
            assert 400 <= response.status_code < 500, (path, response.status_code)
            assert response.json(), "a refusal says why, as JSON"
        provider = client.runtime.providers["agent"]
        assert isinstance(provider, ScriptedProvider) and provider.requests == []
