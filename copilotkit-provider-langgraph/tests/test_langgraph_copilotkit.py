"""A real CopilotKit SDK agent (``agents/todo_agent.py``, the reference transcripts' demo agent,
unchanged, importing the ``copilotkit`` package) runs in the provider the way it runs behind the
reference runtime: frontend actions and readables in ``state.copilotkit``, shared state in and
out, the SDK's emit helpers, interrupts, exit.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ag_ui.core import Context, EventType, ResumeEntry, SystemMessage, Tool
from lg_helpers import TODO_GRAPH, Client

pytestmark = pytest.mark.anyio

ADD_TODO = Tool(name="addTodo", description="Add a todo in the app",
                parameters={"type": "object", "properties": {"title": {"type": "string"}},
                            "required": ["title"]})
SHOW_COUNT = Tool(name="showTodoCount", description="Show the counts",
                  parameters={"type": "object", "properties": {"open": {"type": "number"},
                                                               "done": {"type": "number"}}})


@pytest.fixture
async def todo(runtimes):
    runtime = await runtimes({"todo_agent": {"provider": "langgraph", "graph": TODO_GRAPH}})
    return lambda **kw: Client(runtime, "todo_agent", **kw)


def test_the_agent_is_the_sdk_one_unchanged() -> None:
    source = Path(TODO_GRAPH.rsplit(":", 1)[0])
    text = source.read_text(encoding="utf-8")
    assert "from copilotkit import CopilotKitState" in text
    assert "from copilotkit.langgraph import" in text
    reference = Path(__file__).parents[3] / "shared/reference/transcripts-langgraph/todo_agent.py"
    if reference.is_file():
        assert text == reference.read_text(encoding="utf-8")


async def test_frontend_action_ends_the_run_and_its_result_continues_the_thread(todo) -> None:
    client = todo(tools=[ADD_TODO])
    turn = await client.send("Please add water the plants with the app")

    assert turn.last.type is EventType.RUN_FINISHED
    assert turn.text == ""
    [call] = turn.tool_calls
    assert call["name"] == "addTodo"
    assert json.loads(call["args"]) == {"title": "water the plants"}
    assert len(call["chunks"]) >= 2  # arguments streamed as the model produced them
    # The tool call's parent is the AIMessage the checkpoint holds, so the client's copy of it
    # is recognised on the next run instead of being added twice.
    assistant = [m for m in turn.messages if m["role"] == "assistant"]
    assert assistant[-1]["id"] == call["parent"]
    assert assistant[-1]["toolCalls"][0]["id"] == call["id"]
    assert turn.agent_states[-1]["nodeName"] == "__end__"

    client.answer_tool_call(call["id"], "Added water the plants")
    follow_up = await client.send()

    assert follow_up.text.startswith("The app says: Added water the plants.")
    roles = [m["role"] for m in follow_up.messages]
    assert roles == ["user", "assistant", "tool", "assistant"]
    snapshot = await client.runtime.engine.load_thread("todo_agent", client.thread_id)
    assert [m["role"] for m in snapshot.messages] == roles


async def test_actions_and_readables_reach_state_copilotkit(todo) -> None:
    client = todo(tools=[ADD_TODO], context=[Context(description="The user's name", value="Ada")])
    client.messages.append(SystemMessage(id="system-1", content="You are helpful."))
    turn = await client.send("what do you know")

    assert turn.text == ("copilotkit keys: actions, context. Context: The user's name = Ada. "
                         "System messages in my history: 0.")
    assert turn.state["copilotkit"]["actions"] == [
        {"name": "addTodo", "description": "Add a todo in the app",
         "parameters": ADD_TODO.parameters}]


async def test_shared_state_comes_in_and_goes_back_out(todo) -> None:
    client = todo(state={"todos": [{"id": "todo-7", "title": "from the UI", "done": False}]})
    turn = await client.send("add buy milk")

    assert turn.state["todos"] == [{"id": "todo-7", "title": "from the UI", "done": False},
                                   {"id": "todo-8", "title": "buy milk", "done": False}]
    # The frontend edits the shared state; its version wins over the checkpoint's.
    client.state = {**client.state, "todos": []}
    turn = await client.send("add call mom")
    assert turn.state["todos"] == [{"id": "todo-1", "title": "call mom", "done": False}]
    snapshot = await client.runtime.engine.load_thread("todo_agent", client.thread_id)
    assert snapshot.state["todos"] == turn.state["todos"]


async def test_state_emitted_mid_node_is_sent_while_the_node_runs(todo) -> None:
    turn = await todo().send("add buy milk")

    states = turn.agent_states
    emitted = [s for s in states
               if s["state"] == {"todos": [{"id": "todo-1", "title": "buy milk", "done": False,
                                            "saving": True}]}]
    assert emitted and emitted[0]["nodeName"] == "add_todo" and emitted[0]["active"] is True
    types = turn.types
    first_emitted = next(i for i, e in enumerate(turn.events)
                         if e.type is EventType.STATE_SNAPSHOT and "saving" in json.dumps(e.snapshot))
    assert first_emitted < types.index("TEXT_MESSAGE_START") < types.index("STEP_FINISHED", types.index("STEP_STARTED", 2))
    # Node boundaries are steps, with the state after each node.
    steps = [e.step_name for e in turn.of(EventType.STEP_STARTED)]
    assert steps == ["__start__", "add_todo"]
    assert {"nodeName": "add_todo", "active": False, "running": True}.items() <= states[-2].items()
    assert states[-1]["nodeName"] == "__end__" and states[-1]["active"] is False
    assert states[-1]["state"]["todos"] == [{"id": "todo-1", "title": "buy milk", "done": False}]


async def test_langgraph_interrupt_surfaces_and_resumes_from_the_checkpoint(todo) -> None:
    client = todo()
    await client.send("add buy milk")
    turn = await client.send("delete buy milk")

    assert turn.custom("on_interrupt") == [
        {"question": "Delete buy milk?", "todo": {"id": "todo-1", "title": "buy milk", "done": False}}]
    assert turn.text == ""
    finished = turn.last
    assert finished.type is EventType.RUN_FINISHED
    [pending] = finished.outcome.interrupts
    assert turn.agent_states[-1] | {"state": None} == {
        "nodeName": "confirm_delete", "active": False, "running": True, "state": None}

    resumed = await client.send(resume=[ResumeEntry(interrupt_id=pending.id, status="resolved",
                                                    payload="yes")])
    assert resumed.text == "Deleted buy milk. You have 0 todos: none."
    assert resumed.state["todos"] == []
    assert resumed.last.outcome is None
    assert resumed.agent_states[-1]["nodeName"] == "__end__"


async def test_a_run_without_an_answer_shows_the_pending_interrupt_again(todo) -> None:
    client = todo()
    await client.send("add buy milk")
    await client.send("delete buy milk")
    again = await client.send()
    assert again.custom("on_interrupt")[0]["question"] == "Delete buy milk?"
    assert again.text == ""


async def test_copilotkit_interrupt_asks_in_the_chat_and_the_next_message_answers(todo) -> None:
    client = todo()
    await client.send("add buy milk")
    turn = await client.send("clear all")

    [event] = turn.custom("copilotkit_interrupt")
    assert event["value"] == "Clear all 1 todos? Answer yes or no."
    [question] = event["messages"]
    assert question["role"] == "assistant" and question["content"] == event["value"]
    assert turn.text == ""  # the question is not streamed as a text message
    assert turn.last.outcome.interrupts[0].reason == "copilotkit_interrupt"

    # react-core appends the question to the chat; the user answers in the chat.
    from lg_helpers import _message

    client.messages.append(_message(question))
    answer = await client.send("yes please")
    assert answer.text == "Cleared. You have 0 todos."
    assert answer.state["todos"] == []
    contents = [m.get("content") for m in answer.messages]
    assert "Clear all 1 todos? Answer yes or no." in contents and "yes please" in contents


async def test_emit_message_emit_tool_call_and_a_hidden_model_call(todo) -> None:
    client = todo(tools=[SHOW_COUNT])
    await client.send("add buy milk")
    turn = await client.send("summary")

    texts = list(turn.texts.values())
    assert texts == ["Counting your todos..."]
    content_events = turn.of(EventType.TEXT_MESSAGE_CONTENT)
    assert len(content_events) == 1  # emitted whole, one chunk
    [call] = turn.tool_calls
    assert call["name"] == "showTodoCount" and call["id"] == call["parent"]
    assert json.loads(call["args"]) == {"open": 1, "done": 0}
    # emit_messages=False hid the streamed reply; it still arrives with the final messages.
    assert "You have 1 open and 0 done todos." not in turn.text
    assert any(m.get("content") == "You have 1 open and 0 done todos." for m in turn.messages)


async def test_predictive_state_streams_tool_arguments_into_state(todo) -> None:
    turn = await todo().send("plan my day")

    predicted = [s["state"].get("todos") for s in turn.agent_states
                 if s["nodeName"] == "plan" and s["active"]]
    predicted = [p for p in predicted if p]
    assert len(predicted) >= 3  # grows while the model streams the SetTodos call
    assert len(predicted[-1]) == 3
    assert not turn.of(EventType.TOOL_CALL_START)  # emit_tool_calls=False
    assert [t["title"] for t in turn.state["todos"]] == [
        "Write the report", "Call the plumber", "Book flights"]
    assert turn.text == "Planned 3 todos: Write the report, Call the plumber, Book flights."


async def test_copilotkit_exit_ends_with_running_false(todo) -> None:
    turn = await todo().send("bye")
    assert turn.custom("copilotkit_exit") == [True]
    assert turn.text == "Goodbye! Your todos are saved."
    assert turn.agent_states[-1]["running"] is False
    assert all(s["running"] for s in turn.agent_states[:-1])
