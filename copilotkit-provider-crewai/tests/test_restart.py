"""Interrupts across a restart: the runtime as a real process (``copilotkit-runtime serve``) on a
SQLite store, killed with SIGKILL between the question and the answer, then started again on
the same data_dir; the answer goes to the new process over AG-UI v2 HTTP.

* ``@human_feedback``: CrewAI persisted the paused flow (in ``storage_dir``), so the answer
  resumes it in the new process.
* ``Flow.ask()``: the waiting kickoff died with its process; the answer ends with ``RUN_ERROR``
  ``CREWAI_QUESTION_LOST`` (promptly, never a hang or the same question again), and the next
  run starts the flow afresh.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

TESTS = Path(__file__).resolve().parent
WORKSPACE_PROCESS = TESTS.parents[1] / "tests" / "harden" / "process.py"


def _server_process() -> Any:
    """The workspace's ``ServerProcess`` (tests/harden/process.py): ``copilotkit-runtime serve``
    as a child process, started, stopped and killed."""
    spec = importlib.util.spec_from_file_location("workspace_server_process", WORKSPACE_PROCESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module.ServerProcess


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "copilotkit.toml"
    agents = TESTS / "feedback_agents.py"
    path.write_text(f"""
data_dir = "{tmp_path / 'data'}"

[plugins]
enabled = ["crewai"]

[store]
type = "sqlite"

[agents.trip]
provider = "crewai"
flow = "{agents}:TripFlow"

[agents.review]
provider = "crewai"
flow = "{agents}:ReviewFlow"
""")
    return path


@pytest.fixture
def server(config: Path) -> Iterator[Any]:
    """``start()`` a server on ``config`` (each call a new process on the same port)."""
    processes: list[Any] = []
    server_process = _server_process()
    port: list[int] = []

    def start() -> Any:
        process = server_process(config, **({"port": port[0]} if port else {}))
        port[:] = [process.port]
        processes.append(process)
        return process.start()

    yield start
    for process in processes:
        process.kill()


def run(url: str, agent: str, thread: str, messages: list[dict[str, Any]],
        **fields: Any) -> list[dict[str, Any]]:
    """One AG-UI run over HTTP; its events."""
    body = {"threadId": thread, "runId": str(uuid.uuid4()), "messages": messages, "tools": [],
            "context": [], "state": {}, "forwardedProps": {}, **fields}
    events = []
    with httpx.stream("POST", f"{url}/agent/{agent}/run", json=body, timeout=60,
                      headers={"accept": "text/event-stream"}) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[len("data: "):]))
    return events


def outcome(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    [finished] = [e for e in events if e["type"] == "RUN_FINISHED"] or [{}]
    return finished.get("outcome")


def texts(events: list[dict[str, Any]]) -> list[str]:
    out: dict[str, str] = {}
    for e in events:
        if e["type"] == "TEXT_MESSAGE_CONTENT":
            out[e["messageId"]] = out.get(e["messageId"], "") + e["delta"]
    return list(out.values())


def answer(interrupted: list[dict[str, Any]], payload: str) -> list[dict[str, Any]]:
    interrupts = (outcome(interrupted) or {}).get("interrupts") or []
    return [{"interruptId": i["id"], "status": "resolved", "payload": payload} for i in interrupts]


def test_interrupts_across_a_killed_and_restarted_runtime(server: Any) -> None:
    """One restart for both kinds (each start imports CrewAI, seconds of CPU)."""
    review, trip = f"t-{uuid.uuid4()}", f"t-{uuid.uuid4()}"
    post = [{"id": str(uuid.uuid4()), "role": "user", "content": "write a post"}]
    plan = [{"id": str(uuid.uuid4()), "role": "user", "content": "plan a trip"}]
    first = server()
    feedback = run(first.url, "review", review, post)
    assert (outcome(feedback) or {}).get("type") == "interrupt"
    question = run(first.url, "trip", trip, plan)
    [interrupt] = (outcome(question) or {})["interrupts"]
    assert interrupt["message"] == "Which city?"
    first.kill()

    second = server()
    # @human_feedback: CrewAI persisted the paused flow; the new process resumes it.
    resumed = run(second.url, "review", review, post, resume=answer(feedback, "ship it"))
    assert [e for e in resumed if e["type"] == "RUN_ERROR"] == []
    assert outcome(resumed) in (None, {"type": "success"})
    assert texts(resumed) == ["Feedback on the draft: ship it"]
    state = [e["snapshot"] for e in resumed if e["type"] == "STATE_SNAPSHOT"][-1]
    assert state["verdict"] == "ship it" and state["draft"] == "A short post about runtimes."

    # Flow.ask(): the kickoff that asked is gone; the answer fails, saying so.
    lost = run(second.url, "trip", trip, plan, resume=answer(question, "Lisbon"))
    [error] = [e for e in lost if e["type"] == "RUN_ERROR"]
    assert error["code"] == "CREWAI_QUESTION_LOST"
    assert "the flow that asked 'Which city?' is no longer waiting" in error["message"]
    assert "restarted" in error["message"]
    assert texts(lost) == []
    # ...and the next run on the thread starts the flow afresh, in this process.
    again = run(second.url, "trip", trip, plan)
    assert [e for e in again if e["type"] == "RUN_ERROR"] == []
    [interrupt] = (outcome(again) or {})["interrupts"]
    assert interrupt["message"] == "Which city?"
    answered = run(second.url, "trip", trip, plan, resume=answer(again, "Oslo"))
    [interrupt] = (outcome(answered) or {})["interrupts"]
    assert interrupt["message"] == "How many nights in Oslo?"
