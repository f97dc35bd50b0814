"""Running a CrewAI kickoff in its own thread and carrying what it does to the runtime's loop.

Every kickoff runs in a dedicated thread with its own event loop. CrewAI code is largely
synchronous (crews, ``litellm.completion``, tools) and even ``async`` flow methods often call
blocking APIs; in the runtime's loop that would stall every other request. The thread talks to
the provider through a :class:`RunChannel`:

* CrewAI events reach the channel through a *stream sink* (``crewai.events.stream_context``),
  which CrewAI calls synchronously, in the emitting thread, for events emitted in this
  kickoff's context (copied into the threads CrewAI starts). Runs never see each other's events.
* The helpers of :mod:`copilotkit_provider_crewai.sdk` find the channel through a context
  variable set in the same context.
* Items are handed to the runtime loop with ``call_soon_threadsafe`` (order kept).

Cancellation (client disconnect or stop): the provider stops reading at once and calls
:meth:`RunChannel.cancel`. That cancels the kickoff's task on its loop (effective at the flow's
next ``await``) and makes the sink raise :class:`KickoffCancelled` at the next CrewAI event, so
synchronous work (a crew between tasks, an LLM stream between chunks) stops there too. Code that
emits no events and never awaits (a long ``time.sleep`` in a step) runs to its end in the
background; whatever it produces then is discarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from ag_ui.core import BaseEvent

log = logging.getLogger("copilotkit_provider_crewai")


class KickoffCancelled(BaseException):
    """Raised inside a kickoff whose run was cancelled.

    A ``BaseException`` so that CrewAI's and user code's ``except Exception`` handlers (retries,
    error events) let it through, the way they let ``asyncio.CancelledError`` through.
    """


_current: contextvars.ContextVar[RunChannel | None] = contextvars.ContextVar(
    "copilotkit_crewai_run", default=None)


def current_channel() -> RunChannel | None:
    """The channel of the kickoff running in this context, if any."""
    return _current.get()


class RunChannel:
    """A thread-safe, one-way pipe from a kickoff thread to the provider's ``run``.

    Items are tuples: ``("crewai", source, event)``, ``("agui", event)``, ``("done", value)``,
    ``("error", exception)``, ``("ask", question)`` (a ``Flow.ask()`` waiting for an answer).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, *, root: Any = None) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        self.cancelled = threading.Event()
        self.root = root
        self.exit_requested = False
        self.current_step: str | None = None
        self.question: Any = None  # a Flow.ask() waiting for its answer (asking.Question)
        self._kickoff_loop: asyncio.AbstractEventLoop | None = None
        self._kickoff_task: asyncio.Task[Any] | None = None
        self._lock = threading.Lock()

    # -- kickoff side (any thread) --------------------------------------------------------------

    def put(self, *item: Any) -> None:
        if self.cancelled.is_set():
            raise KickoffCancelled()
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the runtime's loop is closed: nobody is listening any more
            self.cancelled.set()
            raise KickoffCancelled() from None

    def emit(self, events: list[BaseEvent] | BaseEvent) -> None:
        """Send AG-UI events (from the SDK helpers) to the client."""
        for event in events if isinstance(events, list) else [events]:
            self.put("agui", event)

    def sink(self, source: Any, event: Any) -> None:
        """The CrewAI stream sink of this kickoff."""
        self.put("crewai", source, event)

    # -- runtime side --------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop the kickoff as soon as it lets us (see the module docstring)."""
        self.cancelled.set()
        question = self.question
        if question is not None:
            question.answer.cancel()
        with self._lock:
            loop, task = self._kickoff_loop, self._kickoff_task
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # its loop closed in the meantime
                loop.call_soon_threadsafe(task.cancel)

    # -- running -------------------------------------------------------------------------------

    def start(self, make: Callable[[], Awaitable[Any]], *, name: str,
              suppress_console: bool = True) -> threading.Thread:
        """Run ``make()`` (a coroutine factory) in a new thread; report to this channel."""
        thread = threading.Thread(target=self._thread_main, args=(make, suppress_console),
                                  name=name, daemon=True)
        thread.start()
        return thread

    def _thread_main(self, make: Callable[[], Awaitable[Any]], suppress_console: bool) -> None:
        from crewai.events.stream_context import add_stream_sink

        _current.set(self)
        add_stream_sink(self.sink)
        if suppress_console:
            from crewai_core.printer import set_suppress_console_output

            set_suppress_console_output(True)
        try:
            value = asyncio.run(self._main(make))
        except (KickoffCancelled, asyncio.CancelledError):
            log.debug("kickoff cancelled")
            return
        except BaseException as exc:  # reported to the run, which fails with it
            self._report("error", exc)
            return
        self._report("done", value)

    async def _main(self, make: Callable[[], Awaitable[Any]]) -> Any:
        with self._lock:
            self._kickoff_loop = asyncio.get_running_loop()
            self._kickoff_task = asyncio.current_task()
        if self.cancelled.is_set():
            raise KickoffCancelled()
        try:
            return await make()
        finally:
            with self._lock:
                self._kickoff_task = None

    def _report(self, *item: Any) -> None:
        if self.cancelled.is_set():
            return
        with contextlib.suppress(RuntimeError):  # the runtime's loop is gone
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)


def bind_foreign_helpers(flow: Any) -> None:
    """Let helpers written for other runtimes find this kickoff's flow.

    ``ag_ui_crewai.sdk`` (``copilotkit_stream``, ``copilotkit_emit_state``, ...) emits its
    AG-UI events on CrewAI's event bus with the flow it reads from its own context variable,
    which its endpoint sets; without it they still reach this kickoff's stream sink, but set
    here they carry the flow as their source, exactly as under ag_ui_crewai's endpoint. Called
    in the kickoff's context, so it reaches the tasks and threads of this kickoff only.
    """
    try:
        from ag_ui_crewai.context import flow_context
    except ImportError:
        return
    flow_context.set(flow)
