"""A small :class:`asyncio.Event` for objects kept per open stream.

An :class:`asyncio.Event` costs about 0.75 KB (its waiter ``deque`` is allocated up front),
and a run held open keeps several (its log's wakeup, ended, saved; the store's stop signal).
:class:`Signal` has the same ``set`` / ``clear`` / ``is_set`` / ``wait`` and costs about 60
bytes until someone waits. ``wait`` also takes a timeout (one timer, no task or
``asyncio.timeout`` scope), and :meth:`Signal.future` gives a future that completes when the
signal is set, for callers that want a callback instead of a task waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


class Signal:
    """Like :class:`asyncio.Event`, bound to the running loop of each waiter."""

    __slots__ = ("_value", "_waiters")

    def __init__(self) -> None:
        self._value = False
        self._waiters: list[asyncio.Future[bool]] | None = None

    def __repr__(self) -> str:
        waiting = len(self._waiters) if self._waiters else 0
        return f"<Signal {'set' if self._value else 'unset'}, {waiting} waiting>"

    def is_set(self) -> bool:
        return self._value

    def set(self) -> None:
        if self._value:
            return
        self._value = True
        waiters, self._waiters = self._waiters, None
        if waiters:
            for fut in waiters:
                if not fut.done():
                    fut.set_result(True)

    def clear(self) -> None:
        self._value = False

    def future(self) -> asyncio.Future[bool]:
        """A future that completes (``True``) once the signal is set; already done if it is.
        Cancelling it is how to stop waiting."""
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if self._value:
            fut.set_result(True)
            return fut
        if self._waiters is None:
            self._waiters = [fut]
        else:
            self._waiters.append(fut)
        fut.add_done_callback(self._forget)
        return fut

    def _forget(self, fut: asyncio.Future[Any]) -> None:
        waiters = self._waiters
        if waiters is not None:
            with contextlib.suppress(ValueError):
                waiters.remove(fut)
            if not waiters:
                self._waiters = None

    async def wait(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Wait until the signal is set: ``True``. With ``timeout``, ``False`` once that many
        seconds have passed first (rather than raising, as :func:`asyncio.wait_for` would)."""
        if self._value:
            return True
        fut = self.future()
        if timeout is None:
            try:
                return await fut
            finally:
                fut.cancel()
        handle = asyncio.get_running_loop().call_later(timeout, _expire, fut)
        try:
            return await fut
        finally:
            handle.cancel()
            fut.cancel()


def _expire(fut: asyncio.Future[bool]) -> None:
    if not fut.done():
        fut.set_result(False)
