"""A flow that asks a human to review a step's output with CrewAI's ``@human_feedback``."""

from __future__ import annotations

from typing import Any

from crewai.flow.flow import Flow, FlowState, listen, start
from crewai.flow.human_feedback import human_feedback


class ReviewState(FlowState):
    messages: list[Any] = []
    draft: str = ""
    verdict: str = ""


class ReviewFlow(Flow[ReviewState]):
    @start()
    @human_feedback(message="Publish this draft?")
    def write_draft(self) -> str:
        self.state.draft = "A short post about runtimes."
        return self.state.draft

    @listen(write_draft)
    def publish(self, result: Any) -> None:
        self.state.verdict = result.feedback
        self.state.messages.append({"role": "assistant",
                                    "content": f"Feedback on the draft: {result.feedback}"})
