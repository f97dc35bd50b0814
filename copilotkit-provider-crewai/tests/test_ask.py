"""CrewAI's ``Flow.ask()`` under a served run: the run ends with an AG-UI interrupt, the next
run's answer resumes the flow where it asked (same kickoff, later steps stream to that run)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from ag_ui.core import ResumeEntry
from helpers import collect, crewai_runtime, run_request, texts
from test_human_feedback import answering, interrupts, steps

pytestmark = pytest.mark.anyio

TRIP = {"flow": "feedback_agents:TripFlow"}


async def test_ask_interrupts_and_each_answer_resumes_where_it_asked(tmp_path: Path) -> None:
    thread = f"thread-{uuid.uuid4().hex[:8]}"
    async with crewai_runtime(tmp_path, trip=TRIP) as rt:
        first = await collect(rt, run_request("trip", "plan a trip", thread_id=thread))
        assert interrupts(first) == [{"message": "Which city?", "method": "choose_city",
                                      "metadata": {"field": "city"}}]
        assert texts(first) == ["Let us plan a trip."]
        assert "choose_nights" not in steps(first)
        assert first[-1]["type"] == "RUN_FINISHED"
        [asked] = first[-1]["outcome"]["interrupts"]
        assert asked["reason"] == "crewai:ask" and asked["message"] == "Which city?"
        assert asked["metadata"] == {"crewai": {"flowId": thread, "methodName": "choose_city",
                                                "metadata": {"field": "city"}}}

        second = await collect(rt, answering("trip", thread, forwarded_props={
            "command": {"resume": "Lisbon"}}))
        assert interrupts(second) == [{"message": "How many nights in Lisbon?",
                                       "method": "choose_nights"}]
        assert steps(second) == ["choose_city", "choose_nights"]
        assert texts(second) == []  # the first message is not sent again
        assert second[-1]["outcome"]["interrupts"][0]["id"] != asked["id"]

        third = await collect(rt, answering("trip", thread, resume=[
            ResumeEntry(interrupt_id="any", status="resolved", payload="3")]))
        assert interrupts(third) == []
        assert third[-1]["type"] == "RUN_FINISHED" and "outcome" not in third[-1]
        assert texts(third) == ["Planned: 3 nights in Lisbon"]
        assert not [e for e in third if e["type"] == "RUN_ERROR"]
        state = await rt.engine.load_thread("trip", thread)
    assert state.state["plan"] == "3 nights in Lisbon"
    assert [m.get("content") for m in state.messages if m.get("role") == "assistant"] == [
        "Let us plan a trip.", "Planned: 3 nights in Lisbon"]


async def test_a_run_without_an_answer_drops_the_question_and_starts_afresh(tmp_path: Path) -> None:
    thread = f"thread-{uuid.uuid4().hex[:8]}"
    async with crewai_runtime(tmp_path, trip=TRIP) as rt:
        await collect(rt, run_request("trip", "plan a trip", thread_id=thread))
        again = await collect(rt, run_request("trip", "start over", thread_id=thread))
        assert [i["method"] for i in interrupts(again)] == ["choose_city"]
        resumed = await collect(rt, answering("trip", thread, forwarded_props={
            "command": {"resume": "Oslo"}}))
    assert interrupts(resumed)[0]["message"] == "How many nights in Oslo?"


async def test_an_answer_with_nothing_waiting_starts_afresh(tmp_path: Path) -> None:
    thread = f"thread-{uuid.uuid4().hex[:8]}"
    async with crewai_runtime(tmp_path, trip=TRIP) as rt:
        events = await collect(rt, answering("trip", thread, forwarded_props={
            "command": {"resume": "Rome"}}))
    assert [i["method"] for i in interrupts(events)] == ["choose_city"]
    assert not [e for e in events if e["type"] == "RUN_ERROR"]
