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
          "boom": {"provider": "scripted", "mode": "raise_midway"}}


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
