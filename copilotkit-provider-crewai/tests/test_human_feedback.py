"""CrewAI's ``@human_feedback`` under a served run: an AG-UI interrupt, answered by the next
run (AG-UI ``forwardedProps.command.resume`` or ``resume`` entries), never a console prompt."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from ag_ui.core import ResumeEntry
from helpers import collect, crewai_runtime, run_request, texts

pytestmark = pytest.mark.anyio

REVIEW = {"flow": "feedback_agents:ReviewFlow"}


def interrupts(events: list[dict]) -> list[dict]:
    return [e["value"] for e in events if e["type"] == "CUSTOM" and e["name"] == "on_interrupt"]


def answering(agent: str, thread: str, **fields: object) -> object:
    """A run that sends nothing new, only an answer."""
    request = run_request(agent, None, thread_id=thread)
    request.input = request.input.model_copy(update=fields)
    return request


def steps(events: list[dict]) -> list[str]:
    return [e["stepName"] for e in events if e["type"] == "STEP_STARTED"]


async def test_human_feedback_interrupts_and_the_answer_resumes_the_flow(tmp_path: Path) -> None:
    thread = f"thread-{uuid.uuid4().hex[:8]}"
    async with crewai_runtime(tmp_path, review=REVIEW) as rt:
        asked = await collect(rt, run_request("review", "write a post", thread_id=thread))
        assert interrupts(asked) == [{"message": "Publish this draft?",
                                      "output": "A short post about runtimes.",
                                      "method": "write_draft"}]
        assert "publish" not in steps(asked)
        [interrupt] = asked[-1]["outcome"]["interrupts"]
        assert interrupt == {"id": thread, "reason": "crewai:human_feedback",
                             "message": "Publish this draft?",
                             "metadata": {"crewai": {"flowId": thread, "methodName": "write_draft",
                                                     "emit": None,
                                                     "output": "A short post about runtimes."}}}
        assert not [e for e in asked if e["type"] == "RUN_ERROR"]

        answer = answering("review", thread, forwarded_props={"command": {"resume": "ship it"}})
        resumed = await collect(rt, answer)
        assert interrupts(resumed) == []
        assert "publish" in steps(resumed)
        assert texts(resumed) == ["Feedback on the draft: ship it"]
        thread_state = await rt.engine.load_thread("review", thread)
    assert thread_state.state["verdict"] == "ship it"
    assert thread_state.state["draft"] == "A short post about runtimes."


async def test_a_resume_entry_answers_the_feedback(tmp_path: Path) -> None:
    thread = f"thread-{uuid.uuid4().hex[:8]}"
    async with crewai_runtime(tmp_path, review=REVIEW) as rt:
        await collect(rt, run_request("review", "write a post", thread_id=thread))
        answer = answering("review", thread, resume=[
            ResumeEntry(interrupt_id="any", status="resolved", payload="needs work")])
        resumed = await collect(rt, answer)
    assert texts(resumed) == ["Feedback on the draft: needs work"]


async def test_a_new_message_without_an_answer_starts_a_fresh_run(tmp_path: Path) -> None:
    thread = f"thread-{uuid.uuid4().hex[:8]}"
    async with crewai_runtime(tmp_path, review=REVIEW) as rt:
        await collect(rt, run_request("review", "write a post", thread_id=thread))
        again = await collect(rt, run_request("review", "write another", thread_id=thread))
    assert [i["method"] for i in interrupts(again)] == ["write_draft"]
