"""CrewAI's ``Flow.ask()`` as an AG-UI interrupt.

``Flow.ask(message)`` blocks the step until its input provider answers. Under a served run
:class:`InterruptInputProvider` answers: it hands the question to the run (which ends with
``CUSTOM on_interrupt`` ``{"message", "method", "metadata"?}``, v1 clients get a
``LangGraphInterruptEvent``) and waits, in the kickoff's own thread, for the answer. The next
run on the thread that carries an answer (``resume`` entries, ``forwardedProps.command.resume``,
the v1 meta event's ``response``) delivers it: ``ask()`` returns it and the flow carries on from
where it asked, streaming to that run. A run on the thread without an answer cancels the waiting
kickoff and starts the flow afresh.

The waiting kickoff lives in this process: its Python stack cannot be saved, and CrewAI has no
API to re-enter a method in the middle. So each question is also written down
(:class:`AskedQuestions`, a small SQLite file in the provider's ``storage_dir``) until it is
answered or dropped. An answer that finds no waiting kickoff but that record (the runtime
restarted, or the answer reached another instance sharing ``storage_dir``) ends its run with
``RUN_ERROR`` code ``CREWAI_QUESTION_LOST`` saying so, instead of silently asking again; the
record is then dropped, so the thread's next run starts the flow afresh. (``@human_feedback``,
which CrewAI persists, survives both.) A flow with an ``input_provider`` of its own keeps it;
outside a served run the provider CrewAI had before answers (the console by default).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from .bridge import KickoffCancelled, RunChannel, current_channel


class Question:
    """A question a kickoff waits on; answered from the runtime's loop."""

    def __init__(self, message: str, method: str, metadata: dict[str, Any] | None) -> None:
        self.message = message
        self.method = method
        self.metadata = metadata
        self.id = f"crewai-ask-{uuid.uuid4().hex}"
        self.answer: concurrent.futures.Future[str] = concurrent.futures.Future()

    def value(self) -> dict[str, Any]:
        value: dict[str, Any] = {"message": self.message, "method": self.method}
        if self.metadata:
            value["metadata"] = self.metadata
        return value

    def interrupt(self, flow_id: str) -> Any:
        """The AG-UI ``Interrupt``, shaped like ag-ui-crewai's ``@human_feedback`` ones: ``reason``
        ``crewai:ask``, ``metadata.crewai`` ``{flowId, methodName, metadata}``."""
        from ag_ui.core import Interrupt

        return Interrupt(id=self.id, reason="crewai:ask", message=self.message,
                         metadata={"crewai": {"flowId": flow_id, "methodName": self.method,
                                              "metadata": self.metadata}})

    @property
    def waiting(self) -> bool:
        return not self.answer.done()


def ask(channel: RunChannel, message: str, metadata: dict[str, Any] | None) -> str:
    """Kickoff side: hand the question to the run, wait for the answer (or cancellation)."""
    from crewai.flow.flow_context import current_flow_method_name

    question = Question(message, current_flow_method_name.get(channel.current_step or ""),
                        metadata)
    channel.question = question
    channel.put("ask", question)
    try:
        return question.answer.result()
    except concurrent.futures.CancelledError:
        raise KickoffCancelled() from None
    finally:
        channel.question = None


class InterruptInputProvider:
    """An ``InputProvider``: interrupt when inside a served kickoff, else delegate."""

    def __init__(self, previous: Any = None) -> None:
        self.previous = previous

    def request_input(self, message: str, flow: Any,
                      metadata: dict[str, Any] | None = None) -> Any:
        channel = current_channel()
        if channel is None:
            if self.previous is not None:
                return self.previous.request_input(message, flow, metadata=metadata)
            from crewai.flow.async_feedback import ConsoleProvider

            return ConsoleProvider().request_input(message, flow, metadata=metadata)
        return ask(channel, message, metadata)


def install() -> None:
    """Make :class:`InterruptInputProvider` CrewAI's default input provider (once)."""
    from crewai.flow.flow_config import flow_config

    current = flow_config.input_provider
    if not isinstance(current, InterruptInputProvider):
        flow_config.input_provider = InterruptInputProvider(previous=current)


QUESTION_LOST = "CREWAI_QUESTION_LOST"


def question_lost(agent: str, message: str) -> str:
    """The ``RUN_ERROR`` message of an answer whose question's kickoff is gone."""
    return (f"Agent '{agent}': the flow that asked {message!r} is no longer waiting for the "
            "answer (the runtime restarted, or the answer reached another instance). "
            "Flow.ask() questions live in the process that asked them; send a new message to "
            "start the flow again, or use @human_feedback, which CrewAI persists.")


class AskedQuestions:
    """Questions asked with ``Flow.ask()`` and not yet answered, per (agent, thread), in a small
    SQLite file, so that an answer arriving after a restart is told apart from a new turn."""

    def __init__(self, path: Path, agent: str) -> None:
        self.path = path
        self.agent = agent
        self._lock = threading.Lock()
        self._execute("CREATE TABLE IF NOT EXISTS asked (agent TEXT NOT NULL, thread TEXT NOT "
                      "NULL, id TEXT NOT NULL, value TEXT NOT NULL, asked_at REAL NOT NULL, "
                      "PRIMARY KEY (agent, thread))")

    def _execute(self, sql: str, *args: Any) -> Any:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.closing(sqlite3.connect(self.path, timeout=10,
                                                    isolation_level=None)) as db:
                return db.execute(sql, args).fetchone()

    def record(self, thread: str, question: Question) -> None:
        self._execute("INSERT OR REPLACE INTO asked VALUES (?, ?, ?, ?, ?)", self.agent, thread,
                      question.id, json.dumps(question.value()), time.time())

    def pending(self, thread: str) -> dict[str, Any] | None:
        """``{"id", "value"}`` of the thread's unanswered question, or ``None``."""
        row = self._execute("SELECT id, value FROM asked WHERE agent = ? AND thread = ?",
                            self.agent, thread)
        return None if row is None else {"id": row[0], "value": json.loads(row[1])}

    def forget(self, thread: str) -> None:
        self._execute("DELETE FROM asked WHERE agent = ? AND thread = ?", self.agent, thread)
