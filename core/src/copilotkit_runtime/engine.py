"""The run lifecycle: one agent run from request to stored thread.

:meth:`Engine.start` does everything that can refuse a run before any event is sent (unknown
agent, guardrails, a busy thread) and raises for those. The :class:`Run` it returns streams the
provider's events, checked and normalised (:mod:`.stream`), and when the run ends persists the
thread (state, messages, compacted history) *before* passing on the terminal event, so a client
that saw ``RUN_FINISHED`` can rely on ``loadAgentState``.

The provider runs in its own task appending to the run's event log, which readers follow. That
keeps the consumer (an HTTP response) and the provider independent: a stop request cancels the provider and still ends the
stream properly; a client going away cancels the provider, releases the thread and leaves no
task behind.

When the store relays live runs (``StateStore.supports_live_relay`` and ``[store] live_relay``),
one more reader per run, the *relay*, publishes each batch of the log to the store, so other
processes can follow the run while it goes on. It is a reader like any other: it never starts,
holds or fails the run; a store error stops only the relay (logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ag_ui.core import BaseEvent, Context, EventType, RunErrorEvent
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from .errors import (
    AgentNotFoundError,
    CopilotKitRuntimeError,
    GuardrailBlockedError,
    ServerShuttingDownError,
    StoreError,
    ThreadBusyError,
    ThreadNotFoundError,
    TooManyMessagesError,
    VersionConflictError,
)
from .guardrails import Guardrail
from .logs import bind_log_context
from .providers import AgentInfo, AgentProvider, RunRequest, ThreadSnapshot
from .recorder import RunRecorder
from .relay import follow_remote, publish_run
from .runhooks import RunContext, RunFailure, RunHook
from .signals import Signal
from .stores import (
    LiveBatch,
    RunLease,
    StateStore,
    StoredEvent,
    ThreadInfo,
    ThreadRecord,
    update_thread,
)
from .stream import StreamValidator, StreamViolation
from .telemetry import (
    ObservedStore,
    current_observers,
    enter_span,
    exit_span,
    notify,
    run_attributes,
    tracer,
)
from .threads import ANONYMOUS_OWNER, owner_of, thread_name

if TYPE_CHECKING:
    from .config import Settings

log = logging.getLogger("copilotkit_runtime.engine")

#: Something that adds context entries to each run at its start (an MCP server's resources):
#: called with the run's request, it returns the entries for it (none when it has nothing).
ContextSource = Callable[[RunRequest], Awaitable[Sequence[Context]]]

#: most loop iterations a run's reader waits for more events before it takes a batch (while
#: the provider keeps producing; see ``Run.event_batches``)
COALESCE_STEPS = 16
#: how long deleting a thread may hold its run lock
DELETE_LOCK_SECONDS = 30.0


@dataclass(frozen=True)
class EngineOptions:
    """How the engine runs (from ``[store]``, ``[limits]`` and ``[server]``; see
    :meth:`from_settings`)."""

    #: the guardrail type that applies a request's own rules (v1 ``cloud.guardrails``)
    request_rules_guardrail: type[Guardrail] | None = None
    #: seconds a run lock lasts without renewal (renewed every third of it)
    lock_ttl: float = 10.0
    #: seconds a saved thread is kept (``None``: forever)
    thread_ttl: float | None = None
    #: keep each run's compacted events (``/connect`` replays them)
    record_events: bool = True
    #: put the exception type and message in run errors
    expose_error_details: bool = False
    #: relay live runs through the store (when it can)
    live_relay: bool = True
    #: at most one relay write per run per this many seconds
    live_relay_interval: float = 0.1
    #: most messages one run request may carry
    max_messages: int = 2_000

    @classmethod
    def from_settings(cls, settings: Settings,
                      request_rules_guardrail: type[Guardrail] | None = None) -> EngineOptions:
        store = settings.store
        return cls(request_rules_guardrail=request_rules_guardrail,
                   lock_ttl=store.lock_ttl_seconds, thread_ttl=store.thread_ttl_seconds,
                   record_events=store.record_events,
                   expose_error_details=settings.server.error_details,
                   live_relay=store.live_relay,
                   live_relay_interval=store.live_relay_interval_seconds,
                   max_messages=settings.limits.max_messages)


@dataclass(frozen=True)
class AgentEntry:
    info: AgentInfo
    provider: AgentProvider


class Engine:
    """Runs agents. Knows nothing of HTTP, GraphQL or any agent framework."""

    def __init__(
        self,
        agents: Mapping[str, AgentEntry],
        store: StateStore,
        guardrails: Sequence[Guardrail] = (),
        options: EngineOptions | None = None,
        hooks: Sequence[RunHook] = (),
    ) -> None:
        self.agents = dict(agents)
        #: run hooks (:mod:`.runhooks`), in registration order
        self.hooks = tuple(hooks)
        #: the store, each call a span (and an observation for the hooks)
        self.store: StateStore = ObservedStore(store, self.hooks)  # type: ignore[assignment]
        self.guardrails = list(guardrails)
        self.options = options if options is not None else EngineOptions()
        #: the runs in progress in this process, by (thread id, run id): run ids come from
        #: clients, and two threads may use the same one
        self.active_runs: dict[tuple[str, str], Run] = {}
        #: the same runs by thread, oldest first (a scan of all runs per start was quadratic
        #: with thousands of open streams)
        self._thread_runs: dict[str, list[Run]] = {}
        self._relays: set[asyncio.Task[None]] = set()
        #: set once the server is shutting down: no new runs (see :meth:`drain`)
        self.draining = False
        self._drain_timer: asyncio.TimerHandle | None = None
        #: added to each run's context at its start (:meth:`Runtime.add_context_source`)
        self.context_sources: list[ContextSource] = []
        #: whether the store keeps thread info (owners); a store that does not has one owner
        self.keeps_owners = type(store).claim_thread is not StateStore.claim_thread

    @property
    def relays_live(self) -> bool:
        """Whether runs are relayed live through the store (and followed from it)."""
        return self.options.live_relay and self.store.supports_live_relay

    # -- lookups -------------------------------------------------------------------------------

    def agent(self, name: str) -> AgentEntry:
        entry = self.agents.get(name)
        if entry is None:
            raise AgentNotFoundError(name, list(self.agents))
        return entry

    def agent_infos(self) -> list[AgentInfo]:
        return [entry.info for entry in self.agents.values()]

    async def thread_info(self, thread_id: str, owner: str = ANONYMOUS_OWNER) -> ThreadInfo | None:
        """The thread's info when ``owner`` may see it, ``None`` when it has none (a new
        thread, or one from a store that keeps no owners); :class:`ThreadNotFoundError` when
        it belongs to someone else."""
        if not self.keeps_owners:
            return None
        info = await self.store.get_thread_info(thread_id)
        if info is not None and info.owner != owner:
            raise ThreadNotFoundError(thread_id)
        return info

    async def visible(self, thread_id: str, owner: str) -> bool:
        """Whether ``owner`` may read what is stored of ``thread_id``. A thread without info
        (written before threads had owners) is the anonymous owner's."""
        try:
            info = await self.thread_info(thread_id, owner)
        except ThreadNotFoundError:
            return False
        return info is not None or owner == ANONYMOUS_OWNER or not self.keeps_owners

    async def load_thread(self, agent: str, thread_id: str,
                          owner: str = ANONYMOUS_OWNER) -> ThreadSnapshot:
        """The thread as ``loadAgentState`` shows it; ``exists=False`` for an unknown thread
        (and for one ``owner`` may not see)."""
        entry = self.agent(agent)
        if not await self.visible(thread_id, owner):
            return ThreadSnapshot(thread_id=thread_id, agent=agent, exists=False)
        snapshot = await entry.provider.load_thread(agent, thread_id)
        if snapshot is not None:
            return snapshot
        record = await self.store.get_thread(thread_id, agent)
        if record is None:
            return ThreadSnapshot(thread_id=thread_id, agent=agent, exists=False)
        return ThreadSnapshot(thread_id=thread_id, agent=agent, exists=True, state=record.state,
                              messages=record.messages, node_name=record.node_name,
                              run_id=record.run_id)

    # -- running -------------------------------------------------------------------------------

    async def check_input(self, request: RunRequest) -> None:
        """Apply input guardrails; raise :class:`GuardrailBlockedError` on refusal."""
        guardrails = list(self.guardrails)
        rules_type = self.options.request_rules_guardrail
        if request.guardrail_rules and rules_type is not None:
            per_request = rules_type.from_rules(request.guardrail_rules)
            if per_request is not None:
                guardrails.append(per_request)
        for guardrail in guardrails:
            decision = await guardrail.check_input(request)
            if decision is not None:
                raise GuardrailBlockedError(decision.reason, decision.guardrail or guardrail.name)

    async def add_context(self, request: RunRequest) -> None:
        """Add the context sources' entries to the request's context (after the client's
        readables). A source that fails is logged and left out: the run goes on without it."""
        if not self.context_sources:
            return
        extra: list[Context] = []
        for source in self.context_sources:
            try:
                extra.extend(await source(request))
            except Exception:
                log.exception("a context source failed for a run of %s; the run goes on "
                              "without its context", request.agent)
        if extra:
            request.input = request.input.model_copy(
                update={"context": [*request.context, *extra]})

    async def start(self, request: RunRequest, *, detached: bool = False) -> Run:
        """Prepare a run. Raises before streaming for: unknown agent, too many messages
        (:class:`TooManyMessagesError`), guardrail, busy thread.

        ``detached``: the run goes on when its reader goes away (see :class:`Run`).
        """
        entry = self.agent(request.agent)
        if self.draining:
            raise ServerShuttingDownError()
        count, limit = len(request.input.messages), self.options.max_messages
        if count > limit:
            raise TooManyMessagesError(count, limit)
        bind_log_context(agent=request.agent, thread_id=request.thread_id, run_id=request.run_id)
        context = RunContext(request)
        # The run's span lasts until the run has ended (Run._pump ends it); the store calls
        # made while preparing the run are its children.
        span = tracer.start_span("copilotkit.run", attributes=run_attributes(request))
        try:
            with trace.use_span(span, end_on_exit=False):
                for hook in self.hooks:
                    await hook.before_run(context)
                await self.check_input(request)
                await self.add_context(request)
                info = await self._claim(request)
                if self.active_run(request.thread_id) is not None:
                    # A client reusing the running run's id must not get a second run on the
                    # thread (the stores refuse it too; this answers without a store call).
                    raise ThreadBusyError(request.thread_id)
                lease = await self.store.acquire_run_lock(request.thread_id, request.run_id,
                                                          self.options.lock_ttl)
                if lease is None:
                    raise ThreadBusyError(request.thread_id)
                try:
                    record = await self.store.get_thread(request.thread_id, request.agent)
                except BaseException:
                    await lease.release()
                    raise
        except Exception as exc:
            context.outcome = "refused"
            code = getattr(exc, "code", "RUN_NOT_STARTED")
            message = exc.message if isinstance(exc, CopilotKitRuntimeError) else str(exc)
            span.set_attribute("copilotkit.outcome", "refused")
            span.set_attribute("copilotkit.error_code", code)
            span.set_status(Status(StatusCode.ERROR, message[:200]))
            span.end()
            await self._failed(context, RunFailure(code, message, exc))
            raise
        except BaseException:
            span.end()
            raise
        if record is not None and not request.input.state and record.state:
            request.input = request.input.model_copy(update={"state": dict(record.state)})
        return Run(self, entry, request, lease, record, detached=detached, info=info,
                   context=context, span=span)

    async def _failed(self, context: RunContext, failure: RunFailure) -> None:
        """A run failed: the hooks' ``on_error``, then ``run_ended`` (never raises)."""
        context.ended_at = time.monotonic()
        for hook in self.hooks:
            try:
                await hook.on_error(context, failure)
            except Exception:
                log.exception("run hook %s failed in on_error", type(hook).__name__)
        notify(self.hooks, "run_ended", context)

    async def _succeeded(self, context: RunContext, messages: list[dict[str, Any]]) -> None:
        context.ended_at = time.monotonic()
        for hook in self.hooks:
            try:
                await hook.after_run(context, messages)
            except Exception:
                log.exception("run hook %s failed in after_run", type(hook).__name__)
        notify(self.hooks, "run_ended", context)

    async def _claim(self, request: RunRequest) -> ThreadInfo | None:
        """Make the thread the principal's if it is new; refuse another owner's thread."""
        if not self.keeps_owners:
            return None
        owner = owner_of(request.principal)
        info = await self.store.claim_thread(ThreadInfo(
            request.thread_id, owner, request.agent, name=thread_name(request.input.messages)))
        if info.owner != owner:
            raise ThreadNotFoundError(request.thread_id)
        return info

    async def stream(self, request: RunRequest) -> AsyncGenerator[BaseEvent, None]:
        """``start`` and iterate in one go (errors before the first event still raise)."""
        run = await self.start(request)
        events = run.events()
        try:
            async for event in events:
                yield event
        finally:
            await events.aclose()

    async def ephemeral(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        """A run that belongs to no thread: no lock, nothing stored, nothing relayed (v2
        ``/suggest``). Checks as :meth:`start` does, before the first event (raising the same
        errors); the stream is validated and completed like any run's, and a failing
        provider ends it with ``RUN_ERROR``."""
        entry = self.agent(request.agent)
        count, limit = len(request.input.messages), self.options.max_messages
        if count > limit:
            raise TooManyMessagesError(count, limit)
        await self.check_input(request)
        await self.add_context(request)
        return self._ephemeral(entry, request)

    async def _ephemeral(self, entry: AgentEntry, request: RunRequest
                         ) -> AsyncGenerator[BaseEvent, None]:
        validator = StreamValidator(request.thread_id, request.run_id, request.input)
        agen: Any = entry.provider.run(request)
        try:
            tail: list[BaseEvent] = []
            try:
                async for event in agen:
                    for out in validator.feed(event):
                        yield out
                    if validator.finished:
                        return
                tail = validator.finish()
            except StreamViolation as exc:
                tail = validator.fail(f"Agent '{request.agent}' produced an invalid event "
                                      f"stream: {exc}", "INVALID_EVENT_STREAM")
            except Exception as exc:
                log.exception("agent %s failed in ephemeral run %s", request.agent, request.run_id)
                tail = validator.fail(self.public_error(exc, request.agent), "AGENT_ERROR")
            for out in tail:
                yield out
        finally:
            with contextlib.suppress(BaseException):
                await agen.aclose()

    async def connect(self, thread_id: str, *, idle_timeout: float | None = None,
                      agent: str | None = None, owner: str = ANONYMOUS_OWNER
                      ) -> AsyncIterator[Sequence[BaseEvent] | Sequence[dict[str, Any]]]:
        """The thread's stored history, then the live tail of a run still in progress.

        With ``agent``, only that agent's runs (history, when the store keeps it per agent,
        a live run in this process, and a run relayed from another process when the store
        names its agent: ``live_relay_by_agent``).

        Everything that can fail before the first byte (the store) raises here; the returned
        iterator yields batches: the history as event dicts, then the live run's events
        (:class:`BaseEvent` objects for a run in this process, dicts for one relayed from
        another); with ``idle_timeout``, an empty batch after that many idle seconds.

        A run in this process is followed directly. Otherwise, when the store relays live
        runs, a run going on in another process is followed through the store. Its relay is
        looked at *before* the history is read: a run saves its history before its relay says
        it has ended, so either the history holds the run (its relay is then skipped: no
        duplicate) or the relay still has all of it (nothing lost).

        Another owner's thread raises :class:`ThreadNotFoundError`; a thread ``owner`` may not
        read that has no info replays nothing, like a new thread.
        """
        if not await self.visible(thread_id, owner):
            await self.thread_info(thread_id, owner)  # raises for another owner's thread

            async def nothing() -> AsyncIterator[Sequence[dict[str, Any]]]:
                return
                yield

            return nothing()
        live = self.active_run(thread_id)
        if live is not None and agent is not None and live.request.agent != agent:
            live = None
        remote: AsyncGenerator[LiveBatch, None] | None = None
        first: LiveBatch | None = None
        try:
            if live is None and self.relays_live:
                remote = self.store.follow_live(thread_id, idle_timeout=idle_timeout)
                first = await anext(remote, None)
            history = await self._history(thread_id, agent)
            if live is not None and live.saving:
                # The run is writing its history: wait for it and read again, so that the
                # history holds it for sure, or (the write failed) the run's log is followed.
                await live.saved.wait()
                if live.in_history:
                    history = await self._history(thread_id, agent)
        except BaseException:
            if remote is not None:
                await remote.aclose()
            raise
        # Run ids come from clients and may be reused on a thread: whether the history holds
        # the live run is told by the run itself (here) or by its first events (relayed).
        follow_live = live is not None and not live.in_history
        if remote is not None and (first is None or _relayed_run_stored(first, history) or (
                agent is not None and first.agent is not None and first.agent != agent)):
            await remote.aclose()
            remote = None

        async def replay() -> AsyncIterator[Sequence[BaseEvent] | Sequence[dict[str, Any]]]:
            if history:
                yield [stored.event for stored in history]
            if live is not None:
                if follow_live:
                    async for batch in live.event_batches(idle_timeout=idle_timeout):
                        yield batch
            elif remote is not None and first is not None:
                async for events in follow_remote(remote, first, thread_id):
                    yield events

        return replay()

    async def _history(self, thread_id: str, agent: str | None) -> list[StoredEvent]:
        if agent is not None and self.store.history_by_agent:
            return await self.store.get_events(thread_id, agent=agent)  # type: ignore[call-arg]
        return await self.store.get_events(thread_id)

    async def thread_events(self, thread_id: str) -> list[StoredEvent]:
        """The thread's whole stored event history (every agent's runs), oldest first."""
        return await self._history(thread_id, None)

    async def delete_thread(self, thread_id: str) -> bool:
        """Delete everything of the thread (every agent's record, its history and info) unless
        a run holds it: ``False`` then. The thread's run lock is taken first, so no run starts
        on it while it goes, in any process."""
        lease = await self.store.acquire_run_lock(thread_id, f"delete-{uuid.uuid4().hex}",
                                                  DELETE_LOCK_SECONDS)
        if lease is None:
            return False
        try:
            await self.store.delete_thread(thread_id)
        finally:
            await lease.release()
        return True

    def active_run(self, thread_id: str) -> Run | None:
        """The run in progress on ``thread_id`` in this process, if any."""
        for run in self._thread_runs.get(thread_id, ()):
            if not run.closed:
                return run
        return None

    def _add_active(self, run: Run) -> None:
        self.active_runs[(run.thread_id, run.request.run_id)] = run
        self._thread_runs.setdefault(run.thread_id, []).append(run)

    def _drop_active(self, run: Run) -> None:
        key = (run.thread_id, run.request.run_id)
        if self.active_runs.get(key) is run:  # not a newer run reusing the id
            del self.active_runs[key]
        runs = self._thread_runs.get(run.thread_id)
        if runs is not None and run in runs:
            runs.remove(run)
            if not runs:
                del self._thread_runs[run.thread_id]

    async def stop(self, thread_id: str, run_id: str | None = None,
                   owner: str = ANONYMOUS_OWNER) -> bool:
        """Ask the run on ``thread_id`` to stop, wherever it runs. Whether one was running.
        :class:`ThreadNotFoundError` for another owner's thread."""
        if not await self.visible(thread_id, owner):
            await self.thread_info(thread_id, owner)
            return False
        return await self.store.request_stop(thread_id, run_id)

    def drain(self, grace: float) -> None:
        """The server is shutting down: refuse new runs from now on
        (:class:`ServerShuttingDownError`), and end the runs still going after ``grace``
        seconds as :meth:`close` does. Call it on the event loop; idempotent."""
        if self.draining:
            return
        self.draining = True
        log.info("shutting down: %d run(s) in progress have %.0f s to finish",
                 len(self.active_runs), grace)
        self._drain_timer = asyncio.get_running_loop().call_later(grace, self._end_runs)

    def _end_runs(self) -> list[asyncio.Task[None]]:
        ended = []
        for run in list(self.active_runs.values()):
            if run.end_for_shutdown() and run.task is not None:
                ended.append(run.task)
        return ended

    async def close(self, grace: float = 5.0) -> None:
        """End the runs in progress, each with a ``RUN_ERROR`` (``SERVER_SHUTTING_DOWN``) and
        stored like any ended run, and wait (at most ``grace`` seconds) until they have
        released their threads and their relays have published their last batch."""
        self.draining = True
        if self._drain_timer is not None:
            self._drain_timer.cancel()
        runs = self._end_runs()
        pending: set[asyncio.Task[Any]] = {*runs, *self._relays}
        if pending:
            _, pending = await asyncio.wait(pending, timeout=grace)
        if pending:
            log.warning("%d run task(s) did not end within %.1f s of shutdown; cancelling them",
                        len(pending), grace)
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=1.0)

    def _start_relay(self, run: Run) -> None:
        task = asyncio.get_running_loop().create_task(
            publish_run(run, self.store, self.options.live_relay_interval),
            name=f"copilotkit-relay-{run.request.run_id}")
        run.relay = task
        self._relays.add(task)
        task.add_done_callback(self._relays.discard)

    def public_error(self, exc: BaseException, agent: str) -> str:
        if isinstance(exc, CopilotKitRuntimeError):
            return exc.message
        if self.options.expose_error_details:
            detail = f"{type(exc).__name__}: {exc}"
            return f"Agent '{agent}' failed: {detail[:500]}"
        return f"Agent '{agent}' failed."


class Run:
    """One prepared run.

    Its events go to an append-only log that any number of readers follow
    (:meth:`event_batches`); the first reader starts the provider. When the run is not
    ``detached``, the first reader owns it: if that reader goes away, the provider is
    cancelled and the thread freed. A ``detached`` run goes on to the end without readers
    (AG-UI clients reconnect and replay), and is persisted as usual.
    """

    def __init__(self, engine: Engine, entry: AgentEntry, request: RunRequest, lease: RunLease,
                 record: ThreadRecord | None, *, detached: bool = False,
                 info: ThreadInfo | None = None, context: RunContext | None = None,
                 span: Any = None) -> None:
        self.engine = engine
        #: what run hooks see of the run
        self.context = context if context is not None else RunContext(request)
        self.span = span if span is not None else tracer.start_span(
            "copilotkit.run", attributes=run_attributes(request))
        self.info = info
        self.entry = entry
        self.request = request
        self.lease = lease
        self.record = record
        self.detached = detached
        self.outcome: str = "pending"  # success | error | stopped | cancelled
        self.task: asyncio.Task[None] | None = None
        #: the task relaying the run's events to the store, if the store relays live runs
        self.relay: asyncio.Task[None] | None = None
        self.log: list[BaseEvent] = []
        self.closed = False
        # (Signals, not asyncio.Events: a held-open run keeps these; see signals.py)
        self._wakeup = Signal()
        self.ended = Signal()  # set with ``closed``
        #: the run's history write: started, done (``saved``), and whether it stored events
        self.saving = False
        self.saved = Signal()
        self.in_history = False
        self._stopping = False
        self._shutting_down = False
        self._in_provider = False
        self._lease_lost = False
        self._lease_error = ""
        self.check_output = [g for g in engine.guardrails if g.checks_output]
        self._saved_messages: list[dict[str, Any]] = []

    @property
    def thread_id(self) -> str:
        return self.request.thread_id

    def start(self) -> None:
        """Start the provider (done by the first reader; call it to run without one)."""
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._pump())
            self.engine._add_active(self)
            if self.engine.relays_live:
                self.engine._start_relay(self)

    def end_for_shutdown(self) -> bool:
        """End the run now because the server is shutting down: its stream gets a
        ``RUN_ERROR`` (``SERVER_SHUTTING_DOWN``) and it is stored (history, and the thread's
        messages so far). Whether there was a running provider to end."""
        if self.task is None or self.task.done() or not self._in_provider:
            return False  # not started, or already ending (storing its result)
        self._shutting_down = True
        self.task.cancel()
        return True

    async def abandon(self) -> None:
        """The reader went away before reading anything: free the thread now (the provider
        never started) rather than when its lock expires. Does nothing once started."""
        if self.task is None and not self.closed:
            self.closed = True
            self.ended.set()
            with contextlib.suppress(Exception):
                await asyncio.shield(self.lease.release())

    async def wait(self) -> None:
        """Wait until the run has ended and its thread is saved and released."""
        self.start()
        assert self.task is not None
        await _settle(self.task)

    def _emit(self, event: BaseEvent) -> None:
        if not self.log:
            self.context.first_event_at = time.monotonic()
        self.log.append(event)
        self._wakeup.set()

    def _close(self) -> None:
        self.closed = True
        self._wakeup.set()
        self.ended.set()

    async def events(self) -> AsyncGenerator[BaseEvent, None]:
        batches = self.event_batches()
        try:
            async for batch in batches:
                for event in batch:
                    yield event
        finally:
            # Close the inner generator now, not whenever it is garbage-collected: that is
            # what cancels the provider and frees the thread when our consumer goes away.
            await batches.aclose()

    async def event_batches(self, start: int = 0, *, idle_timeout: float | None = None
                            ) -> AsyncGenerator[list[BaseEvent], None]:
        """The run's events from index ``start``, in lists of whatever is ready at once.

        With ``idle_timeout``, an empty list is yielded after that many seconds without an
        event (for keep-alives).
        """
        owner = self.task is None
        self.start()
        task = self.task
        assert task is not None
        position = start
        try:
            while True:
                if position < len(self.log):
                    if position > start and not self.closed:
                        # Let the provider take a few more steps before we take a batch, as
                        # long as it keeps producing: each write then carries several chunks
                        # instead of one (a write and the ASGI send chain per chunk are most
                        # of a streamed reply's CPU), at the cost of a few loop iterations.
                        # The first batch is never delayed.
                        seen = len(self.log)
                        for _ in range(COALESCE_STEPS):
                            await asyncio.sleep(0)
                            if self.closed or len(self.log) == seen:
                                break
                            seen = len(self.log)
                    batch = self.log[position:]
                    position += len(batch)
                    yield batch
                    continue
                if self.closed:
                    break
                self._wakeup.clear()
                # (one timer per idle wait: no task, unlike wait_for, and no timeout scope)
                if not await self._wakeup.wait(idle_timeout):
                    yield []
        finally:
            if owner and not self.detached and not task.done():
                task.cancel()
                # Wait for the provider to unwind (it releases the thread), whatever
                # happens to us.
                with contextlib.suppress(BaseException):
                    await asyncio.shield(_settle(task))

    def _started_input(self) -> Any:
        """The request as RUN_STARTED carries it: only the messages new to the thread."""
        known = {m.get("id") for m in self.record.messages} if self.record is not None else set()
        messages = self.request.input.messages
        fresh = [m for m in messages if m.id not in known]
        if len(fresh) == len(messages):
            return self.request.input  # all new (a new thread): no copy kept for the run's life
        return self.request.input.model_copy(update={"messages": fresh})

    async def _pump(self) -> None:
        current_observers.set(self.engine.hooks)
        notify(self.engine.hooks, "run_started", self.context)
        failure: RunFailure | None = None
        token, error = enter_span(self.span), None
        try:
            try:
                failure = await self._run_provider()
            finally:
                await self._ended(failure)
        except Exception as exc:
            error = exc
            raise
        finally:
            exit_span(token, self.span, error)

    async def _ended(self, failure: RunFailure | None) -> None:
        """The run is over and its thread released: the span ends, the hooks are told."""
        span, context = self.span, self.context
        context.outcome = self.outcome if self.outcome != "pending" else "cancelled"
        span.set_attribute("copilotkit.outcome", context.outcome)
        try:
            if context.outcome == "error":
                if failure is None:
                    failure = RunFailure("AGENT_ERROR", "The run failed.")
                span.set_attribute("copilotkit.error_code", failure.code)
                span.set_status(Status(StatusCode.ERROR, failure.message[:200]))
                await self.engine._failed(context, failure)
            else:
                known = {m.id for m in self.request.input.messages}
                produced = [m for m in self._saved_messages if m.get("id") not in known]
                await self.engine._succeeded(context, produced)
        finally:
            span.end()
            self._close()

    async def _run_provider(self) -> RunFailure | None:
        request = self.request
        failure: RunFailure | None = None
        validator = StreamValidator(request.thread_id, request.run_id, self._started_input())
        input_messages = [m.model_dump(mode="json", by_alias=True, exclude_none=True)
                          for m in request.input.messages]
        recorder = RunRecorder(input_messages, request.state,
                               record_events=self.engine.options.record_events)
        me = asyncio.current_task()
        assert me is not None
        keeper = _LeaseKeeper(self, me)
        agen: Any = self.entry.provider.run(request)
        tail: list[BaseEvent] = []
        consumer_gone = False
        emit = self._emit
        provider_span = tracer.start_span("copilotkit.provider", attributes={
            "copilotkit.agent": request.agent,
            "copilotkit.provider": type(self.entry.provider).__name__})
        try:
            self._in_provider = True
            try:
                token, error = enter_span(provider_span), None
                try:
                    async for event in agen:
                        for out in validator.feed(event):
                            if out.type is EventType.RUN_FINISHED or out.type is EventType.RUN_ERROR:
                                tail.append(out)
                                continue
                            recorder.feed(out)
                            if self.check_output and out.type is EventType.TEXT_MESSAGE_END:
                                await self._check_output(recorder, out)
                            emit(out)
                        if validator.finished:
                            break
                    else:
                        tail = validator.finish()
                except Exception as exc:
                    error = exc
                    raise
                finally:
                    exit_span(token, provider_span, error)
            except asyncio.CancelledError:
                if not (self._stopping or self._lease_lost or self._shutting_down):
                    consumer_gone = True
                    raise
                me.uncancel()
                if self._shutting_down:
                    tail = validator.fail("The server shut down before the run finished.",
                                          "SERVER_SHUTTING_DOWN")
                elif self._lease_lost:
                    tail = validator.fail(f"The run lost its thread lock: {self._lease_error}",
                                          "THREAD_LOCK_LOST")
                else:
                    tail = validator.finish()
                    self.outcome = "stopped"
            except StreamViolation as exc:
                log.warning("agent %s produced an invalid event stream: %s", request.agent, exc)
                tail = validator.fail(f"Agent '{request.agent}' produced an invalid event stream: {exc}",
                                      "INVALID_EVENT_STREAM")
                failure = RunFailure("INVALID_EVENT_STREAM", str(exc), exc)
            except _OutputBlocked as exc:
                tail = validator.fail(exc.reason, "GUARDRAILS_VALIDATION_FAILED")
            except Exception as exc:
                log.exception("agent %s failed in run %s", request.agent, request.run_id)
                tail = validator.fail(self.engine.public_error(exc, request.agent), "AGENT_ERROR")
                failure = RunFailure("AGENT_ERROR", tail[-1].message if tail and hasattr(
                    tail[-1], "message") else str(exc), exc)
                provider_span.record_exception(exc)
                provider_span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            finally:
                provider_span.end()

            self._in_provider = False
            keeper.cancel()
            for out in tail:
                recorder.feed(out)
            ended_ok = bool(tail) and tail[-1].type is EventType.RUN_FINISHED
            if self.outcome == "pending":
                self.outcome = "success" if ended_ok else "error"
            if not ended_ok and failure is None and tail and tail[-1].type is EventType.RUN_ERROR:
                last: Any = tail[-1]
                failure = RunFailure(last.code or "RUN_ERROR", last.message)
            self._saved_messages = recorder.messages
            self.saving = True
            try:
                # A run cut by a shutdown keeps what it did (the user's message, the reply so
                # far): the client may go on with the thread after the restart.
                await self._persist(recorder, persist_state=ended_ok or self._shutting_down)
            except Exception as exc:
                log.exception("could not save thread %s", request.thread_id)
                if ended_ok:
                    # The client must not believe a run is saved when it is not. A run that
                    # already failed keeps its own error; the lost history is only logged.
                    self.outcome = "error"
                    msg = exc.message if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
                    tail = [*tail[:-1], RunErrorEvent(
                        message=f"The run finished but its thread could not be saved: {msg}",
                        code="STORE_ERROR")]
                    failure = RunFailure("STORE_ERROR", msg, exc)
            finally:
                self.saved.set()
            for out in tail:
                emit(out)
            return failure
        except asyncio.CancelledError:
            if consumer_gone:
                self.outcome = "cancelled"
            raise
        finally:
            keeper.cancel()
            with contextlib.suppress(BaseException):
                await agen.aclose()
            with contextlib.suppress(BaseException):
                await keeper.settle()
            try:
                await self.lease.release()
            except Exception:
                log.exception("could not release the run lock of thread %s", request.thread_id)
            self.engine._drop_active(self)

    async def _check_output(self, recorder: RunRecorder, event: Any) -> None:
        message = recorder._by_id.get(event.message_id)
        text = (message or {}).get("content") or ""
        for guardrail in self.check_output:
            decision = await guardrail.check_output(text, self.request)
            if decision is not None:
                raise _OutputBlocked(decision.reason)

    async def _persist(self, recorder: RunRecorder, *, persist_state: bool) -> None:
        engine, request = self.engine, self.request
        store = engine.store
        if persist_state:
            record = ThreadRecord(
                thread_id=request.thread_id, agent=request.agent, state=recorder.state,
                messages=recorder.messages, run_id=request.run_id, node_name=recorder.node_name,
            )
            expected = self.record.version if self.record is not None else 0
            try:
                await store.save_thread(record, expected_version=expected, ttl=engine.options.thread_ttl)
            except VersionConflictError:
                # We hold the thread's lock; a conflict means a write outside any run (e.g. an
                # API edit). The run's result wins, written atomically over the latest version.
                await update_thread(store, request.thread_id, request.agent,
                                    lambda current: record.evolve(version=current.version),
                                    ttl=engine.options.thread_ttl)
        if engine.options.record_events:
            events = recorder.compacted_events()
            if store.history_by_agent:
                await store.append_events(request.thread_id, request.run_id, events,
                                          agent=request.agent)  # type: ignore[call-arg]
            else:
                await store.append_events(request.thread_id, request.run_id, events)
            self.in_history = True
        if self.info is not None:
            # The thread list's "last activity"; a thread claimed by a run without a user
            # message (a frontend-tool follow-up first) gets its name from the saved messages.
            name = None if self.info.name else thread_name(recorder.messages)
            await store.update_thread_info(request.thread_id, name=name, updated_at=time.time())


class _LeaseKeeper:
    """Keeps a run's lease while its provider runs: renews it every third of its TTL and
    cancels the run (``pump``) when a stop is requested or the lease is lost.

    Timers and callbacks, not a task: an idle open run costs no task here (a held-open stream
    had two, this loop and its ``wait_for_stop``). A renewal runs in a short task of its own when
    due; a lease without a :meth:`~RunLease.stop_signal` still has its ``wait_for_stop`` task.
    """

    __slots__ = ("closed", "pump", "renewing", "run", "stop", "timer")

    def __init__(self, run: Run, pump: asyncio.Task[None]) -> None:
        self.run = run
        self.pump = pump
        self.closed = False
        self.renewing: asyncio.Task[None] | None = None
        loop = asyncio.get_running_loop()
        lease = run.lease
        signal = lease.stop_signal()
        self.stop: asyncio.Future[Any] = (signal.future() if signal is not None
                                          else loop.create_task(lease.wait_for_stop()))
        self.stop.add_done_callback(self._stopped)
        self.timer: asyncio.TimerHandle | None = loop.call_later(lease.ttl / 3, self._renew_due)

    def _stopped(self, stop: asyncio.Future[Any]) -> None:
        if self.closed or stop.cancelled():
            return
        exc = stop.exception()
        if exc is not None:
            self._lost(exc)
            return
        self.run._stopping = True
        self.cancel()
        self.pump.cancel()

    def _renew_due(self) -> None:
        self.timer = None
        if not self.closed:
            self.renewing = asyncio.get_running_loop().create_task(self._renew())

    async def _renew(self) -> None:
        try:
            if not await self.run.lease.renew():
                raise StoreError("it expired and another run took the thread")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._lost(exc)
            return
        finally:
            self.renewing = None
        if not self.closed:
            self.timer = asyncio.get_running_loop().call_later(self.run.lease.ttl / 3,
                                                               self._renew_due)

    def _lost(self, exc: BaseException) -> None:
        run = self.run
        if self.closed:
            return
        log.error("run %s lost its lock on thread %s", run.request.run_id, run.thread_id,
                  exc_info=exc)
        run._lease_error = exc.message if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
        run._lease_lost = True
        self.cancel()
        self.pump.cancel()

    def cancel(self) -> None:
        """Stop keeping the lease (the provider is done). Idempotent."""
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.stop.cancel()
        if self.renewing is not None and self.renewing is not asyncio.current_task():
            self.renewing.cancel()

    async def settle(self) -> None:
        """Wait for the tasks it started (a renewal in flight, ``wait_for_stop``) to end."""
        self.cancel()
        if self.renewing is not None:
            await _settle(self.renewing)
        if isinstance(self.stop, asyncio.Task):
            await _settle(self.stop)


def _relayed_run_stored(first: LiveBatch, history: Sequence[StoredEvent]) -> bool:
    """Whether the run another process relays (``first``: its first batch) is already in
    ``history``: the last stored run with its id, if that one started as the relayed one did
    (an earlier run that used the same run id started with other input)."""
    last = [stored.event for stored in history if stored.run_id == first.run_id]
    if not last:
        return False
    # the last run stored under this id: from its RUN_STARTED on
    starts = [i for i, event in enumerate(last) if event.get("type") == "RUN_STARTED"]
    mine = last[starts[-1]] if starts else None
    theirs = next((e for e in first.events if e.get("type") == "RUN_STARTED"), None)
    if mine is None or theirs is None:
        return True  # nothing to tell them apart by: as before, the history is taken
    return bool(mine == theirs)


class _OutputBlocked(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def _settle(task: asyncio.Task[Any]) -> None:
    """Wait for ``task`` to finish without raising its outcome."""
    if not task.done():
        await asyncio.wait({task})
    if not task.cancelled():
        task.exception()
