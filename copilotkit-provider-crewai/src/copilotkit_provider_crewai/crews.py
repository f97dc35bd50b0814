"""A crew served as a chat agent.

Like the CopilotKit SDK's ``ChatWithCrewFlow``, each run is one turn of a small CrewAI flow with
one step, ``chat_with_crew``: the crew's chat LLM talks with the user, knowing the crew's inputs (the
``{placeholders}`` of its tasks and agents) and offered one tool named after the crew whose
parameters are those inputs, one to end the conversation (``crew_exit``), and the frontend's
actions. When the model has all inputs it calls the crew tool; the crew runs with them, its
progress streaming to the client, and its result comes back as a tool result, an assistant
message, and ``state.outputs``.

State: ``messages``, ``inputs`` (the crew inputs: the frontend may set them, the model's call
updates them), ``outputs`` (the last result: ``json_dict`` when the crew has one, else the
raw text), ``progress`` (one entry per task of the last kickoff: ``task``, ``agent``,
``status`` = running/completed/failed, ``output``/``error``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crewai import Crew
from crewai.events.stream_context import add_stream_sink, reset_stream_sinks
from crewai.flow.flow import Flow, start
from crewai.utilities.crew_chat import (
    DEFAULT_CREW_DESCRIPTION,
    DEFAULT_INPUT_DESCRIPTION,
    build_system_message,
    generate_crew_tool_schema,
)
from crewai.utilities.llm_utils import create_llm
from pydantic import PrivateAttr

from copilotkit_runtime.errors import ConfigError

from .sdk import copilotkit_emit_message, copilotkit_emit_state, copilotkit_exit
from .translate import tool_aliases

CREW_EXIT_TOOL = {
    "type": "function",
    "function": {
        "name": "crew_exit",
        "description": "Call this when the user has indicated that they are done with the crew",
        "parameters": {"type": "object", "properties": {}, "required": []},
    },
}

_OPENAI_MESSAGE_KEYS = ("role", "content", "tool_calls", "tool_call_id", "name")


def tool_name_for(name: str) -> str:
    """The crew's tool name for an agent name, as CrewAI's LLM classes will send it."""
    from crewai.utilities.string_utils import sanitize_tool_name

    return sanitize_tool_name(name) or "crew"


def make_crew(target: Any, *, agent: str) -> Crew:
    """A fresh crew from what ``crew = "module:attr"`` names.

    ``attr`` may be a function returning a ``Crew`` (or a ``@CrewBase`` object), a ``@CrewBase``
    class, or a ``Crew`` (copied per run, since a crew's kickoff is not reentrant).
    """
    where = f"agents.{agent}.crew"
    value = target
    if isinstance(value, Crew):
        return value.copy()
    if (callable(value) and not hasattr(value, "crew")) or isinstance(value, type):
        value = value()
    if not isinstance(value, Crew) and callable(getattr(value, "crew", None)):
        value = value.crew()
    if not isinstance(value, Crew):
        raise ConfigError(f"{where}: expected a Crew, a @CrewBase class or a function returning "
                          f"a Crew; got {type(value).__name__}.")
    return value


@dataclass
class CrewChatSpec:
    """What every turn with one crew needs; computed once per provider."""

    crew_factory: Callable[[], Crew]
    tool_name: str
    tool_schema: dict[str, Any]
    system_message: str
    input_names: list[str]
    chat_llm: Any
    task_messages: bool


def prepare_crew_chat(target: Any, *, agent: str, description: str,
                      input_descriptions: dict[str, str], chat_llm: str | None,
                      task_messages: bool) -> CrewChatSpec:
    """Check the crew (built once) and derive its chat tool and system prompt."""
    from crewai.types.crew_chat import ChatInputField, ChatInputs

    crew = make_crew(target, agent=agent)
    llm_value = chat_llm or crew.chat_llm
    if llm_value is None:
        raise ConfigError(f"agents.{agent}: the crew has no chat LLM. Set chat_llm on the Crew "
                          f"or chat_llm = \"provider/model\" in the agent's config section.")
    names = sorted(crew.fetch_inputs())
    chat_inputs = ChatInputs(
        crew_name=tool_name_for(agent),
        crew_description=description or DEFAULT_CREW_DESCRIPTION,
        inputs=[ChatInputField(name=n, description=input_descriptions.get(n, DEFAULT_INPUT_DESCRIPTION))
                for n in names],
    )

    def factory() -> Crew:
        return make_crew(target, agent=agent)

    return CrewChatSpec(
        crew_factory=factory,
        tool_name=chat_inputs.crew_name,
        tool_schema=generate_crew_tool_schema(chat_inputs),
        system_message=build_system_message(chat_inputs),
        input_names=names,
        chat_llm=llm_value,
        task_messages=task_messages,
    )


def _chat_messages(messages: list[Any]) -> list[dict[str, Any]]:
    out = []
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in (
                "user", "assistant", "tool", "system"):
            continue
        item = {k: message[k] for k in _OPENAI_MESSAGE_KEYS if message.get(k) is not None}
        if item["role"] == "assistant" and "content" not in item:
            item["content"] = ""
        out.append(item)
    return out


class CrewChatFlow(Flow):
    """One chat turn with a crew (see the module docstring)."""

    _spec: CrewChatSpec | None = PrivateAttr(default=None)

    def bind(self, spec: CrewChatSpec) -> CrewChatFlow:
        self._spec = spec
        return self

    @start()
    def chat_with_crew(self) -> str:
        spec = self._spec
        assert spec is not None
        state = self.state
        state.setdefault("messages", [])
        inputs = state.get("inputs") if isinstance(state.get("inputs"), dict) else {}
        state["inputs"] = inputs
        system = spec.system_message
        if inputs:
            system += "\n\nCurrent inputs: " + json.dumps(inputs)
        actions = [a for a in (state.get("copilotkit") or {}).get("actions", [])
                   if a.get("function", {}).get("name") not in (spec.tool_name, "crew_exit")]
        tools = [*actions, spec.tool_schema, CREW_EXIT_TOOL]
        llm = create_llm(spec.chat_llm)
        if llm is None:
            raise RuntimeError("the crew's chat LLM could not be created")
        if hasattr(llm, "stream"):
            llm.stream = True
        history = [{"role": "system", "content": system}, *_chat_messages(state["messages"])]
        reply = llm.call(messages=history, tools=tools)  # type: ignore[arg-type]
        if isinstance(reply, str) or not reply:
            state["messages"].append({"role": "assistant", "content": str(reply or "")})
            return "replied"
        calls = [c for c in reply if isinstance(c, dict)]
        aliases = tool_aliases([a["function"]["name"] for a in actions])
        for c in calls:
            name = c["function"]["name"]
            c["function"] = {**c["function"], "name": aliases.get(name, name)}
        state["messages"].append({
            "role": "assistant", "content": "",
            "tool_calls": [{"id": c["id"], "type": "function",
                            "function": {"name": c["function"]["name"],
                                         "arguments": c["function"]["arguments"] or "{}"}}
                           for c in calls]})
        first = calls[0]
        name = first["function"]["name"]
        if name == spec.tool_name:
            self._run_crew(first)
            return "crew"
        if name == "crew_exit":
            copilotkit_exit()
            state["messages"].append({"role": "tool", "content": "Crew exited",
                                      "tool_call_id": first["id"]})
            goodbye = [{"role": "system", "content": "Indicate to the user that the crew has exited"},
                       *_chat_messages(state["messages"])]
            text = llm.call(messages=goodbye)  # type: ignore[arg-type]
            state["messages"].append({"role": "assistant", "content": str(text)})
            return "exited"
        # A frontend action: the run ends here, the frontend executes it.
        return "action"

    def _run_crew(self, call: dict[str, Any]) -> None:
        spec = self._spec
        assert spec is not None
        state = self.state
        try:
            args = json.loads(call["function"]["arguments"] or "{}")
        except ValueError:
            args = {}
        inputs = {**state["inputs"], **{k: v for k, v in args.items() if v is not None}}
        state["inputs"] = inputs
        missing = [n for n in spec.input_names if n not in inputs]
        if missing:
            state["messages"].append({
                "role": "tool", "tool_call_id": call["id"],
                "content": f"Missing inputs: {', '.join(missing)}. Ask the user for them."})
            state["messages"].append({"role": "assistant", "content":
                                      f"I still need: {', '.join(missing)}."})
            return
        progress: list[dict[str, Any]] = []
        state["progress"] = progress
        by_task: dict[str, dict[str, Any]] = {}

        def track(source: Any, event: Any) -> None:
            kind = getattr(event, "type", "")
            if kind == "task_started":
                task = getattr(event, "task", None)
                started: dict[str, Any] = {"task": _task_name(task), "agent": _agent_role(task),
                                           "status": "running"}
                by_task[str(getattr(task, "id", id(task)))] = started
                progress.append(started)
            elif kind in ("agent_execution_completed", "task_completed", "task_failed"):
                task = getattr(event, "task", None)
                entry = by_task.get(str(getattr(task, "id", id(task))))
                if entry is None:
                    return
                if kind == "agent_execution_completed":
                    entry["output"] = str(event.output)
                    return
                if kind == "task_failed":
                    entry.update(status="failed", error=str(getattr(event, "error", "")))
                else:
                    output = getattr(event, "output", None)
                    entry.update(status="completed", output=str(getattr(output, "raw", output)))
                    if spec.task_messages:
                        text = f"{entry['task']} ({entry['agent']}): {entry['output']}"
                        message_id = copilotkit_emit_message(text).value
                        state["messages"].append({"id": message_id, "role": "assistant",
                                                  "content": text})
            else:
                return
            copilotkit_emit_state(state)

        crew = spec.crew_factory()
        token = add_stream_sink(track)
        try:
            result = crew.kickoff(inputs=inputs)
        finally:
            reset_stream_sinks(token)
        raw = str(getattr(result, "raw", result))
        json_dict: dict[str, Any] | None = getattr(result, "json_dict", None)
        state["outputs"] = json_dict if json_dict else raw
        state["messages"].append({"role": "tool", "content": raw, "tool_call_id": call["id"]})
        state["messages"].append({"role": "assistant", "content": raw})


def _task_name(task: Any) -> str:
    name = getattr(task, "name", None)
    if name:
        return str(name)
    description = str(getattr(task, "description", "") or "task")
    return description if len(description) <= 60 else description[:57] + "..."


def _agent_role(task: Any) -> str:
    agent = getattr(task, "agent", None)
    return str(getattr(agent, "role", "") or "")
