"""The ``crewai`` provider type: CrewAI flows and crews, run in-process.

Config::

    [agents.research]
    provider = "crewai"
    flow = "my_app.flows:ResearchFlow"     # or: crew = "my_app.crews:make_crew"
    description = "Researches a topic"

See :class:`CrewAIOptions` for every key.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ag_ui.core import (
    BaseEvent,
    CustomEvent,
    Interrupt,
    RunErrorEvent,
    RunFinishedEvent,
    RunFinishedInterruptOutcome,
    StepFinishedEvent,
    StepStartedEvent,
)
from pydantic import BaseModel, Field, model_validator

from copilotkit_runtime.errors import ConfigError
from copilotkit_runtime.events import INTERRUPT_EVENT
from copilotkit_runtime.providers import (
    AgentInfo,
    AgentProvider,
    ProviderContext,
    ProviderOptions,
    RunRequest,
)

from . import copilotkit_sdk
from .environment import configure_crewai_environment
from .loading import import_reference
from .messages import agui_to_openai, context_to_dicts, tools_to_openai

log = logging.getLogger("copilotkit_provider_crewai")


class CrewAIOptions(ProviderOptions):
    """Keys of an ``[agents.NAME]`` section with ``provider = "crewai"``."""

    flow: str | None = Field(None, description="'module:Name' of a Flow class, instance or factory")
    crew: str | None = Field(
        None, description="'module:name' of a function returning a Crew, a @CrewBase class or a Crew")
    storage_dir: str | None = Field(
        None, description="where CrewAI keeps its files (default: <data_dir>/crewai); process-wide")
    disable_telemetry: bool = Field(True, description="turn CrewAI telemetry and tracing off")
    console_output: bool = Field(False, description="let CrewAI print its progress panels")
    chat_llm: str | None = Field(
        None, description="crews: model of the chat LLM (default: the crew's chat_llm)")
    input_descriptions: dict[str, str] = Field(
        default_factory=dict, description="crews: a description per crew input, for the chat LLM")
    task_messages: bool = Field(
        False, description="crews: also post each finished task's output as a chat message")

    @model_validator(mode="after")
    def _one_target(self) -> CrewAIOptions:
        if (self.flow is None) == (self.crew is None):
            raise ValueError("set exactly one of 'flow' or 'crew'")
        return self


@dataclass
class _Parked:
    """A kickoff waiting in ``Flow.ask()`` between two runs of its thread."""

    channel: Any
    translator: Any
    flow: Any
    outcome: dict[str, Any]
    question: Any


class CrewAIStepError(Exception):
    """A flow step (or the crew chat) raised. The engine reports it as the run's ``RUN_ERROR``
    (``Agent 'NAME' failed: CrewAIStepError: step 'STEP' raised ValueError: ...``), with the
    detail only when ``server.expose_error_details`` allows it."""


class CrewAIProvider(AgentProvider):
    Options = CrewAIOptions

    def __init__(self, name: str, options: ProviderOptions, context: ProviderContext,
                 description: str = "") -> None:
        super().__init__(name, options, context, description)
        assert isinstance(options, CrewAIOptions)
        opts = options
        self.opts = opts
        storage = Path(opts.storage_dir) if opts.storage_dir else context.data_dir / "crewai"
        if not storage.is_absolute():
            storage = context.config_dir / storage
        self.storage_dir = configure_crewai_environment(storage,
                                                        disable_telemetry=opts.disable_telemetry)
        key = "flow" if opts.flow else "crew"
        reference = opts.flow or opts.crew
        assert reference is not None
        copilotkit_sdk.install()  # flows written for `from copilotkit.crewai import ...`
        self.target = import_reference(reference, agent=name, key=key, base_dir=context.config_dir)
        self.kind = key
        self._crew_spec: Any = None
        self._channels: set[Any] = set()
        self._parked: dict[str, _Parked] = {}  # thread id -> a kickoff waiting in Flow.ask()
        self._asked: Any = None  # asking.AskedQuestions, made on the first flow run
        if key == "flow":
            self._check_flow_target()

    # -- description -----------------------------------------------------------------------------

    def agents(self) -> list[AgentInfo]:
        capabilities = {"streaming": True, "state": True, "frontend_actions": True,
                        "crewai": self.kind}
        return [AgentInfo(name=self.name, description=self.description, provider=self.type_name,
                          capabilities=capabilities)]

    def _check_flow_target(self) -> None:
        from crewai.flow.flow import Flow

        target = self.target
        if isinstance(target, Flow) or (isinstance(target, type) and issubclass(target, Flow)):
            return
        if callable(target):
            return  # a factory: checked when called
        raise ConfigError(f"agents.{self.name}.flow: expected a crewai Flow class, instance or "
                          f"factory; got {type(target).__name__}.")

    async def startup(self) -> None:
        if self.kind == "crew":
            from .crews import prepare_crew_chat

            try:
                self._crew_spec = await asyncio.to_thread(
                    prepare_crew_chat, self.target, agent=self.name, description=self.description,
                    input_descriptions=self.opts.input_descriptions, chat_llm=self.opts.chat_llm,
                    task_messages=self.opts.task_messages)
            except ConfigError:
                raise
            except Exception as exc:
                raise ConfigError(f"agents.{self.name}.crew: building the crew failed: "
                                  f"{type(exc).__name__}: {exc}") from exc

    # -- running ---------------------------------------------------------------------------------

    def _new_flow(self) -> Any:
        from crewai.flow.flow import Flow

        target = self.target
        if isinstance(target, Flow):
            try:
                flow = copy.deepcopy(target)
            except Exception:
                flow = type(target)()
        elif isinstance(target, type):
            flow = target()
        else:
            flow = target()
        if not isinstance(flow, Flow):
            raise CrewAIStepError(f"agents.{self.name}.flow: the factory returned "
                                 f"{type(flow).__name__}, not a crewai Flow.")
        return flow

    async def _new_crew_flow(self) -> Any:
        from .crews import CrewChatFlow

        if self._crew_spec is None:  # startup() not called (e.g. a bare provider in tests)
            await self.startup()
        return CrewChatFlow().bind(self._crew_spec)

    def _inputs(self, request: RunRequest, flow: Any) -> dict[str, Any]:
        state = {k: v for k, v in request.state.items() if k not in ("messages", "copilotkit", "id")}
        inputs: dict[str, Any] = {
            **state,
            "messages": agui_to_openai(request.messages),
            "copilotkit": {"actions": tools_to_openai(request.tools),
                           "context": context_to_dicts(request.context)},
            "id": request.thread_id,
        }
        current = getattr(flow, "state", None)
        if isinstance(current, BaseModel) and current.model_config.get("extra") != "allow":
            fields = type(current).model_fields
            inputs = {k: v for k, v in inputs.items() if k in fields or k == "id"}
        return inputs

    async def run(self, request: RunRequest) -> AsyncIterator[BaseEvent]:
        from . import asking, feedback
        from .bridge import RunChannel, bind_foreign_helpers
        from .translate import RunTranslator

        feedback.install()
        asking.install()
        if self._asked is None:
            self._asked = asking.AskedQuestions(self.storage_dir / "copilotkit-asked.sqlite",
                                                self.name)
        answer = feedback.resume_answer(request) if self.kind == "flow" else None
        parked = self._parked.pop(request.thread_id, None)
        if parked is not None and (answer is None or not parked.question.waiting):
            parked.channel.cancel()  # not answered: that kickoff is over, start afresh
            parked = None
        if parked is None:
            lost = self._asked.pending(request.thread_id) if answer is not None else None
            self._asked.forget(request.thread_id)
            if lost is not None:
                # An answer to a Flow.ask() asked by a kickoff this process does not have.
                yield RunErrorEvent(code=asking.QUESTION_LOST, message=asking.question_lost(
                    self.name, str(lost["value"].get("message"))))
                return
        else:
            self._asked.forget(request.thread_id)
        preface: list[BaseEvent] = []
        if parked is not None:
            # A Flow.ask() waits in its kickoff: answer it, and this run carries on from there.
            channel, translator, flow, outcome = (parked.channel, parked.translator,
                                                  parked.flow, parked.outcome)
            translator.run_id = request.run_id
            translator.known_ids.update(m.id for m in request.messages)
            translator.node_name = parked.question.method
            preface.append(StepStartedEvent(step_name=parked.question.method))
            parked.question.answer.set_result(answer or "")
        else:
            resumed = self._pending_flow(request.thread_id) if answer is not None else None
            if resumed is not None:
                flow = resumed
            else:
                flow = await self._new_crew_flow() if self.kind == "crew" else self._new_flow()
            inputs = self._inputs(request, flow)
            channel = RunChannel(asyncio.get_running_loop(), root=flow)
            translator = RunTranslator(
                run_id=request.run_id,
                input_message_ids=[m["id"] for m in inputs.get("messages", [])],
                root=flow, tool_names=[t.name for t in request.tools])
            outcome = {}

            async def kickoff() -> Any:
                bind_foreign_helpers(flow)
                if resumed is not None:
                    outcome["result"] = await flow.resume_async(answer or "")
                else:
                    outcome["result"] = await flow.kickoff_async(inputs=inputs)
                return flow.state

            channel.start(kickoff, name=f"crewai-{self.name}-{request.run_id[:8]}",
                          suppress_console=not self.opts.console_output)
        self._channels.add(channel)
        finished = False
        try:
            for event in preface:
                yield event
            while True:
                item = await channel.queue.get()
                kind = item[0]
                if kind == "crewai":
                    events = translator.on_crewai(item[1], item[2])
                elif kind == "agui":
                    events = translator.on_agui(item[1])
                elif kind == "ask":
                    # Flow.ask(): end this run with the question; the kickoff waits for it.
                    question = item[1]
                    finished = True
                    yield StepFinishedEvent(step_name=question.method)
                    for event in translator.finish(flow.state):
                        yield event
                    self._parked[request.thread_id] = _Parked(channel, translator, flow,
                                                              outcome, question)
                    self._asked.record(request.thread_id, question)
                    for event in _interrupted(request, question.interrupt(request.thread_id),
                                              question.value()):
                        yield event
                    return
                elif kind == "done":
                    finished = True
                    for event in translator.finish(item[1]):
                        yield event
                    pending = outcome.get("result")
                    if feedback.is_pending(pending):
                        # @human_feedback paused the flow: ask the client.
                        for event in _interrupted(request, feedback.standard_interrupt(pending),
                                                  feedback.interrupt_value(pending)):
                            yield event
                    return
                else:
                    finished = True
                    raise self._failure(translator, item[1]) from item[1]
                for event in events:
                    yield event
        finally:
            self._channels.discard(channel)
            if not finished:
                channel.cancel()

    def _pending_flow(self, thread_id: str) -> Any:
        """The thread's flow paused by ``@human_feedback`` (persisted by CrewAI under the
        thread id), restored; ``None`` when it waits for nothing."""
        from crewai.flow.flow import Flow

        target = self.target
        cls = type(target) if isinstance(target, Flow) else target
        if not isinstance(cls, type) or not issubclass(cls, Flow):
            cls = type(self._new_flow())
        try:
            return cls.from_pending(thread_id)
        except ValueError:  # nothing pending for this thread
            return None

    async def shutdown(self) -> None:
        # The engine cancels runs on shutdown; this also stops kickoffs whose run already
        # stopped listening. Their threads are daemons: they do not hold up the exit.
        for channel in list(self._channels):
            channel.cancel()
        self._channels.clear()
        for parked in self._parked.values():
            parked.channel.cancel()
        self._parked.clear()

    def _failure(self, translator: Any, exc: BaseException) -> CrewAIStepError:
        step = translator.failed_step
        detail = f"{type(exc).__name__}: {exc}"
        if step:
            return CrewAIStepError(f"step '{step}' raised {detail}")
        return CrewAIStepError(f"the {'crew' if self.kind == 'crew' else 'flow'} raised {detail}")


def _interrupted(request: RunRequest, interrupt: Interrupt, value: dict[str, Any]
                 ) -> list[BaseEvent]:
    """How a run that waits for an answer ends: ``CUSTOM on_interrupt`` with ``value`` (what v1
    clients and react-core's legacy ``useInterrupt`` read) and ``RUN_FINISHED`` with an
    interrupt outcome (AG-UI standard interrupts, answered by ``resume`` entries)."""
    return [CustomEvent(name=INTERRUPT_EVENT, value=value),
            RunFinishedEvent(thread_id=request.thread_id, run_id=request.run_id,
                             outcome=RunFinishedInterruptOutcome(interrupts=[interrupt]))]
