"""The ``langgraph-platform`` provider against a real LangGraph Agent Server (``langgraph dev``)
whose custom auth checks the API key: keys from the environment (never logged), identity in
the run's config and the deployment's auth, thread mapping, and failures that are clear errors
for the runs that meet them."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pytest
from platform_helpers import DevServer

from copilotkit_provider_langgraph_platform import platform_thread_id
from copilotkit_runtime import ConfigError
from copilotkit_runtime.testing import make_runtime, run_request
from copilotkit_runtime.testing.contracts import collect_events
from copilotkit_runtime.testing.server import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def agent(platform: DevServer, **options: Any) -> dict[str, Any]:
    return {
        "agents": {
            "assistant": {
                "provider": "langgraph-platform",
                "deployment_url": platform.url,
                **options,
            }
        }
    }


async def run(runtime: Any, request: Any) -> list[Any]:
    async with runtime.lifespan():
        return await collect_events(runtime.engine.stream(request))


def text_of(events: list[Any]) -> str:
    return "".join(e.delta for e in events if e.type.value == "TEXT_MESSAGE_CONTENT")


def last_assistant(events: list[Any]) -> str:
    [snapshot] = [e for e in events if e.type.value == "MESSAGES_SNAPSHOT"]
    return [m.content for m in snapshot.messages if m.role == "assistant"][-1]


def error_of(events: list[Any]) -> str:
    [error] = [e for e in events if e.type.value == "RUN_ERROR"]
    return error.message


async def test_the_api_key_comes_from_the_environment_and_is_never_logged(
    platform: DevServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # No api_key option: the client reads LANGSMITH_API_KEY, as the langgraph-sdk does.
    monkeypatch.setenv("LANGSMITH_API_KEY", platform.api_key)
    events = await run(make_runtime(agent(platform), load_entry_points=True), run_request("assistant", "hello"))
    assert text_of(events) == "Hello from the platform: hello"
    monkeypatch.delenv("LANGSMITH_API_KEY")

    # "${VAR}" in the config; a wrong key is the deployment's 401, said plainly.
    runtime = make_runtime(
        agent(platform, api_key="${DEPLOYMENT_KEY}"), env={"DEPLOYMENT_KEY": "wrong-key-1234"}, load_entry_points=True
    )
    assert "wrong-key-1234" not in repr(runtime.providers["assistant"].options)
    events = await run(runtime, run_request("assistant", "hello"))
    message = error_of(events)
    assert message.startswith(
        "agents.assistant: the deployment refused to read the graph: HTTP 401"
    ), message
    assert "invalid API key" in message
    logged = caplog.text
    assert platform.api_key not in logged and "wrong-key-1234" not in logged
    assert "wrong-key-1234" not in message


async def test_identity_reaches_the_graph_config_and_the_deployments_auth(
    platform: DevServer,
) -> None:
    runtime = make_runtime(
        agent(platform, api_key=platform.api_key, forward_headers=["x-tenant-*"]), load_entry_points=True
    )
    request = run_request(
        "assistant",
        "whoami",
        principal={"id": "alice", "kind": "jwt"},
        properties={"plan": "pro"},
        headers={"x-tenant-user": "alice", "x-secret": "not-listed"},
    )
    events = await run(runtime, request)
    reply = last_assistant(events)
    assert reply.startswith("whoami "), reply
    facts = json.loads(reply.removeprefix("whoami "))
    assert facts == {
        "principal": {"id": "alice", "kind": "jwt"},
        "properties": {"plan": "pro"},
        "headers": {"x-tenant-user": "alice"},
        # the forwarded header reached the deployment's own auth too
        "auth_user": "alice",
    }


async def test_runtime_threads_are_deployment_threads(platform: DevServer) -> None:
    runtime = make_runtime(agent(platform, api_key=platform.api_key), load_entry_points=True)
    async with runtime.lifespan():
        named = f"chat-{uuid.uuid4().hex[:8]}"  # not a UUID: the deployment gets uuid5 of it
        await collect_events(
            runtime.engine.stream(run_request("assistant", "one", thread_id=named))
        )
        first_messages = platform.get(f"/threads/{platform_thread_id(named)}/state")
        assert [m["content"] for m in first_messages["values"]["messages"]] == [
            "one",
            "Hello from the platform: one",
        ]
        thread = platform.get(f"/threads/{platform_thread_id(named)}")
        assert thread["metadata"]["copilotkit_thread_id"] == named
        assert thread["metadata"]["copilotkit_agent"] == "assistant"
        snapshot = await runtime.providers["assistant"].load_thread("assistant", named)
        assert snapshot is not None and snapshot.exists
        assert [m["content"] for m in snapshot.messages] == ["one", "Hello from the platform: one"]
        assert snapshot.node_name == "__end__"
        missing = await runtime.providers["assistant"].load_thread("assistant", "never-used")
        assert missing is not None and missing.exists is False
    same = str(uuid.uuid4())
    assert platform_thread_id(same) == same
    assert platform_thread_id(named) == platform_thread_id(named) != named


async def test_an_unknown_graph_fails_its_runs_clearly(platform: DevServer) -> None:
    runtime = make_runtime(agent(platform, api_key=platform.api_key, graph_id="nope"), load_entry_points=True)
    events = await run(runtime, run_request("assistant", "hello"))
    message = error_of(events)
    # The deployment says which graphs it has (other servers may answer an empty search).
    assert message == (
        "agents.assistant: the deployment refused to read the graph: HTTP 404 "
        "(Graph 'nope' not found. Expected one of: ['assistant'])"
    ) or message.startswith("agents.assistant: the deployment has no graph 'nope'"), message


async def test_a_deployment_that_is_down_fails_runs_not_startup(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    runtime = make_runtime(
        {
            "agents": {
                "assistant": {
                    "provider": "langgraph-platform",
                    "deployment_url": url,
                    "connect_timeout": 2,
                }
            }
        }, load_entry_points=True
    )
    events = await run(runtime, run_request("assistant", "hello"))  # startup went through
    message = error_of(events)
    assert message.startswith(
        "agents.assistant: could not read the graph at the deployment (ConnectError"
    ), message
    assert url in caplog.text  # the operator's log names where; the client's message does not
    assert url not in message


def test_options_are_checked_when_the_runtime_is_built() -> None:
    with pytest.raises(ConfigError, match=r"agents\.a\.deployment_url.*http:// or https://"):
        make_runtime(
            {
                "agents": {
                    "a": {"provider": "langgraph-platform", "deployment_url": "localhost:2024"}
                }
            }, load_entry_points=True
        )
    with pytest.raises(ConfigError, match=r"agents\.a\.multitask_strategy"):
        make_runtime(
            {
                "agents": {
                    "a": {
                        "provider": "langgraph-platform",
                        "deployment_url": "http://x",
                        "multitask_strategy": "x",
                    }
                }
            }, load_entry_points=True
        )


def messages_of(events: list[Any]) -> list[tuple[str, str]]:
    [snapshot] = [e for e in events if e.type.value == "MESSAGES_SNAPSHOT"]
    return [(m.role, m.content) for m in snapshot.messages]


def state_of(events: list[Any]) -> dict[str, Any]:
    return [e.snapshot for e in events if e.type.value == "STATE_SNAPSHOT"][-1]


async def test_regenerate_and_edit_fork_the_platform_thread_at_the_right_checkpoint(
    platform: DevServer,
) -> None:
    from ag_ui.core import AssistantMessage, UserMessage

    runtime = make_runtime(agent(platform, api_key=platform.api_key), load_entry_points=True)
    thread = str(uuid.uuid4())
    first = UserMessage(id=str(uuid.uuid4()), content="count")
    second = UserMessage(id=str(uuid.uuid4()), content="count")
    async with runtime.lifespan():

        async def turn(messages: list[Any]) -> list[Any]:
            request = run_request("assistant", thread_id=thread, messages=messages)
            return await collect_events(runtime.engine.stream(request))

        one = await turn([first])
        answer = AssistantMessage(id=_assistant_id(one), content=last_assistant(one))
        two = await turn([first, answer, second])
        assert messages_of(two)[-1] == ("assistant", "The counter is 2")
        assert state_of(two)["counter"] == 2
        held = len(platform.get(f"/threads/{platform_thread_id(thread)}/history?limit=100"))

        # Regenerate (react-core 1.10.6): the history up to the user message to answer again.
        # The run starts from the checkpoint before `second` appeared (counter 1), so it counts
        # to 2 again, and the thread holds one answer to it, not two.
        again = await turn([first, answer, second])
        assert messages_of(again) == [
            ("user", "count"),
            ("assistant", "The counter is 1"),
            ("user", "count"),
            ("assistant", "The counter is 2"),
        ]
        assert state_of(again)["counter"] == 2
        assert _assistant_id(again) != _assistant_id(two)
        state = platform.get(f"/threads/{platform_thread_id(thread)}/state")
        assert [m["content"] for m in state["values"]["messages"]][-1] == "The counter is 2"
        assert len(state["values"]["messages"]) == 4
        # A fork: the old branch stays in the history, the new one starts from its parent.
        assert len(platform.get(f"/threads/{platform_thread_id(thread)}/history?limit=100")) > held

        # Edit (react-core >= 1.50): the first user message, same id, other text: answered as
        # edited from before it; what followed it is gone from the thread.
        edited = UserMessage(id=first.id, content="hello again")
        events = await turn([edited])
        assert messages_of(events) == [
            ("user", "hello again"),
            ("assistant", "Hello from the platform: hello again"),
        ]
        assert "counter" not in state_of(events)


def _assistant_id(events: list[Any]) -> str:
    [snapshot] = [e for e in events if e.type.value == "MESSAGES_SNAPSHOT"]
    return [m.id for m in snapshot.messages if m.role == "assistant"][-1]
