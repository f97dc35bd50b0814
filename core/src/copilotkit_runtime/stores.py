"""State stores: where threads, their history and their run locks live.

A plugin registers a store *type* (a subclass of :class:`StateStore`) with the
``register_stores`` hook; ``[store] type = "NAME"`` picks one and ``[store.NAME]`` holds its
options. The contract every store meets is written down as a test suite in
:mod:`copilotkit_runtime.testing` (``StoreContract``).

Semantics:

* **Threads** are keyed by ``(thread_id, agent)``. A record holds the agent's state and the
  thread's messages (AG-UI message dicts) and a ``version`` that increases by one on every
  write. :meth:`StateStore.save_thread` with ``expected_version`` is a compare-and-set: it
  raises :class:`~copilotkit_runtime.errors.VersionConflictError` when another writer got
  there first, so no update is lost. ``ttl`` (seconds) makes a thread expire.
* **History** is an append-only list of events per thread, each with a sequence number that
  increases within the thread. Stores with ``history_by_agent`` also keep which agent each run
  was of, so one agent's replay (AG-UI ``/connect``) never shows another agent's runs on the
  same thread id.
* **Run locks** make sure one thread has at most one run at a time, across every process that
  shares the store. A lock has an expiry so a crashed process does not hold a thread forever;
  the holder renews it. :meth:`StateStore.request_stop` reaches the lease's holder wherever it is.
* **Thread info** (:class:`ThreadInfo`, keyed by ``thread_id`` alone) says who owns a thread,
  which agent it was started with, its name, whether it is archived, when it was created and
  last run. :meth:`StateStore.claim_thread` creates it atomically (the first principal to run
  on a thread owns it); :meth:`StateStore.list_threads` lists one owner's threads, newest
  first (by creation: the order never changes under a paginating client), with an opaque
  cursor; :meth:`StateStore.delete_thread` without an agent removes it with everything else.
* **Live relay** (optional, ``supports_live_relay``): the events of a run in progress, published
  batch by batch by the process that runs it (:meth:`StateStore.publish_live`), can be followed
  from any other process (:meth:`StateStore.follow_live`). Stores used by one process only need
  not offer it: a reader in the run's own process follows the run directly.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from .errors import VersionConflictError
from .signals import Signal

if TYPE_CHECKING:
    from .config import Settings


class StoreOptions(BaseModel):
    """Base model of a store type's options (the ``[store.NAME]`` table)."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class ThreadRecord:
    thread_id: str
    agent: str
    state: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0
    run_id: str | None = None
    node_name: str | None = None
    updated_at: float = 0.0

    def evolve(self, **changes: Any) -> ThreadRecord:
        return replace(self, **changes)


@dataclass(frozen=True)
class ThreadInfo:
    """Who a thread belongs to and what a thread list shows of it."""

    thread_id: str
    owner: str
    agent: str
    name: str | None = None
    archived: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0

    def evolve(self, **changes: Any) -> ThreadInfo:
        return replace(self, **changes)


@dataclass(frozen=True)
class ThreadPage:
    """One page of :meth:`StateStore.list_threads`; ``next_cursor`` is ``None`` on the last."""

    threads: list[ThreadInfo]
    next_cursor: str | None = None


class InvalidCursorError(ValueError):
    """A ``cursor`` that this store did not hand out."""


def encode_cursor(info: ThreadInfo) -> str:
    """The cursor that continues a listing after ``info`` (the key the listing is ordered by)."""
    raw = json.dumps([info.created_at, info.thread_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    """``(created_at, thread_id)`` of a cursor from :func:`encode_cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, thread_id = json.loads(raw)
        if not isinstance(thread_id, str) or not isinstance(created_at, (int, float)):
            raise TypeError
        return float(created_at), thread_id
    except (ValueError, TypeError, UnicodeDecodeError):
        raise InvalidCursorError(f"'{cursor[:80]}' is not a cursor this server handed out.") from None


def listing_key(info: ThreadInfo) -> tuple[float, str]:
    """What :meth:`StateStore.list_threads` sorts by, descending."""
    return (info.created_at, info.thread_id)


def page_of(infos: Sequence[ThreadInfo], *, limit: int, cursor: str | None) -> ThreadPage:
    """A page of already filtered ``infos`` in listing order (for stores that list in Python)."""
    ordered = sorted(infos, key=listing_key, reverse=True)
    if cursor is not None:
        after = decode_cursor(cursor)
        ordered = [i for i in ordered if listing_key(i) < after]
    limit = max(1, int(limit))
    page = ordered[:limit]
    more = len(ordered) > limit
    return ThreadPage(page, encode_cursor(page[-1]) if more else None)


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    run_id: str
    event: dict[str, Any]
    #: the agent whose run it was (``None``: not recorded, e.g. written by an older release)
    agent: str | None = None


@dataclass(frozen=True)
class LiveBatch:
    """Events of a live run as :meth:`StateStore.follow_live` yields them.

    ``events`` are AG-UI event dicts (wire JSON); ``final`` marks the run's last batch (it may be
    empty: a run cancelled without a terminal event). An empty, non-final batch is a keep-alive.
    """

    run_id: str
    events: list[dict[str, Any]]
    final: bool = False
    #: the agent whose run it is (``None``: the store does not record it,
    #: ``live_relay_by_agent`` is off)
    agent: str | None = None


class RunLease(ABC):
    """The right to run on one thread, until released or expired."""

    def __init__(self, thread_id: str, run_id: str, ttl: float) -> None:
        self.thread_id = thread_id
        self.run_id = run_id
        self.ttl = ttl

    @abstractmethod
    async def renew(self) -> bool:
        """Extend the lease by ``ttl``. ``False`` means it was lost (expired and taken)."""

    @abstractmethod
    async def release(self) -> None:
        """Give the thread back. Idempotent."""

    @abstractmethod
    async def wait_for_stop(self) -> None:
        """Return once a stop has been requested for this run, from any process."""

    def stop_signal(self) -> Signal | None:
        """A :class:`~copilotkit_runtime.signals.Signal` set when a stop is requested, for a
        lease that learns of stops without polling (an in-process store): the engine then
        watches it with a callback instead of a task per run running :meth:`wait_for_stop`.
        Default ``None``: the engine runs :meth:`wait_for_stop`."""
        return None


StoreOptionsT = TypeVar("StoreOptionsT", bound=StoreOptions)


class StateStore(ABC, Generic[StoreOptionsT]):
    """Base class of store types, generic over its options model: ``class MyStore(
    StateStore[MyOptions])`` gives ``self.options`` its type."""

    Options: ClassVar[type[StoreOptions]] = StoreOptions
    type_name: ClassVar[str] = ""
    #: whether ``ttl`` on :meth:`save_thread` is honoured (contract tests skip otherwise).
    supports_ttl: ClassVar[bool] = True
    #: whether :meth:`publish_live` / :meth:`follow_live` relay live runs between processes.
    #: Off by default: the engine then publishes nothing and readers follow only the runs of
    #: their own process.
    supports_live_relay: ClassVar[bool] = False
    #: whether :meth:`append_events` and :meth:`get_events` take ``agent`` (history per agent
    #: and thread). Without it, a thread's history is one list whatever the agent.
    history_by_agent: ClassVar[bool] = False
    #: whether :meth:`publish_live` takes ``agent`` (the run's agent) and :meth:`follow_live`
    #: names it in its batches (:attr:`LiveBatch.agent`), so that AG-UI ``/connect`` on
    #: another agent does not follow the run. Without it, a relayed run is followed by every
    #: agent's ``/connect`` on the thread.
    live_relay_by_agent: ClassVar[bool] = False

    def __init__(self, options: StoreOptionsT | None = None) -> None:
        self.options: StoreOptionsT = options if options is not None else self.Options()  # type: ignore[assignment]

    def configure(self, settings: Settings) -> None:
        """Called once after construction with the runtime's settings, before :meth:`open`:
        e.g. to resolve a relative path against ``settings.data_path``. Default: nothing."""

    async def open(self) -> None:
        """Connect / create tables. Called at startup; raise a clear error if impossible."""

    async def close(self) -> None:
        """Release connections. Called at shutdown."""

    async def ping(self) -> None:
        """Raise :class:`~copilotkit_runtime.errors.StoreError` if the store is not usable."""

    def describe(self) -> dict[str, Any]:
        """Non-secret facts for ``/health`` and the CLI."""
        return {"type": self.type_name}

    @abstractmethod
    async def get_thread(self, thread_id: str, agent: str) -> ThreadRecord | None: ...

    @abstractmethod
    async def save_thread(
        self,
        record: ThreadRecord,
        *,
        expected_version: int | None = None,
        ttl: float | None = None,
    ) -> ThreadRecord:
        """Write ``record``; return it as stored (``version`` = previous + 1).

        With ``expected_version``, fail with ``VersionConflictError`` unless the stored version
        equals it (``0`` means "must not exist yet").
        """

    @abstractmethod
    async def delete_thread(self, thread_id: str, agent: str | None = None) -> None:
        """Delete one agent's record of the thread, or every record, its history and its
        :class:`ThreadInfo`."""

    # -- thread info (ownership and listing) ---------------------------------------------------

    async def claim_thread(self, info: ThreadInfo) -> ThreadInfo:
        """Create the thread's info if there is none; return the stored info either way.

        Atomic: of two processes claiming one new thread for two owners, one wins and both
        get the winner's info back. An existing info is returned unchanged. ``created_at`` /
        ``updated_at`` of ``0`` mean "now".
        """
        raise NotImplementedError(f"{type(self).__name__} does not store thread info "
                                  "(claim_thread): it cannot keep threads per user")

    async def get_thread_info(self, thread_id: str) -> ThreadInfo | None:
        """The thread's info, or ``None``."""
        raise NotImplementedError(f"{type(self).__name__} does not store thread info")

    async def update_thread_info(self, thread_id: str, *, name: str | None = None,
                                 archived: bool | None = None,
                                 updated_at: float | None = None) -> ThreadInfo | None:
        """Change the given fields (``None``: unchanged); ``None`` if there is no such thread."""
        raise NotImplementedError(f"{type(self).__name__} does not store thread info")

    async def list_threads(self, owner: str, *, agent: str | None = None, limit: int = 50,
                           cursor: str | None = None,
                           include_archived: bool = False) -> ThreadPage:
        """``owner``'s threads (only ``agent``'s, when given), newest first by ``created_at``
        (then ``thread_id``, both descending), at most ``limit``; ``cursor`` continues after
        the page that returned it. Raise :class:`InvalidCursorError` for a cursor not handed
        out by the store. Archived threads are left out unless ``include_archived``."""
        raise NotImplementedError(f"{type(self).__name__} does not list threads")

    @abstractmethod
    async def append_events(
        self, thread_id: str, run_id: str, events: Sequence[dict[str, Any]]
    ) -> None:
        """Append a run's events. Stores with ``history_by_agent`` take ``agent=`` (keyword)
        too: the agent the run was of."""

    @abstractmethod
    async def get_events(
        self, thread_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[StoredEvent]:
        """Events with ``seq > after``, oldest first. Stores with ``history_by_agent`` take
        ``agent=`` too: then only that agent's runs (and runs of no recorded agent)."""

    @abstractmethod
    async def acquire_run_lock(self, thread_id: str, run_id: str, ttl: float) -> RunLease | None:
        """Take the thread's run lock, or return ``None`` if another live run holds it."""

    @abstractmethod
    async def request_stop(self, thread_id: str, run_id: str | None = None) -> bool:
        """Ask the run holding the thread (optionally: only if it is ``run_id``) to stop.

        Return whether a run was holding the lock when asked.
        """

    # -- live relay (optional: ``supports_live_relay``) -----------------------------------------

    async def publish_live(self, thread_id: str, run_id: str, events: Sequence[dict[str, Any]],
                           *, final: bool) -> None:
        """Append a batch of the live run ``run_id``.

        The engine calls it once per batch of the run's events, in order, from the run's start
        (``events`` are AG-UI event dicts); ``final`` marks the last call for the run. The first
        batch comes while the run holds the thread's lock and makes it the thread's live run
        (replacing the previous one); the last ones may come just after the run released the
        lock. A run that lost its lock to a newer run must not disturb that run's relay. Raise
        :class:`~copilotkit_runtime.errors.StoreError` on failure (the engine then stops
        relaying that run; the run itself goes on). With :attr:`live_relay_by_agent` the
        engine passes ``agent=`` (the run's agent), to be named in :meth:`follow_live`'s
        batches.
        """

    async def follow_live(self, thread_id: str, *, idle_timeout: float | None = None
                          ) -> AsyncGenerator[LiveBatch, None]:
        """The batches of the run live on ``thread_id``, from its start, as they come.

        Ends after the run's final batch, or when the run is gone without one (its process
        died). Yields nothing when no run is live on the thread (also when the last one has
        already published its final batch). With ``idle_timeout``, an empty batch is yielded
        after that many seconds without events (for keep-alives). Raises
        :class:`~copilotkit_runtime.errors.StoreError` when the store fails.
        """
        return
        yield  # an async generator that yields nothing


async def update_thread(
    store: StateStore,
    thread_id: str,
    agent: str,
    change: Callable[[ThreadRecord], ThreadRecord],
    *,
    ttl: float | None = None,
    attempts: int = 20,
) -> ThreadRecord:
    """Read-modify-write a thread with compare-and-set, retrying on conflict."""
    for attempt in range(attempts):
        current = await store.get_thread(thread_id, agent) or ThreadRecord(thread_id, agent)
        updated = change(current)
        try:
            return await store.save_thread(updated, expected_version=current.version, ttl=ttl)
        except VersionConflictError:
            await asyncio.sleep(min(0.001 * 2**attempt, 0.05))
    raise VersionConflictError(
        f"Thread '{thread_id}' (agent '{agent}') kept changing under us: gave up after "
        f"{attempts} attempts."
    )


class LocalStopSignals:
    """In-process stop signals keyed by (thread, run): shared by the stores that live in one
    process, and by any store as the local half of a cross-process signal."""

    def __init__(self) -> None:
        self._events: dict[tuple[str, str], Signal] = {}

    def event(self, thread_id: str, run_id: str) -> Signal:
        """The run's stop signal (``wait()`` / ``set()`` / ``is_set()`` as an asyncio.Event)."""
        key = (thread_id, run_id)
        signal = self._events.get(key)
        if signal is None:
            signal = self._events[key] = Signal()
        return signal

    def fire(self, thread_id: str, run_id: str) -> None:
        self.event(thread_id, run_id).set()

    def discard(self, thread_id: str, run_id: str) -> None:
        self._events.pop((thread_id, run_id), None)


def monotonic() -> float:
    return time.monotonic()
