"""The live relay: a run's events published through the store while it goes on, and followed
from other processes.

When the store relays live runs (``StateStore.supports_live_relay`` and ``[store] live_relay``),
each run gets one more reader, :func:`publish_run`, which writes each batch of the run's event
log to the store. It is a reader like any other: it never starts, holds or fails the run; a
store error stops only the relay (logged), and followers elsewhere then find the run in the
thread's history once it is saved.

:func:`follow_remote` is the other side: the batches of a run going on in another process,
as :meth:`StateStore.follow_live` yields them, until the run's final batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .errors import CopilotKitRuntimeError, StoreError
from .events import TERMINAL_EVENT_TYPES, event_to_dict

if TYPE_CHECKING:
    from ag_ui.core import BaseEvent

    from .contracts import RunRequest
    from .signals import Signal
    from .stores import LiveBatch, StateStore

log = logging.getLogger("copilotkit_runtime.relay")


class RelayedRun(Protocol):
    """What the relay reads of a run (the engine's ``Run``)."""

    request: RunRequest
    ended: Signal

    @property
    def closed(self) -> bool: ...

    def event_batches(self) -> AsyncGenerator[Sequence[BaseEvent], None]: ...


async def publish_run(run: RelayedRun, store: StateStore, interval: float) -> None:
    """Publish ``run``'s log to the store batch by batch, as it grows, ending with ``final``.

    While one write is in flight, and for ``interval`` seconds after it, the next events
    gather into the next batch: one store write per batch, at most one per interval, whatever
    the event rate (a token stream would otherwise cost a write per token).
    """
    thread_id, run_id = run.request.thread_id, run.request.run_id
    # the run's agent, for stores that keep it (AG-UI /connect follows only its own agent's)
    extra: dict[str, Any] = ({"agent": run.request.agent} if store.live_relay_by_agent else {})
    batches = run.event_batches()
    try:
        async for batch in batches:
            final = batch[-1].type in TERMINAL_EVENT_TYPES
            await store.publish_live(thread_id, run_id, [event_to_dict(e) for e in batch],
                                     final=final, **extra)
            if final:
                return
            if interval and not run.closed:
                # Let events gather, but not past the run's end: its last batch goes at
                # once, and the run is not kept in memory for nothing.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(run.ended.wait(), interval)
        # Ended without a terminal event (cancelled): tell followers it is over.
        await store.publish_live(thread_id, run_id, [], final=True, **extra)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        message = (exc.message if isinstance(exc, CopilotKitRuntimeError)
                   else f"{type(exc).__name__}: {exc}")
        log.warning("stopped relaying run %s of thread %s live: %s (the run goes on; "
                    "other instances see it once it is saved)", run_id, thread_id, message)
        # Followers should end now rather than wait for a run they can no longer see.
        with contextlib.suppress(Exception):
            await store.publish_live(thread_id, run_id, [], final=True, **extra)
    finally:
        await batches.aclose()


async def follow_remote(batches: AsyncGenerator[LiveBatch, None], first: LiveBatch,
                        thread_id: str) -> AsyncIterator[list[dict[str, Any]]]:
    """A run of another process, relayed by the store, batch by batch (an empty batch is a
    keep-alive). If the store fails, the stream ends without a terminal event: the run itself
    goes on, and a reconnect replays it."""
    try:
        batch: LiveBatch | None = first
        while batch is not None:
            yield batch.events
            if batch.final:
                return
            batch = await anext(batches, None)
    except StoreError as exc:
        log.warning("stopped following run %s of thread %s: %s", first.run_id, thread_id,
                    exc.message)
    finally:
        await batches.aclose()
