"""Flows and crews the tests serve (config references like ``sample_agents:EchoFlow``).

LLM-backed ones talk to the fake server whose URL the test puts in ``FAKE_LLM_BASE_URL``.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from typing import Any

from copilotkit_provider_crewai.sdk import (
    CopilotKitState,
    copilotkit_emit_message,
    copilotkit_emit_state,
    copilotkit_emit_tool_call,
    copilotkit_exit,
    copilotkit_predict_state,
    copilotkit_stream,
)
from crewai import LLM, Agent, Crew, Process, Task
from crewai.flow.flow import Flow, listen, start


def last_message(messages: list[Any]) -> dict[str, Any] | None:
    return messages[-1] if messages else None


class EchoState(CopilotKitState):
    turns: int = 0
    last: str = ""
    summary: str = ""
    progress: int = 0


class EchoFlow(Flow[EchoState]):
    """No LLM. Replies ``You said: ...``; calls a frontend action named in the message; reports
    an action's result; ``bye`` exits."""

    @start()
    def respond(self) -> str:
        state = self.state
        state.turns += 1
        last = last_message(state.messages)
        if last and last.get("role") == "tool":
            state.messages.append({"role": "assistant",
                                   "content": f"The action returned: {last.get('content')}"})
            return "result"
        text = (last or {}).get("content") or ""
        state.last = text
        if text.strip().lower() == "bye":
            copilotkit_exit()
            state.messages.append({"role": "assistant", "content": "Goodbye!"})
            return "exit"
        for action in state.copilotkit.actions:
            name = action["function"]["name"]
            if name.lower() in text.lower():
                # fill the action's first string parameter with the rest of the message
                rest = text[text.lower().index(name.lower()) + len(name):].strip(" :,.") or text
                properties = (action["function"].get("parameters") or {}).get("properties") or {}
                param = next(iter(properties), "value")
                args = json.dumps({param: rest})
                call_id = copilotkit_emit_tool_call(name=name, args={param: rest}).value
                state.messages.append({"id": call_id, "role": "assistant", "content": "",
                                       "tool_calls": [{"id": call_id, "type": "function",
                                                       "function": {"name": name, "arguments": args}}]})
                return "action"
        state.messages.append({"role": "assistant", "content": f"You said: {text}"})
        return "replied"

    @listen(respond)
    async def summarize(self, outcome: str) -> str:
        self.state.progress = 50
        await copilotkit_emit_state(self.state)
        self.state.summary = f"{outcome} after {self.state.turns} turn(s)"
        self.state.progress = 100
        return self.state.summary


class DictStateFlow(Flow):
    """A flow with plain dict state and no CopilotKit helpers at all."""

    @start()
    def count(self) -> int:
        self.state["count"] = int(self.state.get("count", 0)) + 1
        self.state.setdefault("messages", []).append(
            {"role": "assistant", "content": f"count is {self.state['count']}"})
        return self.state["count"]


class EmitFlow(Flow[CopilotKitState]):
    """Streams a fake completion (dict chunks) with copilotkit_stream and emits a message."""

    @start()
    async def talk(self) -> None:
        emitted = await copilotkit_emit_message("Working on it...")
        self.state.messages.append({"id": emitted, "role": "assistant", "content": "Working on it..."})

        def chunks() -> Any:
            for word in ["Hello", " from", " the", " stream"]:
                yield {"id": "c1", "choices": [{"index": 0, "delta": {"content": word},
                                                "finish_reason": None}]}
            yield {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}

        response = await copilotkit_stream(chunks())
        self.state.messages.append(response.choices[0]["message"])


class PredictFlow(Flow[CopilotKitState]):
    """Predictive state: a streamed tool call's argument shows up as state as it streams."""

    @start()
    async def plan(self) -> None:
        await copilotkit_predict_state({"steps": {"tool_name": "write_plan", "tool_argument": "steps"}})
        args = '{"steps": ["research", "write", "review"]}'

        def chunks() -> Any:
            yield {"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "id": "call_plan", "function": {"name": "write_plan", "arguments": ""}}]}}]}
            for i in range(0, len(args), 8):
                yield {"choices": [{"index": 0, "delta": {"tool_calls": [
                    {"index": 0, "function": {"arguments": args[i:i + 8]}}]}}]}

        response = await copilotkit_stream(chunks())
        self.state.messages.append(response.choices[0].message)


class FailingFlow(Flow[CopilotKitState]):
    @start()
    def prepare(self) -> str:
        return "ok"

    @listen(prepare)
    def explode(self, _: str) -> None:
        raise ValueError("the answer is not 42")


#: set by the slow flows when their step stops running (either way)
SLOW_STEP_ENDED = threading.Event()
SLOW_STEP_STARTED = threading.Event()


class SlowAsyncFlow(Flow[CopilotKitState]):
    @start()
    async def wait(self) -> None:
        SLOW_STEP_STARTED.set()
        try:
            await copilotkit_emit_message("waiting")
            await asyncio.sleep(60)
        finally:
            SLOW_STEP_ENDED.set()


class SlowSyncFlow(Flow[CopilotKitState]):
    """A synchronous step that reports progress: a cancelled run stops at the next report."""

    @start()
    def grind(self) -> None:
        SLOW_STEP_STARTED.set()
        try:
            for i in range(600):
                self.state.messages  # noqa: B018 - touch state like real work would
                copilotkit_emit_state({"step": i})
                time.sleep(0.05)
        finally:
            SLOW_STEP_ENDED.set()


def fake_llm(**kwargs: Any) -> LLM:
    return LLM(model="openai/fake-model", base_url=os.environ["FAKE_LLM_BASE_URL"],
               api_key="fake-key", **kwargs)


class LLMFlow(Flow[CopilotKitState]):
    """Calls a (fake) model with the frontend's actions as tools, streaming its answer."""

    @start()
    def chat(self) -> None:
        llm = fake_llm(stream=True)
        history = [{k: v for k, v in m.items() if k != "id"} for m in self.state.messages]
        reply = llm.call(messages=[{"role": "system", "content": "Be brief."}, *history],
                         tools=self.state.copilotkit.actions or None)
        if isinstance(reply, list):
            self.state.messages.append({"role": "assistant", "content": "", "tool_calls": [
                {"id": c["id"], "type": "function", "function": c["function"]} for c in reply]})
        else:
            self.state.messages.append({"role": "assistant", "content": str(reply)})


def make_crew() -> Crew:
    """A one-task crew with a chat LLM, all on the fake server."""
    researcher = Agent(role="Researcher", goal="Research {topic} thoroughly",
                       backstory="You know a lot about {topic}.", llm=fake_llm(),
                       allow_delegation=False, verbose=False)
    task = Task(name="research", description="Write a short summary about {topic}.",
                expected_output="A one-line summary.", agent=researcher)
    return Crew(agents=[researcher], tasks=[task], process=Process.sequential,
                chat_llm=fake_llm(), verbose=False)


def make_two_task_crew() -> Crew:
    researcher = Agent(role="Researcher", goal="Research {topic}", backstory="Curious.",
                       llm=fake_llm(), allow_delegation=False, verbose=False)
    writer = Agent(role="Writer", goal="Write about {topic}", backstory="Clear.",
                   llm=fake_llm(), allow_delegation=False, verbose=False)
    tasks = [Task(name="research", description="Research {topic}.", expected_output="Notes.",
                  agent=researcher),
             Task(name="write", description="Write about {topic} for {audience}.",
                  expected_output="A paragraph.", agent=writer)]
    return Crew(agents=[researcher, writer], tasks=tasks, chat_llm=fake_llm(), verbose=False)


NOT_A_FLOW = 42


def make_echo_flow() -> EchoFlow:
    return EchoFlow()


def make_crew_without_chat_llm() -> Crew:
    crew = make_crew()
    crew.chat_llm = None
    return crew


def _refuse(inputs: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError(f"the crew refuses to research {inputs.get('topic')}")


def make_failing_crew() -> Crew:
    crew = make_crew()
    crew.before_kickoff_callbacks = [_refuse]
    return crew
