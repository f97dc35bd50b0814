"""The testing kit plugin authors use: ScriptedProvider, RuntimeClient, provider helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from copilotkit_runtime.default_plugins.topic_guardrail import TopicGuardrail, TopicOptions
from copilotkit_runtime.errors import UnauthorizedError
from copilotkit_runtime.middleware import Principal, RequestContext, RequestMiddleware
from copilotkit_runtime.testing import (
    GuardrailContract,
    MiddlewareContract,
    ProviderContract,
    RuntimeClient,
    ScriptedProvider,
    make_provider,
    make_runtime,
    provider_context,
    scripted_plugin,
)

pytestmark = pytest.mark.anyio

AGENTS = {"reply": {"provider": "scripted"}, "say": {"provider": "scripted", "mode": "say"},
          "boom": {"provider": "scripted", "mode": "raise_midway"},
          "echo": {"provider": "scripted", "mode": "echo"},
          "count": {"provider": "scripted", "mode": "count"}}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[RuntimeClient]:
    runtime = make_runtime({"agents": AGENTS}, plugins={"scripted": scripted_plugin},
                           tmp_path=tmp_path)
    async with RuntimeClient(runtime) as client:
        yield client


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


async def test_the_client_runs_an_agent_over_agui(client: RuntimeClient) -> None:
    events = await client.run("say", "hello there", thread_id="t-1")
    assert types(events) == ["RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT",
                             "TEXT_MESSAGE_END", "RUN_FINISHED"]
    assert events[2]["delta"] == "hello there" and events[0]["threadId"] == "t-1"
    provider = client.runtime.providers["say"]
    assert isinstance(provider, ScriptedProvider)
    assert provider.requests[0].last_user_text() == "hello there"
    assert provider.cleaned_up == provider.started


async def test_a_failing_agent_fails_its_run_only(client: RuntimeClient) -> None:
    failed = await client.run("boom", "hi")
    assert types(failed)[-1] == "RUN_ERROR"
    assert types(await client.run("reply", "hi"))[-1] == "RUN_FINISHED"


async def test_the_client_speaks_graphql_and_info(client: RuntimeClient) -> None:
    answer = await client.graphql("{ availableAgents { agents { name } } }")
    names = {a["name"] for a in answer["data"]["availableAgents"]["agents"]}
    assert names == set(AGENTS)
    assert set((await client.info())["agents"]) == set(AGENTS)


async def test_the_history_of_a_thread_replays_through_connect(client: RuntimeClient) -> None:
    await client.run("reply", "hi", thread_id="t-2")
    history = await client.connect("reply", "t-2")
    assert "RUN_STARTED" in types(history) and types(history)[-1] == "RUN_FINISHED"


async def test_a_frontend_tool_round_trip(client: RuntimeClient) -> None:
    tool = {"name": "setColor", "description": "Set the color",
            "parameters": {"type": "object", "properties": {"color": {"type": "string"}}}}
    first = await client.run("reply", "please setColor", thread_id="t-3", tools=[tool])
    start = next(e for e in first if e["type"] == "TOOL_CALL_START")
    assert start["toolCallName"] == "setColor"
    messages = [{"id": "u1", "role": "user", "content": "please setColor"},
                {"id": "a1", "role": "assistant", "toolCalls": [{
                    "id": start["toolCallId"], "type": "function",
                    "function": {"name": "setColor", "arguments": "{}"}}]},
                {"id": "r1", "role": "tool", "toolCallId": start["toolCallId"], "content": "red"}]
    second = await client.run("reply", messages, thread_id="t-3", tools=[tool])
    text = "".join(e["delta"] for e in second if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert text == "The tool returned: red"


async def test_echo_answers_with_what_reached_the_provider(client: RuntimeClient) -> None:
    import json

    tool = {"name": "addTodo", "description": "Adds", "parameters": {"type": "object"}}
    events = await client.run("echo", "show me", thread_id="t-echo", state={"todos": ["milk"]},
                              tools=[tool], forwarded_props={"model": "m1"})
    seen = json.loads("".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT"))
    assert seen["thread_id"] == "t-echo" and seen["state"] == {"todos": ["milk"]}
    assert [t["name"] for t in seen["tools"]] == ["addTodo"]
    assert seen["forwarded_props"] == {"model": "m1"}
    assert [m["content"] for m in seen["messages"]] == ["show me"]


async def test_count_steps_and_state_like_a_graph_agent(client: RuntimeClient) -> None:
    events = await client.run("count", "go", state={"count": 41})
    assert [e["type"] for e in events if e["type"].startswith(("STEP", "STATE"))] == [
        "STEP_STARTED", "STATE_SNAPSHOT", "STEP_FINISHED", "STATE_SNAPSHOT"]
    assert events[-2]["snapshot"] == {"count": 42, "status": "done"}
    text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert text == "Count is 42."


async def test_raise_midway_text_error_and_final_state(tmp_path: Path) -> None:
    from copilotkit_runtime.testing import collect_events, run_request

    boom = make_provider(ScriptedProvider, {"mode": "raise_midway", "text": "Partial answer",
                                            "error": "secret"}, tmp_path=tmp_path)
    seen: list[Any] = []
    with pytest.raises(RuntimeError, match="^secret$"):
        async for event in boom.run(run_request("boom")):
            seen.append(event)
    assert [getattr(e, "delta", None) for e in seen] == [None, "Partial ", "answer"]
    waiting = make_provider(ScriptedProvider, {"mode": "say", "final_state": {"finished": True}})
    events = await collect_events(waiting.run(run_request("say", "hi")))
    assert events[-1].snapshot == {"finished": True}  # type: ignore[attr-defined]
    reply = make_provider(ScriptedProvider, {"final_state": {"only": 1}})
    snapshots = [e for e in await collect_events(reply.run(run_request("r"))) if e.type == "STATE_SNAPSHOT"]
    assert [e.snapshot for e in snapshots] == [{"only": 1}]  # type: ignore[attr-defined]


async def test_interrupt_then_resume(tmp_path: Path) -> None:
    from ag_ui.core import ResumeEntry

    from copilotkit_runtime.events import INTERRUPT_EVENT
    from copilotkit_runtime.testing import collect_events, run_request

    provider = make_provider(ScriptedProvider, {"mode": "interrupt", "step": "confirm",
                                                "interrupt": {"q": "Delete?"}}, tmp_path=tmp_path)
    asked = await collect_events(provider.run(run_request("i", "delete it", state={"n": 1})))
    assert [e.type for e in asked] == ["STEP_STARTED", "STATE_SNAPSHOT", "CUSTOM"]
    assert asked[0].step_name == "confirm"  # type: ignore[attr-defined]
    assert (asked[2].name, asked[2].value) == (INTERRUPT_EVENT, {"q": "Delete?"})  # type: ignore[attr-defined]
    request = run_request("i", "delete it", state={"n": 1})
    request.input.resume = [ResumeEntry(interrupt_id="i1", status="resolved", payload="yes")]
    answered = await collect_events(provider.run(request))
    assert "".join(getattr(e, "delta", "") for e in answered) == "You answered: yes"
    assert answered[-1].snapshot == {"n": 1, "answer": "yes"}  # type: ignore[attr-defined]


def test_release_and_wait_for_from_another_thread(tmp_path: Path) -> None:
    """A test thread drives a served runtime: wait_for blocks it, release reaches the loop."""
    import httpx

    from copilotkit_runtime.testing import serve_runtime

    runtime = make_runtime({"agents": {"slow": {"provider": "scripted", "mode": "wait"}}},
                           plugins={"scripted": scripted_plugin}, tmp_path=tmp_path)
    with serve_runtime(runtime) as served:
        slow = runtime.providers["slow"]
        assert isinstance(slow, ScriptedProvider)
        with pytest.raises(TimeoutError, match="0 run"):
            slow.wait_for("started", timeout=0.05)
        body = RuntimeClient.run_body("go", thread_id="t-w")
        with httpx.stream("POST", f"{served.url}/agent/slow/run", json=body, timeout=30) as live:
            lines = live.iter_lines()
            next(lines)
            slow.wait_for("started")
            assert slow.cleaned_up == []
            slow.release("t-w")
            rest = [line for line in lines if line.startswith("data: ")]
        assert '"RUN_FINISHED"' in rest[-1]
        slow.wait_for("cleaned_up")
        assert slow.cancelled == []


def test_make_provider_validates_options_like_the_config(tmp_path: Path) -> None:
    provider = make_provider(ScriptedProvider, {"mode": "say"}, name="echo", tmp_path=tmp_path)
    assert (provider.name, provider.options.mode) == ("echo", "say")
    assert provider.context.data_dir == tmp_path
    with pytest.raises(ValidationError, match="mood"):
        make_provider(ScriptedProvider, {"mood": "say"})


def test_provider_context_defaults_to_a_memory_store(tmp_path: Path) -> None:
    from copilotkit_runtime.default_plugins.memory_store import MemoryStore

    context = provider_context(tmp_path)
    assert isinstance(context.store, MemoryStore)
    assert (context.config_dir, context.data_dir, dict(context.actions)) == (tmp_path, tmp_path, {})


class TestScriptedProviderContract(ProviderContract):
    """The public ScriptedProvider passes the contract it helps others pass (every ability)."""

    tool_prompt = "please call contract_tool"
    starting_state = {"color": "red"}

    @pytest.fixture
    async def provider(self, tmp_path: Path) -> AsyncIterator[ScriptedProvider]:
        provider = make_provider(ScriptedProvider, {"delay": 0.01}, tmp_path=tmp_path)
        await provider.startup()
        yield provider
        await provider.shutdown()


class TestTopicGuardrailContract(GuardrailContract):
    """The built-in topic guardrail passes the guardrail contract."""

    allowed_prompt = "what is the weather like"
    blocked_prompt = "tell me about politics"

    @pytest.fixture
    def guardrail(self) -> TopicGuardrail:
        return TopicGuardrail("topics", TopicOptions(deny_list=["politics"]))


class KeyMiddleware(RequestMiddleware):
    """A header key, as a plugin author would write it."""

    authenticates_users = True

    async def authenticate(self, context: RequestContext) -> Principal:
        if context.headers.get("x-key") != "secret":
            raise UnauthorizedError("a valid x-key header is needed")
        return Principal("key-user", kind="api_key")


class TestKeyMiddlewareContract(MiddlewareContract):
    def allowed_headers(self) -> dict[str, str]:
        return {"x-key": "secret"}

    def refused_headers(self) -> dict[str, str]:
        return {"x-key": "wrong"}

    @pytest.fixture
    def middleware(self) -> KeyMiddleware:
        return KeyMiddleware()


def test_the_fake_model_fills_numbers_from_the_message() -> None:
    from copilotkit_runtime.testing.fake_llm import example_for

    schema = {"type": "object", "properties": {"order_id": {"type": "integer"}, "note": {"type": "string"}}}
    assert example_for(schema, "7") == {"order_id": 7, "note": "example"}
    assert example_for({"type": "number"}, "2.5 kg") == 2.5
    assert example_for({"type": "number"}, "42") == 42
    assert example_for({"type": "integer"}, "2.5") == 1  # not an integer: the default
    assert example_for({"type": "number"}, "Tell me more") == 1.5


def test_an_action_result_is_compact_json_like_the_typescript_runtime() -> None:
    from copilotkit_runtime.actions import result_text

    assert result_text({"order_id": 1, "status": "shipped", "note": "é"}) == \
        '{"order_id":1,"status":"shipped","note":"é"}'
    assert result_text("as is") == "as is"
