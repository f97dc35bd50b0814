"""The LangGraph agent of the example (``[agents.planner]`` in ``copilotkit.toml``).

It turns the user's task into steps (shared state ``steps``, which the app shows with
``useCoAgent``), then asks before running them: a LangGraph ``interrupt()``, which the app
answers with ``useLangGraphInterrupt``. Replies come from a chat model: OpenAI through
``langchain-openai`` when ``OPENAI_API_KEY`` is set and that package is installed, otherwise a
fake model that streams a fixed sentence word by word (offline, no key).
"""

from __future__ import annotations

import os
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langgraph.checkpoint.memory import MemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import interrupt


class PlannerState(MessagesState):
    steps: list[str]
    status: str


def _model(offline_reply: str) -> BaseChatModel:
    if os.environ.get("OPENAI_API_KEY"):
        try:
            from langchain_openai import ChatOpenAI  # type: ignore[import-not-found]
        except ImportError:
            pass
        else:
            return ChatOpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))
    return GenericFakeChatModel(messages=iter([AIMessage(content=offline_reply)]))


def _task(messages: list[BaseMessage]) -> str:
    for message in reversed(messages):
        if message.type == "human":
            return str(message.content)
    return ""


def _steps_of(task: str) -> list[str]:
    """Steps from the task: its comma- or "then"-separated parts (at most five)."""
    parts = [p.strip(" .") for p in task.replace(" then ", ",").split(",")]
    steps = [p for p in parts if p][:5]
    return steps or ["think about it"]


async def plan(state: PlannerState) -> dict[str, Any]:
    steps = _steps_of(_task(state["messages"]))
    listing = "; ".join(f"{i + 1}. {s}" for i, s in enumerate(steps))
    model = _model(f"I planned {len(steps)} steps: {listing}.")
    reply = await model.ainvoke([
        SystemMessage(content=f"Tell the user, in one sentence, the plan: {listing}."),
        *state["messages"],
    ])
    return {"messages": [reply], "steps": steps, "status": "waiting for approval"}


async def approve(state: PlannerState) -> dict[str, Any]:
    answer = interrupt({"question": "Run these steps?", "steps": state["steps"]})
    approved = str(answer).strip().lower() in ("yes", "y", "approve", "approved", "true")
    status = "done" if approved else "cancelled"
    text = (f"Done: ran all {len(state['steps'])} steps." if approved
            else "Cancelled: nothing was run.")
    reply = await _model(text).ainvoke([
        SystemMessage(content=f"Tell the user in one sentence that the plan is {status}."),
        *state["messages"],
    ])
    return {"messages": [reply], "status": status}


def _build() -> Any:
    builder = StateGraph(PlannerState)
    builder.add_node("plan", plan)
    builder.add_node("approve", approve)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "approve")
    builder.add_edge("approve", END)
    return builder.compile(checkpointer=MemorySaver())


graph = _build()
