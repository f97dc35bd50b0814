"""The in-memory store: the default for development. Everything is gone when the process ends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from copilotkit_runtime.errors import VersionConflictError
from copilotkit_runtime.hookspecs import hookimpl
from copilotkit_runtime.signals import Signal
from copilotkit_runtime.stores import (
    LocalStopSignals,
    RunLease,
    StateStore,
    StoredEvent,
    ThreadInfo,
    ThreadPage,
    ThreadRecord,
    page_of,
)

SWEEP_EVERY = 1000  # writes with a TTL between sweeps for expired threads


class _MemoryLease(RunLease):
    def __init__(self, store: MemoryStore, thread_id: str, run_id: str, ttl: float) -> None:
        super().__init__(thread_id, run_id, ttl)
        self._store = store

    async def renew(self) -> bool:
        held = self._store._locks.get(self.thread_id)
        if held is None or held[2] is not self:
            return False
        self._store._locks[self.thread_id] = (self.run_id, time.monotonic() + self.ttl, self)
        return True

    async def release(self) -> None:
        held = self._store._locks.get(self.thread_id)
        if held is not None and held[2] is self:
            del self._store._locks[self.thread_id]
        self._store._signals.discard(self.thread_id, self.run_id)

    async def wait_for_stop(self) -> None:
        await self._store._signals.event(self.thread_id, self.run_id).wait()

    def stop_signal(self) -> Signal:
        return self._store._signals.event(self.thread_id, self.run_id)


class MemoryStore(StateStore):
    """Threads in dicts. Safe within one event loop; not shared between processes."""

    history_by_agent = True

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self._threads: dict[tuple[str, str], tuple[ThreadRecord, float | None]] = {}
        self._events: dict[str, list[StoredEvent]] = {}
        self._infos: dict[str, ThreadInfo] = {}
        self._locks: dict[str, tuple[str, float, _MemoryLease]] = {}
        self._signals = LocalStopSignals()
        self._lock = asyncio.Lock()
        self._expiring = 0

    def describe(self) -> dict[str, Any]:
        return {"type": self.type_name or "memory", "threads": len(self._threads)}

    async def get_thread(self, thread_id: str, agent: str) -> ThreadRecord | None:
        entry = self._threads.get((thread_id, agent))
        if entry is None:
            return None
        record, expires = entry
        if expires is not None and expires <= time.monotonic():
            del self._threads[(thread_id, agent)]
            return None
        return record

    async def save_thread(self, record: ThreadRecord, *, expected_version: int | None = None,
                          ttl: float | None = None) -> ThreadRecord:
        current = await self.get_thread(record.thread_id, record.agent)
        current_version = current.version if current is not None else 0
        if expected_version is not None and expected_version != current_version:
            raise VersionConflictError(
                f"Thread '{record.thread_id}' (agent '{record.agent}') is at version "
                f"{current_version}, not {expected_version}."
            )
        stored = record.evolve(version=current_version + 1, updated_at=time.time())
        expires = time.monotonic() + ttl if ttl else None
        self._threads[(record.thread_id, record.agent)] = (stored, expires)
        if expires is not None:
            self._expiring += 1
            if self._expiring >= SWEEP_EVERY:
                self._sweep()
        return stored

    def _sweep(self) -> None:
        """Drop expired threads that nobody reads again (amortised over writes)."""
        self._expiring = 0
        now = time.monotonic()
        for key in [k for k, (_, exp) in self._threads.items() if exp is not None and exp <= now]:
            del self._threads[key]

    async def delete_thread(self, thread_id: str, agent: str | None = None) -> None:
        if agent is not None:
            self._threads.pop((thread_id, agent), None)
            return
        for key in [k for k in self._threads if k[0] == thread_id]:
            del self._threads[key]
        self._events.pop(thread_id, None)
        self._infos.pop(thread_id, None)

    # -- thread info ---------------------------------------------------------------------------

    async def claim_thread(self, info: ThreadInfo) -> ThreadInfo:
        existing = self._infos.get(info.thread_id)
        if existing is not None:
            return existing
        now = time.time()
        stored = info.evolve(created_at=info.created_at or now, updated_at=info.updated_at or now)
        self._infos[info.thread_id] = stored
        return stored

    async def get_thread_info(self, thread_id: str) -> ThreadInfo | None:
        return self._infos.get(thread_id)

    async def update_thread_info(self, thread_id: str, *, name: str | None = None,
                                 archived: bool | None = None,
                                 updated_at: float | None = None) -> ThreadInfo | None:
        info = self._infos.get(thread_id)
        if info is None:
            return None
        changes: dict[str, Any] = {k: v for k, v in
                                   (("name", name), ("archived", archived),
                                    ("updated_at", updated_at)) if v is not None}
        info = info.evolve(**changes)
        self._infos[thread_id] = info
        return info

    async def list_threads(self, owner: str, *, agent: str | None = None, limit: int = 50,
                           cursor: str | None = None,
                           include_archived: bool = False) -> ThreadPage:
        infos = [i for i in self._infos.values()
                 if i.owner == owner and (agent is None or i.agent == agent)
                 and (include_archived or not i.archived)]
        return page_of(infos, limit=limit, cursor=cursor)

    async def append_events(self, thread_id: str, run_id: str,
                            events: Sequence[dict[str, Any]], *, agent: str | None = None) -> None:
        history = self._events.setdefault(thread_id, [])
        seq = history[-1].seq if history else 0
        for event in events:
            seq += 1
            history.append(StoredEvent(seq, run_id, event, agent))

    async def get_events(self, thread_id: str, *, after: int = 0, limit: int | None = None,
                         agent: str | None = None) -> list[StoredEvent]:
        out = [e for e in self._events.get(thread_id, []) if e.seq > after
               and (agent is None or e.agent is None or e.agent == agent)]
        return out[:limit] if limit is not None else out

    async def acquire_run_lock(self, thread_id: str, run_id: str, ttl: float) -> RunLease | None:
        held = self._locks.get(thread_id)
        if held is not None and held[1] > time.monotonic():
            return None  # whatever its run id: a client may reuse the running run's id
        lease = _MemoryLease(self, thread_id, run_id, ttl)
        self._locks[thread_id] = (run_id, time.monotonic() + ttl, lease)
        return lease

    async def request_stop(self, thread_id: str, run_id: str | None = None) -> bool:
        held = self._locks.get(thread_id)
        if held is None or held[1] <= time.monotonic() or (run_id is not None and held[0] != run_id):
            return False
        self._signals.fire(thread_id, held[0])
        return True


@hookimpl(trylast=True)
def register_stores(registry: Any) -> None:
    registry.add("memory", MemoryStore)
