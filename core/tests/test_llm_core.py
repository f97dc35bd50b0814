"""The LLM chat loop, backend actions and embedded agents, with a scripted model.

The model is the one edge replaced here (the SDK plugins' tests run the real SDKs against a
fake server on a real port); everything else is the real runtime and engine.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from ag_ui.core import (
    AssistantMessage,
    Context,
    FunctionCall,
    Tool,
    ToolCall,
    ToolMessage,
    UserMessage,
)

from copilotkit_runtime import hookimpl
from copilotkit_runtime.actions import Action, ActionArgumentsError
from copilotkit_runtime.errors import ConfigError
from copilotkit_runtime.llm import (
    ChatModel,
    LLMAuthError,
    LLMOptions,
    LLMProvider,
    LLMRateLimitError,
    LLMUpstreamError,
    TextDelta,
    ToolCallDelta,
    forwarded_settings,
)
from copilotkit_runtime.llm.loop import _paired
from copilotkit_runtime.testing import (
    ScriptedChatModel,
    collect_events,
    make_runtime,
    run_request,
)

pytestmark = pytest.mark.anyio


def call(name: str, args: Any, index: int = 0, call_id: str | None = None) -> list[ToolCallDelta]:
    text = args if isinstance(args, str) else json.dumps(args)
    return [ToolCallDelta(index, call_id or f"call_{name}_{index}", name, ""),
            ToolCallDelta(index, None, None, text[: len(text) // 2]),
            ToolCallDelta(index, None, None, text[len(text) // 2:])]


MODEL = ScriptedChatModel()


class ScriptedProvider(LLMProvider):
    """An LLM agent whose model is the scripted one."""

    class Options(LLMOptions):
        model: str = "scripted"

    key_variable = "SCRIPTED_KEY"

    def create_model(self, api_key: str | None) -> ChatModel:
        return MODEL


def sum_numbers(a: int, b: int = 1) -> int:
    """Add two numbers.

    More text that is not part of the description."""
    return a + b


async def slow_action(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "done"


def broken_action(reason: str) -> str:
    raise RuntimeError(f"broken: {reason}")


def register_actions(registry: Any) -> None:
    registry.add("sum_numbers", Action.from_function(sum_numbers))
    registry.add("slow_action", Action.from_function(slow_action, timeout=0.2))
    registry.add("broken_action", Action.from_function(broken_action))


PLUGIN = SimpleNamespace(
    register_agent_providers=hookimpl(lambda registry: registry.add("scripted", ScriptedProvider)),
    register_actions=hookimpl(register_actions),
)


@pytest.fixture
def runtime(tmp_path: Path) -> Any:
    MODEL.script.clear()
    MODEL.requests.clear()
    return make_runtime({"agents": {"chat": {"provider": "scripted", "api_key": "k",
                                              "max_iterations": 3, "max_retries": 2,
                                              "max_retry_wait": 5}}},
                        plugins={"scripted": PLUGIN}, tmp_path=tmp_path, load_entry_points=False)


async def run(runtime: Any, request: Any) -> list[Any]:
    async with runtime.lifespan():
        return await collect_events(runtime.engine.stream(request))


def types(events: list[Any]) -> list[str]:
    return [e.type.value for e in events]


async def test_a_backend_action_loop_runs_until_the_model_answers(runtime: Any) -> None:
    MODEL.script += [call("sum_numbers", {"a": 2, "b": 3}), call("sum_numbers", {"a": 5}),
                     [TextDelta("The sum is "), TextDelta("6.")]]
    events = await run(runtime, run_request("chat", "add"))
    results = [e.content for e in events if e.type.value == "TOOL_CALL_RESULT"]
    assert results == ["5", "6"]
    assert types(events)[-2:] == ["TEXT_MESSAGE_END", "RUN_FINISHED"]
    # The second and third model calls saw the calls and their results.
    last = MODEL.requests[-1].messages
    assert [m.role for m in last] == ["user", "assistant", "tool", "assistant", "tool"]
    assert last[2].content == "5" and last[2].tool_call_id == last[1].tool_calls[0].id


async def test_a_frontend_action_ends_the_run_with_its_streamed_call(runtime: Any) -> None:
    MODEL.script += [[TextDelta("Setting it."), *call("setColor", {"color": "red"})]]
    tool = Tool(name="setColor", description="set", parameters={"type": "object", "properties": {
        "color": {"type": "string"}}})
    events = await run(runtime, run_request("chat", "red please", tools=[tool]))
    assert types(events) == ["RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT",
                             "TEXT_MESSAGE_END", "TOOL_CALL_START", "TOOL_CALL_ARGS",
                             "TOOL_CALL_ARGS", "TOOL_CALL_END", "RUN_FINISHED"]
    start = events[4]
    assert start.tool_call_name == "setColor" and start.parent_message_id == events[1].message_id
    assert "".join(e.delta for e in events if e.type.value == "TOOL_CALL_ARGS") == '{"color": "red"}'
    assert len(MODEL.requests) == 1  # not called again: the frontend continues


async def test_an_action_that_raises_or_times_out_is_a_result_the_model_reads(
        runtime: Any, caplog: pytest.LogCaptureFixture) -> None:
    MODEL.script += [call("broken_action", {"reason": "disk"}) + call("slow_action", {"seconds": 5}, 1)
                     + call("sum_numbers", {"a": "not a number"}, 2),
                     [TextDelta("Sorry.")]]
    request = run_request("chat", "go")
    started = time.monotonic()
    events = await run(runtime, request)
    results = [e.content for e in events if e.type.value == "TOOL_CALL_RESULT"]
    assert results[0] == "Error: action 'broken_action' failed: RuntimeError: broken: disk"
    assert results[1] == "Error: action 'slow_action' did not finish within 0.2 seconds."
    assert results[2].startswith("Error: invalid arguments for action 'sum_numbers': a:")
    assert time.monotonic() - started < 4  # the 5 s action was cut at its timeout
    assert types(events)[-1] == "RUN_FINISHED"
    assert any(request.thread_id in r.getMessage() and "broken_action" in r.getMessage()
               for r in caplog.records)


async def test_unknown_actions_and_bad_json_arguments_fail_the_run(runtime: Any) -> None:
    MODEL.script += [call("no_such_action", {})]
    events = await run(runtime, run_request("chat", "x"))
    assert events[-1].type.value == "RUN_ERROR" and events[-1].code == "LLM_UNKNOWN_ACTION"
    assert "no_such_action" in events[-1].message and "sum_numbers" in events[-1].message

    MODEL.script += [call("sum_numbers", '{"a": 1,')]
    events = await run(runtime, run_request("chat", "x"))
    assert events[-1].code == "LLM_BAD_TOOL_ARGUMENTS" and "not valid JSON" in events[-1].message


async def test_the_iteration_cap_stops_a_model_that_never_answers(runtime: Any) -> None:
    MODEL.script += [call("sum_numbers", {"a": i}) for i in range(5)]
    events = await run(runtime, run_request("chat", "loop"))
    assert len(MODEL.requests) == 3
    assert events[-1].code == "LLM_TOO_MANY_ITERATIONS"
    assert "agents.chat.max_iterations" in events[-1].message


async def test_rate_limits_and_5xx_are_retried_then_reported(runtime: Any) -> None:
    MODEL.script += [LLMRateLimitError("slow down", retry_after=0.05), LLMUpstreamError("502"),
                     [TextDelta("finally")]]
    events = await run(runtime, run_request("chat", "x"))
    assert len(MODEL.requests) == 3 and types(events)[-1] == "RUN_FINISHED"

    MODEL.requests.clear()
    MODEL.script += [LLMUpstreamError("down")] * 3
    events = await run(runtime, run_request("chat", "x"))
    assert len(MODEL.requests) == 3  # one call + max_retries = 2
    assert events[-1].code == "LLM_UPSTREAM_ERROR"

    MODEL.requests.clear()
    MODEL.script += [LLMRateLimitError("slow down", retry_after=3600)]
    events = await run(runtime, run_request("chat", "x"))
    assert len(MODEL.requests) == 1 and "retry after 3600 s" in events[-1].message

    MODEL.requests.clear()
    MODEL.script += [LLMAuthError("The model provider refused the API key. Check SCRIPTED_KEY")]
    events = await run(runtime, run_request("chat", "x"))
    assert len(MODEL.requests) == 1 and events[-1].code == "LLM_AUTH_FAILED"


async def test_context_forwarded_parameters_and_system_prompt_reach_the_model(runtime: Any) -> None:
    request = run_request("chat", "hi")
    request.input = request.input.model_copy(update={
        "context": [Context(description="The user's name", value="Ada")],
        "forwarded_props": {"model": "other", "temperature": 0.1, "maxTokens": 50,
                            "stop": ["END"], "toolChoice": "function",
                            "toolChoiceFunctionName": "sum_numbers"}})
    await run(runtime, request)
    sent = MODEL.requests[0]
    assert "The user's name: Ada" in sent.system and sent.system.startswith("You are")
    assert (sent.model, sent.temperature, sent.max_tokens, list(sent.stop or [])) == \
        ("other", 0.1, 50, ["END"])
    assert (sent.tool_choice.mode, sent.tool_choice.name) == ("function", "sum_numbers")
    assert {t.name for t in sent.tools} == {"sum_numbers", "slow_action", "broken_action"}


def test_forwarded_settings_read_both_protocols() -> None:
    v2 = forwarded_settings({"toolChoice": {"type": "function", "function": {"name": "copilotkitSuggest"}},
                             "user": "x"})
    assert v2 == {"tool_choice": v2["tool_choice"]} and v2["tool_choice"].name == "copilotkitSuggest"
    assert forwarded_settings({"toolChoice": "none", "maxTokens": -1, "temperature": True}) == \
        {"tool_choice": forwarded_settings({"toolChoice": "none"})["tool_choice"]}


def test_unanswered_tool_calls_are_completed_and_orphan_results_dropped() -> None:
    messages = [UserMessage(id="u", content="hi"),
                AssistantMessage(id="a", tool_calls=[ToolCall(id="c1", function=FunctionCall(
                    name="f", arguments="{}"))]),
                ToolMessage(id="t0", tool_call_id="nobody", content="orphan"),
                UserMessage(id="u2", content="again")]
    out = _paired(messages)
    assert [m.role for m in out] == ["user", "assistant", "tool", "user"]
    assert out[2].tool_call_id == "c1" and "not executed" in out[2].content


async def test_actions_from_config_with_type_hints_and_per_agent_selection(tmp_path: Path) -> None:
    (tmp_path / "shop_tools.py").write_text(textwrap.dedent('''
        from pydantic import BaseModel

        class Order(BaseModel):
            id: int
            status: str

        async def lookup_order(order_id: int, verbose: bool = False) -> Order:
            """Look up an order by number."""
            return Order(id=order_id, status="shipped")
    '''))
    runtime = make_runtime({
        "actions": {"lookup_order": {"handler": "shop_tools:lookup_order", "timeout": 5}},
        "agents": {"chat": {"provider": "scripted", "api_key": "k", "actions": ["lookup_order"]}},
    }, plugins={"scripted": PLUGIN}, tmp_path=tmp_path, load_entry_points=False)
    action = runtime.actions["lookup_order"]
    assert action.description == "Look up an order by number."
    assert action.parameters["required"] == ["order_id"]
    assert action.parameters["properties"]["order_id"]["type"] == "integer"
    assert set(runtime.providers["chat"].actions) == {"lookup_order"}
    assert await action.invoke({"order_id": "12"}) == type(await action.invoke({"order_id": 1}))(
        id=12, status="shipped")
    with pytest.raises(ActionArgumentsError):
        await action.invoke({"order_id": 1, "extra": True})

    MODEL.script[:] = [call("lookup_order", {"order_id": 3}), [TextDelta("shipped")]]
    events = await run(runtime, run_request("chat", "order 3?"))
    assert [e.content for e in events if e.type.value == "TOOL_CALL_RESULT"] == \
        ['{"id":3,"status":"shipped"}']


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"agents.chat.actions: unknown backend action\(s\) nope"):
        make_runtime({"agents": {"chat": {"provider": "scripted", "api_key": "k",
                                          "actions": ["nope"]}}},
                     plugins={"scripted": PLUGIN}, tmp_path=tmp_path, load_entry_points=False)
    with pytest.raises(ConfigError, match="actions.x.handler: cannot import module 'no_module'"):
        make_runtime({"actions": {"x": {"handler": "no_module:f"}}}, tmp_path=tmp_path, load_entry_points=False)
    with pytest.raises(ConfigError, match="a plugin already registers"):
        make_runtime({"actions": {"sum_numbers": {"handler": "json:dumps"}},
                      "agents": {"chat": {"provider": "scripted", "api_key": "k"}}},
                     plugins={"scripted": PLUGIN}, tmp_path=tmp_path, load_entry_points=False)
    with pytest.raises(ConfigError, match="no API key for provider 'scripted'.*SCRIPTED_KEY"):
        make_runtime({"agents": {"chat": {"provider": "scripted"}}},
                     plugins={"scripted": PLUGIN}, tmp_path=tmp_path, load_entry_points=False)


def test_embedded_agents_replace_the_demo_agent_only_when_the_config_names_none(
        tmp_path: Path) -> None:
    offer = SimpleNamespace(embedded_agents=hookimpl(
        lambda environ: {"default": {"provider": "scripted", "api_key": environ["SCRIPTED_KEY"]}}
        if environ.get("SCRIPTED_KEY") else None))
    plugins = {"scripted": PLUGIN, "offer": offer}
    runtime = make_runtime({}, plugins=plugins, load_entry_points=False, tmp_path=tmp_path, env={"SCRIPTED_KEY": "k"})
    assert list(runtime.engine.agents) == ["default"] and runtime.embedded_by == "offer"
    assert runtime.settings.effective_default_agent() == "default"

    runtime = make_runtime({}, plugins=plugins, load_entry_points=False, tmp_path=tmp_path, env={})
    assert list(runtime.engine.agents) == ["demo"] and runtime.embedded_by is None

    runtime = make_runtime({"agents": {"mine": {"provider": "demo"}}}, plugins=plugins,
                           load_entry_points=False, tmp_path=tmp_path, env={"SCRIPTED_KEY": "k"})
    assert list(runtime.engine.agents) == ["mine"]


async def test_ephemeral_runs_store_nothing_and_take_no_lock(runtime: Any) -> None:
    request = run_request("chat", "suggest")
    async with runtime.lifespan():
        lease = await runtime.store.acquire_run_lock(request.thread_id, "other-run", 30)
        assert lease is not None  # the thread is busy: an ephemeral run does not care
        events = await collect_events(await runtime.engine.ephemeral(request))
        await lease.release()
        assert types(events)[0] == "RUN_STARTED" and types(events)[-1] == "RUN_FINISHED"
        assert await runtime.store.get_thread(request.thread_id, "chat") is None
        assert await runtime.store.get_events(request.thread_id) == []
