"""CrewAI flows served through the runtime engine (no LLM)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
import sample_agents
from helpers import (
    UserMessage,
    action,
    collect,
    crewai_runtime,
    run_request,
    texts,
    tool_message_history,
    types,
)

from copilotkit_runtime.events import event_to_dict

pytestmark = pytest.mark.anyio

ECHO = {"flow": "sample_agents:EchoFlow"}


async def test_a_reply_streams_as_a_message_and_steps_bracket_each_method(tmp_path: Path) -> None:
    async with crewai_runtime(tmp_path, echo=ECHO) as rt:
        events = await collect(rt, run_request("echo", "hello"))
    assert texts(events) == ["You said: hello"]
    steps = [(e["type"], e["stepName"]) for e in events if e["type"].startswith("STEP_")]
    assert steps == [("STEP_STARTED", "respond"), ("STEP_FINISHED", "respond"),
                     ("STEP_STARTED", "summarize"), ("STEP_FINISHED", "summarize")]
    assert types(events)[0] == "RUN_STARTED" and types(events)[-1] == "RUN_FINISHED"


async def test_state_changes_stream_as_snapshots_without_private_keys(tmp_path: Path) -> None:
    async with crewai_runtime(tmp_path, echo=ECHO) as rt:
        events = await collect(rt, run_request("echo", "hello"))
    snapshots = [e["snapshot"] for e in events if e["type"] == "STATE_SNAPSHOT"]
    assert {"turns", "last", "summary", "progress"} <= set(snapshots[-1])
    assert [s["progress"] for s in snapshots if s["progress"]] [:1] == [50]  # emitted mid-step
    assert all(not {"messages", "copilotkit", "id"} & set(s) for s in snapshots)
    assert snapshots[-1]["summary"] == "replied after 1 turn(s)"


async def test_the_final_state_is_the_threads_state(tmp_path: Path) -> None:
    async with crewai_runtime(tmp_path, echo=ECHO) as rt:
        request = run_request("echo", "hello")
        await collect(rt, request)
        snapshot = await rt.engine.load_thread("echo", request.thread_id)
    assert snapshot.exists
    assert snapshot.state["turns"] == 1 and snapshot.state["summary"].startswith("replied")
    assert [m["role"] for m in snapshot.messages] == ["user", "assistant"]
    assert snapshot.messages[-1]["content"] == "You said: hello"


async def test_the_next_run_continues_from_the_stored_state(tmp_path: Path) -> None:
    async with crewai_runtime(tmp_path, echo=ECHO) as rt:
        first = run_request("echo", "one")
        await collect(rt, first)
        stored = await rt.engine.load_thread("echo", first.thread_id)
        history = [*first.input.messages, UserMessage(id=str(uuid.uuid4()), content="two")]
        second = run_request("echo", thread_id=first.thread_id, messages=history)
        events = await collect(rt, second)
        snapshot = await rt.engine.load_thread("echo", first.thread_id)
    assert stored.state["turns"] == 1
    assert texts(events) == ["You said: two"]
    assert snapshot.state["turns"] == 2
    assert [m.get("content") for m in snapshot.messages if m["role"] == "user"] == ["one", "two"]


async def test_the_frontends_shared_state_reaches_the_flow(tmp_path: Path) -> None:
    async with crewai_runtime(tmp_path, echo=ECHO) as rt:
        events = await collect(rt, run_request("echo", "hi", state={"turns": 41, "summary": "x"}))
    final = [e["snapshot"] for e in events if e["type"] == "STATE_SNAPSHOT"][-1]
    assert final["turns"] == 42


async def test_a_frontend_action_call_ends_the_run_and_its_result_continues(tmp_path: Path) -> None:
    async with crewai_runtime(tmp_path, echo=ECHO) as rt:
        events = await collect(rt, run_request("echo", "please showAlert hi", tools=[action()]))
        calls = [e for e in events if e["type"] == "TOOL_CALL_START"]
        assert [c["toolCallName"] for c in calls] == ["showAlert"]
        assert types(events)[-1] == "RUN_FINISHED"
        assert texts(events) == []

        history = tool_message_history("please showAlert hi", "showAlert", "alert shown")
        follow_up = await collect(rt, run_request("echo", messages=history, tools=[action()]))
    assert texts(follow_up) == ["The action returned: alert shown"]


async def test_frontend_actions_are_offered_as_openai_tools(tmp_path: Path) -> None:
    from copilotkit_provider_crewai.messages import tools_to_openai

    tools = tools_to_openai([action("setTheme")])
    assert tools == [{"type": "function", "function": {
        "name": "setTheme", "description": "The setTheme frontend action",
        "parameters": {"type": "object", "properties": {"value": {"type": "string"}}}}}]


async def test_a_plain_dict_state_flow_works_unchanged(tmp_path: Path) -> None:
    async with crewai_runtime(tmp_path, counter={"flow": "sample_agents:DictStateFlow"}) as rt:
        request = run_request("counter", "go", state={"count": 4})
        events = await collect(rt, request)
        snapshot = await rt.engine.load_thread("counter", request.thread_id)
    assert texts(events) == ["count is 5"]
    assert snapshot.state["count"] == 5


async def test_emitted_and_streamed_messages_are_not_duplicated(tmp_path: Path) -> None:
    async with crewai_runtime(tmp_path, talk={"flow": "sample_agents:EmitFlow"}) as rt:
        events = await collect(rt, run_request("talk", "hi"))
    assert texts(events) == ["Working on it...", "Hello from the stream"]
    started = [e["messageId"] for e in events if e["type"] == "TEXT_MESSAGE_START"]
    snapshot = [e for e in events if e["type"] == "MESSAGES_SNAPSHOT"][-1]["messages"]
    assert [m["id"] for m in snapshot if m["role"] == "assistant"] == started
    assert all(mid for mid in started)  # never the SDK's empty message id


async def test_predicted_state_follows_streamed_tool_arguments(tmp_path: Path) -> None:
    async with crewai_runtime(tmp_path, plan={"flow": "sample_agents:PredictFlow"}) as rt:
        events = await collect(rt, run_request("plan", "plan it"))
    predicted = [e["snapshot"]["steps"] for e in events
                 if e["type"] == "STATE_SNAPSHOT" and "steps" in e["snapshot"]]
    assert predicted[-1] == ["research", "write", "review"]
    assert len(predicted) >= 2 and len(predicted[0]) < 3  # it grew while streaming
    assert any(e["type"] == "CUSTOM" and e["name"] == "PredictState" for e in events)


async def test_an_exception_in_a_step_fails_that_run_with_a_clear_error(tmp_path: Path) -> None:
    async with crewai_runtime(tmp_path, bad={"flow": "sample_agents:FailingFlow"}, echo=ECHO) as rt:
        events = await collect(rt, run_request("bad", "hi"))
        error = events[-1]
        assert error["type"] == "RUN_ERROR"
        # Production default: the agent is named, the exception's text stays in the server log.
        assert error["message"] == "Agent 'bad' failed."
        # only that run failed
        assert types(await collect(rt, run_request("echo", "still there?")))[-1] == "RUN_FINISHED"


async def test_copilotkit_exit_ends_the_session(tmp_path: Path) -> None:
    async with crewai_runtime(tmp_path, echo=ECHO) as rt:
        events = await collect(rt, run_request("echo", "bye"))
    assert any(e["type"] == "CUSTOM" and e["name"] == "copilotkit_exit" for e in events)
    last_state = [e for e in events if e["type"] == "CUSTOM" and e["name"] == "copilotkit_agent_state"][-1]
    assert last_state["value"]["running"] is False


async def _until(stream, predicate) -> dict:
    async for event in stream:
        data = event_to_dict(event)
        if predicate(data):
            return data
    raise AssertionError("the stream ended first")


async def test_stop_cancels_a_waiting_async_step_promptly(tmp_path: Path) -> None:
    sample_agents.SLOW_STEP_STARTED.clear()
    sample_agents.SLOW_STEP_ENDED.clear()
    async with crewai_runtime(tmp_path, slow={"flow": "sample_agents:SlowAsyncFlow"}) as rt:
        request = run_request("slow", "go")
        run = await rt.engine.start(request)
        stream = run.events()
        await _until(stream, lambda e: e["type"] == "TEXT_MESSAGE_START")
        assert await rt.engine.stop(request.thread_id)
        rest = [event_to_dict(e) async for e in stream]
        assert rest[-1]["type"] == "RUN_FINISHED"
        assert run.outcome == "stopped"
        # the flow's own task was cancelled too: its step's finally ran
        assert await asyncio.to_thread(sample_agents.SLOW_STEP_ENDED.wait, 30)


async def test_a_disconnect_stops_a_synchronous_step_at_its_next_event(tmp_path: Path) -> None:
    sample_agents.SLOW_STEP_STARTED.clear()
    sample_agents.SLOW_STEP_ENDED.clear()
    async with crewai_runtime(tmp_path, slow={"flow": "sample_agents:SlowSyncFlow"},
                              echo=ECHO) as rt:
        request = run_request("slow", "go")
        stream = rt.engine.stream(request)
        await _until(stream, lambda e: e["type"] == "STATE_SNAPSHOT" and "step" in e["snapshot"])
        await stream.aclose()  # the client went away
        # the step stopped at its next progress report instead of running its 30 seconds
        assert await asyncio.to_thread(sample_agents.SLOW_STEP_ENDED.wait, 30)
        # and the thread's run lock was released
        after = await collect(rt, run_request("echo", "next", thread_id=request.thread_id))
    assert types(after)[-1] == "RUN_FINISHED"


async def test_a_factory_function_can_build_the_flow(tmp_path: Path) -> None:
    async with crewai_runtime(tmp_path, f={"flow": "sample_agents:make_echo_flow"}) as rt:
        events = await collect(rt, run_request("f", "made"))
    assert texts(events) == ["You said: made"]


async def test_concurrent_runs_see_only_their_own_events(tmp_path: Path) -> None:
    async with crewai_runtime(tmp_path, echo=ECHO, talk={"flow": "sample_agents:EmitFlow"}) as rt:
        results = await asyncio.gather(*(
            collect(rt, run_request("echo" if i % 2 else "talk", f"message {i}")) for i in range(8)))
    for i, events in enumerate(results):
        expected = [f"You said: message {i}"] if i % 2 else ["Working on it...", "Hello from the stream"]
        assert texts(events) == expected
        assert types(events)[-1] == "RUN_FINISHED"


async def test_error_details_stay_hidden_when_the_operator_says_so(tmp_path: Path) -> None:
    from copilotkit_runtime.testing import make_runtime

    runtime = make_runtime({"server": {"expose_error_details": False},
                            "agents": {"bad": {"provider": "crewai", "flow": "sample_agents:FailingFlow"}}},
                           tmp_path=tmp_path, load_entry_points=True)
    async with runtime.lifespan():
        events = await collect(runtime, run_request("bad", "hi"))
    assert events[-1]["type"] == "RUN_ERROR"
    assert "42" not in events[-1]["message"] and "'bad'" in events[-1]["message"]
