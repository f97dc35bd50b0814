"""The dojo-pattern agents through both protocols with the real CopilotKit npm clients, compared
with ``ag-ui-langgraph``'s own endpoint serving the same graphs (same conversation, same fake
model): same messages, tool calls, state and interrupts.

* v1: ``@copilotkit/runtime-client-gql`` 1.10.6 (``tests/node/client.mjs``), turns built the way
  react-core 1.10.6 builds them (``test_langgraph_graphql_e2e.Frontend``).
* v2: ``@copilotkit/core`` (``tests/node-v2/client.mjs``; it offers the frontend tool
  ``setColor`` and runs it).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from dojo_graphs import DOCUMENT, STEPS
from dojo_parity import Conversation, app_state, reference_app, serve_app
from lg_helpers import build_runtime
from test_langgraph_dojo import EMAIL_TOOL, GRAPHS, SET_COLOR
from test_langgraph_e2e import run_v2_client
from test_langgraph_graphql_e2e import Frontend, agent_states, texts

from copilotkit_runtime.testing import ServedRuntime, serve_runtime

pytestmark = pytest.mark.node


@dataclass
class Servers:
    ours: ServedRuntime
    theirs: str

    def reference(self, agent: str, **kwargs: Any) -> Conversation:
        return Conversation(f"{self.theirs}/{agent}", **kwargs)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    import dojo_graphs

    runtime = build_runtime({name: {"provider": "langgraph", "graph": f"dojo_graphs:{factory}"}
                             for name, factory in GRAPHS.items()},
                            tmp_path_factory.mktemp("dojo-clients"))
    reference = reference_app({name: getattr(dojo_graphs, factory)()
                               for name, factory in GRAPHS.items()})
    with serve_runtime(runtime) as served, serve_app(reference) as origin:
        yield Servers(served, origin)


def actions(result: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(m["name"], json.loads(m["arguments"])) for m in result["messages"]
            if m["__typename"] == "ActionExecutionMessageOutput"]


def interrupt_values(result: dict[str, Any]) -> list[Any]:
    """The interrupt values as react-core reads them (``parseJson(value, value)``)."""
    return [_parse_json(e.get("value")) for e in result["metaEvents"]
            if e["name"] == "LangGraphInterruptEvent"]


def _parse_json(value: Any) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


def answer_action(chat: Frontend, result: dict[str, Any], answer: str) -> None:
    """What react-core appends after running a frontend action."""
    [call] = [m for m in result["messages"] if m["__typename"] == "ActionExecutionMessageOutput"]
    chat.messages.append({"type": "result", "id": f"result-{call['id']}",
                          "actionExecutionId": call["id"], "actionName": call["name"],
                          "result": answer})


def resume(chat: Frontend, result: dict[str, Any], answer: str) -> dict[str, Any]:
    [event] = result["metaEvents"]
    return chat.send(metaEvents=[{"name": event["name"], "value": event["value"],
                                  "response": answer}])


def roles_and_texts(messages: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(m["role"], m.get("content") or None) for m in messages]


# -- v1 GraphQL ----------------------------------------------------------------------------------

def test_v1_frontend_tools_from_state_round_trip(servers: Servers) -> None:
    chat = Frontend(servers.ours, "tools")
    asked = chat.send("make the color blue", actions=[SET_COLOR])
    answer_action(chat, asked, "color set to blue")
    followed = chat.send(actions=[SET_COLOR])

    reference = servers.reference("tools", tools=[SET_COLOR])
    first = reference.say("make the color blue")
    second = reference.answer_tool_call("color set to blue")
    assert actions(asked) == first.tool_calls == [("setColor", {"color": "blue"})]
    assert texts(followed) == second.texts == ["The page says: color set to blue"]


def test_v1_frontend_tools_and_readables_reach_state_ag_ui(servers: Servers) -> None:
    chat = Frontend(servers.ours, "agui")
    result = chat.send("what do you have?", actions=[SET_COLOR],
                       context=[{"description": "page", "value": "home"}])
    reference = servers.reference("agui", tools=[SET_COLOR],
                                  context=[{"description": "page", "value": "home"}])
    first = reference.say("what do you have?")
    assert texts(result) == first.texts == ["Tools: setColor. Context: page=home."]


def test_v1_predict_state_streams_state_and_the_interrupt_resumes(servers: Servers) -> None:
    chat = Frontend(servers.ours, "steps")
    asked = chat.send("plant a tree")
    reference = servers.reference("steps")
    first = reference.say("plant a tree")

    assert interrupt_values(asked) == first.interrupts == [{"steps": STEPS}]
    # Predictive state reaches a v1 client as agent state while the arguments stream.
    streamed = [s["state"].get("steps") for s in agent_states(asked) if s["state"].get("steps")]
    assert streamed[0] != STEPS and STEPS in streamed
    assert chat.state["steps"] == first.state["steps"] == STEPS
    assert chat.node_name == "confirm_node"

    resumed = resume(chat, asked, "Dig hole")
    second = reference.resume("Dig hole")
    assert texts(resumed) == second.texts == ["I did it: Dig hole."]


def test_v1_breakpoint_then_frontend_action_continues_at_the_node(servers: Servers) -> None:
    chat = Frontend(servers.ours, "email")
    reference = servers.reference("email", tools=[EMAIL_TOOL])
    asked = chat.send("write an email to the team", actions=[EMAIL_TOOL])
    first = reference.say("write an email to the team")
    assert interrupt_values(asked) == first.interrupts == ["Who is sending the email?"]

    drafted = resume(chat, asked, "Ada")
    second = reference.resume("Ada")
    assert actions(drafted) == second.tool_calls == [
        ("EmailTool", {"the_email": "Dear team, the runtime works."})]
    assert chat.node_name  # stopped at the breakpoint, still running

    answer_action(chat, drafted, "SEND")
    sent = chat.send(actions=[EMAIL_TOOL])
    third = reference.answer_tool_call("SEND", node_name="email_node")
    assert texts(sent) == third.texts == ["Sent: SEND"]
    assert sent["metaEvents"] == []  # not asked for the sender again
    assert app_state(chat.state)["sender"] == third.state["sender"] == "Ada"


def test_v1_subgraph_interrupt(servers: Servers) -> None:
    chat = Frontend(servers.ours, "trip")
    reference = servers.reference("trip")
    asked = chat.send("plan a trip")
    first = reference.say("plan a trip")
    assert interrupt_values(asked) == first.interrupts == [
        {"question": "Book this hotel?", "hotel": "Hotel Lumiere"}]
    resumed = resume(chat, asked, "yes")
    second = reference.resume("yes")
    assert texts(resumed) == second.texts == ["Your trip is ready: Hotel Lumiere."]


# -- v2 AG-UI ------------------------------------------------------------------------------------

def v2(servers: Servers, agent: str, *texts_: str) -> dict[str, Any]:
    result = run_v2_client({"url": servers.ours.url, "agent": agent,
                            "threadId": f"thread-{uuid.uuid4()}",
                            "steps": [{"op": "run", "text": t} for t in texts_]})
    assert result["errors"] == []
    return result


def test_v2_frontend_tools_from_state_round_trip(servers: Servers) -> None:
    result = v2(servers, "tools", "make the color blue")
    reference = servers.reference("tools", tools=[SET_COLOR])
    reference.say("make the color blue")
    reference.answer_tool_call("color set to blue")
    assert result["toolCalls"] == [{"color": "blue"}]
    [step] = result["steps"]
    assert roles_and_texts(step["messages"]) == roles_and_texts(reference.messages) == [
        ("user", "make the color blue"), ("assistant", None), ("tool", "color set to blue"),
        ("assistant", "The page says: color set to blue")]


def test_v2_predicted_document_and_interrupted_steps(servers: Servers) -> None:
    [document] = v2(servers, "document", "write a story")["steps"]
    reference = servers.reference("document", tools=[SET_COLOR])
    reference.say("write a story")
    assert app_state(document["state"]) == app_state(reference.state) == {"document": DOCUMENT}
    assert roles_and_texts(document["messages"]) == roles_and_texts(reference.messages)

    [steps] = v2(servers, "steps", "plant a tree")["steps"]
    reference = servers.reference("steps", tools=[SET_COLOR])
    reference.say("plant a tree")
    assert app_state(steps["state"]) == app_state(reference.state) == {"steps": STEPS}
    assert roles_and_texts(steps["messages"]) == roles_and_texts(reference.messages)


@pytest.mark.parametrize(("agent", "text", "answer", "asked", "done"), [
    ("steps", "plant a tree", "Dig hole", {"steps": STEPS}, "I did it: Dig hole."),
    ("trip", "plan a trip", "yes", {"question": "Book this hotel?", "hotel": "Hotel Lumiere"},
     "Your trip is ready: Hotel Lumiere."),
], ids=["predict-state-approval", "subgraph"])
@pytest.mark.parametrize("same_run_id", [False, True], ids=["resume", "same-run-id"])
def test_v2_interrupt_is_answered_with_resume_entries(servers: Servers, agent: str, text: str,
                                                      answer: str, asked: Any, done: str,
                                                      same_run_id: bool) -> None:
    """RUN_FINISHED outcome "interrupt", answered as @copilotkit/core sends it (useInterrupt's
    resolve pins the interrupted run's runId)."""
    result = run_v2_client({"url": servers.ours.url, "agent": agent,
                            "threadId": f"thread-{uuid.uuid4()}",
                            "steps": [{"op": "run", "text": text},
                                      {"op": "resume", "payload": answer,
                                       "sameRunId": same_run_id}]})
    assert result["errors"] == []
    first, second = result["steps"]
    reference = servers.reference(agent, tools=[SET_COLOR])
    theirs_first = reference.say(text)
    assert [i["metadata"]["value"] for i in first["interrupts"]] == theirs_first.interrupts == [
        asked]
    assert app_state(first["state"]) == app_state(theirs_first.state)
    theirs_second = reference.resume(answer)
    assert second["answered"] == 1 and second["interrupts"] == []
    texts_ = [m["content"] for m in second["messages"] if m["role"] == "assistant"
              and m.get("content")]
    assert texts_[-1] == theirs_second.texts[-1] == done
    assert roles_and_texts(second["messages"]) == roles_and_texts(reference.messages)
    assert app_state(second["state"]) == app_state(theirs_second.state)


def test_v2_frontend_tools_reach_state_ag_ui(servers: Servers) -> None:
    [step] = v2(servers, "agui", "what do you have?")["steps"]
    reference = servers.reference("agui", tools=[SET_COLOR])
    first = reference.say("what do you have?")
    assert roles_and_texts(step["messages"]) == roles_and_texts(reference.messages) == [
        ("user", "what do you have?"), ("assistant", "Tools: setColor. Context: none.")]
    assert first.texts == ["Tools: setColor. Context: none."]


def test_v1_regenerate_answers_the_last_user_message_again(servers: Servers) -> None:
    """What react-core 1.10.6's regenerate sends: the conversation up to the user message, the
    reply to it dropped. (ag-ui-langgraph appends a new answer instead; no parity here.)"""
    chat = Frontend(servers.ours, "echo")
    chat.send("first")
    chat.send("second")
    dropped = chat.messages.pop()
    assert dropped.get("content") == "You said 'second' (3 messages so far, 2 from you)"
    again = chat.send()
    assert texts(again) == ["You said 'second' (3 messages so far, 2 from you)"]
    assert [m.get("content") for m in chat.messages] == [
        "first", "You said 'first' (1 messages so far, 1 from you)",
        "second", "You said 'second' (3 messages so far, 2 from you)"]
    assert chat.messages[-1]["id"] != dropped["id"]
