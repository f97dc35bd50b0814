"""Agents written for ag-ui-langgraph and the CopilotKit SDK run unchanged, and behave as under
their authors' endpoint.

Each test serves the same graph definition (``dojo_graphs``) twice, in the same process, over
real HTTP: by our runtime (AG-UI v2 route) and by ``ag-ui-langgraph``'s own FastAPI endpoint
(the reference), sends both the same requests and compares what a client keeps: messages, tool
calls, state, interrupts, predictive-state announcements. Each test also asserts the expected
values themselves, so two servers that are wrong the same way still fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from dojo_graphs import DOCUMENT, STEPS
from dojo_parity import Conversation, reference_app, serve_app
from lg_helpers import build_runtime

from copilotkit_runtime.testing import serve_runtime

GRAPHS = {
    "tools": "make_tools_graph",
    "steps": "make_steps_graph",
    "document": "make_document_graph",
    "email": "make_email_graph",
    "trip": "make_trip_graph",
    "echo": "make_echo_graph",
    "agui": "make_agui_state_graph",
}

SET_COLOR = {"name": "setColor", "description": "Set the page color",
             "parameters": {"type": "object", "properties": {"color": {"type": "string"}},
                            "required": ["color"]}}
EMAIL_TOOL = {"name": "EmailTool", "description": "Show the email for approval",
              "parameters": {"type": "object", "properties": {"the_email": {"type": "string"}}}}


@dataclass
class Servers:
    ours: str  # our runtime's base URL
    theirs: str  # the reference's origin

    def pair(self, agent: str, **kwargs: Any) -> tuple[Conversation, Conversation]:
        return (Conversation(f"{self.ours}/agent/{agent}/run", **kwargs),
                Conversation(f"{self.theirs}/{agent}", **kwargs))


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    import dojo_graphs

    runtime = build_runtime({name: {"provider": "langgraph", "graph": f"dojo_graphs:{factory}"}
                             for name, factory in GRAPHS.items()},
                            tmp_path_factory.mktemp("dojo"))
    reference = reference_app({name: getattr(dojo_graphs, factory)()
                               for name, factory in GRAPHS.items()})
    with serve_runtime(runtime) as served, serve_app(reference) as origin:
        yield Servers(served.url, origin)


def both(pair: tuple[Conversation, Conversation], step: str, *args: Any,
         **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Take the same step on both servers; their digests."""
    ours, theirs = (getattr(c, step)(*args, **kwargs).summary() for c in pair)
    return ours, theirs


# -- frontend tools where the dojo agents look for them ------------------------------------------

def test_frontend_tools_reach_state_tools_and_the_frontend_result_comes_back(servers) -> None:
    pair = servers.pair("tools", tools=[SET_COLOR])
    ours, theirs = both(pair, "say", "make the color blue")
    assert ours == theirs
    assert ours["error"] is None
    assert ours["tool_calls"] == [("setColor", {"color": "blue"})]
    ours, theirs = both(pair, "answer_tool_call", "color set to blue")
    assert ours == theirs
    assert ours["texts"] == ["The page says: color set to blue"]
    assert [m[0] for m in ours["messages"]] == ["user", "assistant", "tool", "assistant"]


def test_a_graph_offered_no_tools_sees_an_empty_list(servers) -> None:
    ours, theirs = both(servers.pair("tools"), "say", "hello")
    assert ours == theirs
    assert ours["texts"] == ["I was offered 0 tools: none"]


def test_frontend_tools_and_context_reach_state_ag_ui(servers) -> None:
    context = [{"description": "page", "value": "home"}, {"description": "user", "value": "Ada"}]
    ours, theirs = both(servers.pair("agui", tools=[SET_COLOR, EMAIL_TOOL], context=context),
                        "say", "what do you have?")
    assert ours == theirs
    assert ours["error"] is None
    assert ours["texts"] == ["Tools: setColor, EmailTool. Context: page=home; user=Ada."]


# -- predictive state declared the ag-ui-langgraph way -------------------------------------------

def test_predict_state_announces_streams_the_steps_and_interrupts_for_approval(servers) -> None:
    pair = servers.pair("steps", tools=[SET_COLOR])
    ours, theirs = both(pair, "say", "plant a tree")
    assert ours == theirs
    assert ours["error"] is None
    assert ours["predict_state"] == [
        [{"state_key": "steps", "tool": "plan_steps", "tool_argument": "steps"}]]
    assert ours["tool_calls"] == [("plan_steps", {"steps": STEPS})]
    assert ours["interrupts"] == [{"steps": STEPS}]
    assert ours["state"] == {"steps": STEPS}
    # Ours also sends the state while the arguments stream (the v1 GraphQL clients cannot
    # predict it themselves): partial lists first, the whole one last.
    streamed = [s["steps"] for s in pair[0].runs[-1].states if s.get("steps")]
    assert len(streamed) > 2 and streamed[0] != STEPS and STEPS in streamed

    ours, theirs = both(pair, "resume", "Dig hole, Water it")
    assert ours == theirs
    assert ours["texts"] == ["I did it: Dig hole, Water it."]
    assert ours["interrupts"] == []


def test_predicted_state_is_kept_until_the_tool_writes_it(servers) -> None:
    ours, theirs = both(servers.pair("document"), "say", "write a story")
    assert ours == theirs
    assert ours["error"] is None
    assert ours["state"] == {"document": DOCUMENT}
    assert ours["texts"] == ["I wrote the story."]
    # Between the model's node ending and the tool node writing the document, no snapshot
    # takes the predicted document back.
    conversation = Conversation(f"{servers.ours}/agent/document/run")
    conversation.say("write a story")
    documents = [s.get("document") for s in conversation.runs[-1].states]
    first_full = documents.index(DOCUMENT)
    assert all(d == DOCUMENT for d in documents[first_full:])


# -- an interrupt_after breakpoint answered by a frontend action ---------------------------------

def test_a_breakpoint_after_a_frontend_action_continues_where_it_stopped(servers) -> None:
    pair = servers.pair("email", tools=[EMAIL_TOOL])
    ours, theirs = both(pair, "say", "write an email to the team")
    assert ours == theirs
    assert ours["interrupts"] == ["Who is sending the email?"]
    ours, theirs = both(pair, "resume", "Ada")
    assert ours == theirs
    assert ours["tool_calls"] == [("EmailTool", {"the_email": "Dear team, the runtime works."})]
    assert ours["state"]["sender"] == "Ada"
    # The app shows the email, the user approves: the graph continues after email_node.
    ours, theirs = both(pair, "answer_tool_call", "SEND", node_name="email_node")
    assert ours == theirs
    assert ours["error"] is None
    assert ours["interrupts"] == []  # not asked for the sender again
    assert ours["texts"] == ["Sent: SEND"]


# -- subgraphs ------------------------------------------------------------------------------------

def test_a_subgraph_interrupt_is_asked_and_resumed(servers) -> None:
    pair = servers.pair("trip")
    ours, theirs = both(pair, "say", "plan a trip")
    assert ours == theirs
    assert ours["texts"] == ["Let me find you a hotel in Paris."]
    assert ours["interrupts"] == [{"question": "Book this hotel?", "hotel": "Hotel Lumiere"}]
    # Inside the subgraph: its nodes as steps, and its writes as state at their boundaries.
    for conversation in pair:
        run = conversation.runs[-1]
        assert {"hotel_search", "hotel_confirm"} <= run.steps, conversation.url
        assert {"destination": "Paris", "hotel": "Hotel Lumiere"} in run.states, conversation.url
    ours, theirs = both(pair, "resume", "yes")
    assert ours == theirs
    assert ours["texts"] == ["Your trip is ready: Hotel Lumiere."]
    assert ours["state"]["hotel"] == "Hotel Lumiere"


# -- regenerate ------------------------------------------------------------------------------------

def test_an_edited_user_message_is_answered_again_from_where_it_was(servers) -> None:
    pair = servers.pair("echo")
    both(pair, "say", "first")
    both(pair, "say", "second")
    for conversation in pair:
        conversation.messages[2]["content"] = "second, edited"
    ours, theirs = both(pair, "run")
    assert ours == theirs
    assert ours["texts"] == ["You said 'second, edited' (3 messages so far, 2 from you)"]
    assert [m[1] for m in ours["messages"]] == [
        "first", "You said 'first' (1 messages so far, 1 from you)",
        "second, edited", "You said 'second, edited' (3 messages so far, 2 from you)"]


def test_regenerate_forks_before_the_last_user_message(servers) -> None:
    # The CopilotKit SDK's heuristic (ag-ui-langgraph 0.0.47 appends a new answer instead).
    conversation = Conversation(f"{servers.ours}/agent/echo/run")
    conversation.say("first")
    conversation.say("second")
    answer = conversation.messages.pop()  # "regenerate" the last answer
    digest = conversation.run()
    assert digest.error is None
    assert [m[1] for m in digest.messages] == [
        "first", "You said 'first' (1 messages so far, 1 from you)",
        "second", "You said 'second' (3 messages so far, 2 from you)"]
    assert digest.of("MESSAGES_SNAPSHOT")[-1]["messages"][-1]["id"] != answer["id"]
