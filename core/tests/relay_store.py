"""A memory store with the live relay, for tests: stores built with the same ``bus`` share
everything (threads, history, locks and relays), as two processes sharing one Redis would.

It records what the engine publishes and can be told to fail or to hold a publish."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any

from copilotkit_runtime import hookimpl
from copilotkit_runtime.default_plugins.memory_store import MemoryStore
from copilotkit_runtime.errors import StoreError
from copilotkit_runtime.stores import LiveBatch, StoreOptions

BUSES: dict[str, dict[str, Any]] = {}
_SHARED = ("_threads", "_events", "_locks", "_signals", "_live", "published", "_publishes")


class RelayOptions(StoreOptions):
    bus: str = ""


@dataclass
class _Live:
    run_id: str
    agent: str | None = None
    batches: list[tuple[list[dict[str, Any]], bool]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def final(self) -> bool:
        return bool(self.batches) and self.batches[-1][1]


class LiveRelayStore(MemoryStore):
    Options = RelayOptions
    supports_live_relay = True
    live_relay_by_agent = True
    gone_grace = 0.2

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self._live: dict[str, _Live] = {}
        self.published: list[tuple[str, str, list[dict[str, Any]], bool]] = []
        self._publishes = asyncio.Condition()
        #: raise this from every publish
        self.publish_fault: BaseException | None = None
        #: hold every publish until this is set
        self.publish_gate: asyncio.Event | None = None
        bus = self.options.bus
        if bus:
            shared = BUSES.setdefault(bus, {name: getattr(self, name) for name in _SHARED})
            for name in _SHARED:
                setattr(self, name, shared[name])

    async def publish_live(self, thread_id: str, run_id: str, events: Sequence[dict[str, Any]],
                           *, final: bool, agent: str | None = None) -> None:
        if self.publish_gate is not None:
            await self.publish_gate.wait()
        if self.publish_fault is not None:
            raise self.publish_fault
        self.published.append((thread_id, run_id, list(events), final))
        async with self._publishes:
            self._publishes.notify_all()
        live = self._live.get(thread_id)
        if live is None or live.run_id != run_id or live.final:
            # a new run (a run reusing the last run's id too) gets a relay of its own
            held = self._locks.get(thread_id)
            if held is None or held[0] != run_id:
                return  # not the thread's run (any more)
            live = self._live[thread_id] = _Live(run_id, agent)
        live.batches.append((list(events), final))
        live.changed.set()

    async def published_by(self, run_id: str) -> None:
        """Wait until the run has published something."""
        async with self._publishes:
            await self._publishes.wait_for(lambda: any(p[1] == run_id for p in self.published))

    async def follow_live(self, thread_id: str, *, idle_timeout: float | None = None
                          ) -> AsyncGenerator[LiveBatch, None]:
        live = self._live.get(thread_id)
        if live is None or live.final or not live.batches:
            return
        position = 0
        quiet_since = time.monotonic()
        gone_since: float | None = None
        while True:
            if position < len(live.batches):
                ready, position = live.batches[position:], len(live.batches)
                yield LiveBatch(live.run_id, [e for events, _ in ready for e in events],
                                ready[-1][1], live.agent)
                if ready[-1][1]:
                    return
                quiet_since, gone_since = time.monotonic(), None
                continue
            live.changed.clear()
            try:
                await asyncio.wait_for(live.changed.wait(), min(0.05, idle_timeout or 0.05))
                continue
            except TimeoutError:
                pass
            now = time.monotonic()
            held = self._locks.get(thread_id)
            if held is not None and held[0] == live.run_id and held[1] > now:
                gone_since = None
            elif gone_since is None:
                gone_since = now
            elif now - gone_since >= self.gone_grace:
                return
            if idle_timeout is not None and now - quiet_since >= idle_timeout:
                quiet_since = now
                yield LiveBatch(live.run_id, [], agent=live.agent)


class BrokenRelayError(StoreError):
    pass


@hookimpl
def register_stores(registry: Any) -> None:
    registry.add("relay-memory", LiveRelayStore)
