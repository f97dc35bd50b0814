"""A flow that asks a human to review a step's output with CrewAI's ``@human_feedback``."""

from __future__ import annotations

from typing import Any

from crewai.flow.flow import Flow, FlowState, listen, start
from crewai.flow.human_feedback import human_feedback


class ReviewState(FlowState):
    messages: list[Any] = []
    draft: str = ""
    verdict: str = ""


def write(state: Any) -> str:
    """The draft step of the review flows."""
    state.draft = "A short post about runtimes."
    return str(state.draft)


def publish(state: Any, result: Any) -> None:
    """The step after the review: keep the verdict, say it."""
    state.verdict = result.feedback
    state.messages.append({"role": "assistant",
                           "content": f"Feedback on the draft: {result.feedback}"})


class ReviewFlow(Flow[ReviewState]):
    @start()
    @human_feedback(message="Publish this draft?")
    def write_draft(self) -> str:
        return write(self.state)

    @listen(write_draft)
    def publish(self, result: Any) -> None:
        publish(self.state, result)


class TripState(FlowState):
    messages: list[Any] = []
    city: str = ""
    nights: str = ""
    plan: str = ""


class TripFlow(Flow[TripState]):
    """Asks twice with ``Flow.ask()`` (a sync and an async step) and plans with the answers."""

    @start()
    def choose_city(self) -> str:
        self.state.messages.append({"role": "assistant", "content": "Let us plan a trip."})
        self.state.city = self.ask("Which city?", metadata={"field": "city"}) or "nowhere"
        return self.state.city

    @listen(choose_city)
    async def choose_nights(self, city: str) -> None:
        self.state.nights = self.ask(f"How many nights in {city}?") or "0"

    @listen(choose_nights)
    def plan_trip(self) -> None:
        self.state.plan = f"{self.state.nights} nights in {self.state.city}"
        self.state.messages.append({"role": "assistant", "content": f"Planned: {self.state.plan}"})
