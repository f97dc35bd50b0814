"""MCP servers' tools offered to an LLM agent as backend actions, with results fed back.

Real MCP servers (the ``mcp`` SDK's MCPServer, ``mcp_test_server.py``) over stdio, streamable
HTTP and SSE; a real runtime over real HTTP; the real ``openai`` SDK (the ``openai`` provider)
against the fake OpenAI-compatible server: only the model is fake.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from copilotkit_mcp.plugin import manager_of
from copilotkit_runtime import ConfigError
from copilotkit_runtime.testing import ServedRuntime, make_runtime, serve_runtime
from copilotkit_runtime.testing.fake_llm import FakeLLMServer, Turn
from copilotkit_runtime.testing.server import free_port

SERVER = str(Path(__file__).parent / "mcp_test_server.py")


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def fake(llm: FakeLLMServer) -> FakeLLMServer:
    llm.reset()
    return llm


def runtime_with(fake: FakeLLMServer, mcp: dict[str, Any], **agent: Any) -> Any:
    chat = {"provider": "openai", "model": "fake-gpt", "base_url": fake.openai_url,
            "api_key": "sk-test", **agent}
    return make_runtime({"agents": {"chat": chat}, "mcp": mcp}, load_entry_points=True)


def stdio(**extra: Any) -> dict[str, Any]:
    return {"command": sys.executable, "args": [SERVER, "stdio"], **extra}


def run(served: ServedRuntime, text: str = "go") -> list[dict[str, Any]]:
    body = {"threadId": str(uuid.uuid4()), "runId": str(uuid.uuid4()), "state": {}, "tools": [],
            "context": [], "forwardedProps": {},
            "messages": [{"id": str(uuid.uuid4()), "role": "user", "content": text}]}
    response = httpx.post(f"{served.url}/agent/chat/run", json=body, timeout=60)
    assert response.status_code == 200, response.text
    frames = [f for f in response.text.split("\n\n") if f.strip() and not f.startswith(":")]
    return [json.loads(f.removeprefix("data: ")) for f in frames]


def results(events: list[dict[str, Any]]) -> list[str]:
    return [e["content"] for e in events if e["type"] == "TOOL_CALL_RESULT"]


def offered(fake: FakeLLMServer, request: int = 0) -> dict[str, Any]:
    return {t["function"]["name"]: t["function"] for t in fake.requests[request].get("tools", [])}


@pytest.fixture(scope="module")
def http_servers() -> Iterator[dict[str, str]]:
    procs, urls = [], {}
    try:
        for mode, path in (("http", "/mcp"), ("sse", "/sse")):
            port = free_port()
            procs.append(subprocess.Popen([sys.executable, SERVER, mode, str(port)],
                                          stderr=subprocess.DEVNULL))
            urls[mode] = f"http://127.0.0.1:{port}{path}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"the MCP {mode} server did not start") from None
                    time.sleep(0.1)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


@pytest.fixture(scope="module")
def calc(llm: FakeLLMServer) -> Iterator[ServedRuntime]:
    """A runtime whose LLM agent has the tools of one stdio server."""
    with serve_runtime(runtime_with(llm, {"calc": stdio(env={"MCP_TEST_USER": "alice"})})) as served:
        yield served


def test_stdio_tools_are_offered_to_the_model_and_their_results_fed_back(
        fake: FakeLLMServer, calc: ServedRuntime) -> None:
    fake.script(Turn(tool_calls=[("add", {"a": 2, "b": 40})]), Turn(text="It is 42."))
    served = calc
    events = run(served, "what is 2 + 40")
    assert results(events) == ["42"]
    assert "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT") == "It is 42."
    assert events[-1]["type"] == "RUN_FINISHED"
    tools = offered(fake)
    assert {"add", "shout", "whoami", "fail", "die"} <= set(tools)
    assert tools["add"]["description"] == "Add two integers."
    assert tools["add"]["parameters"]["required"] == ["a", "b"]
    # the model read the tool's result
    assert fake.requests[1]["messages"][-1] == {
        "role": "tool", "tool_call_id": fake.requests[1]["messages"][-2]["tool_calls"][0]["id"],
        "content": "42"}
    # the server's environment came from the config
    fake.script(Turn(tool_calls=[("whoami", {})]), Turn(text="ok"))
    assert results(run(served)) == ["alice"]


@pytest.mark.parametrize("mode", ["http", "sse"])
def test_http_and_sse_servers(fake: FakeLLMServer, http_servers: dict[str, str], mode: str) -> None:
    fake.script(Turn(tool_calls=[("loud_shout", {"text": "hello"})]), Turn(text="done"))
    config = {"loud": {"url": http_servers[mode], "prefix": "loud_", "tools": ["shout"],
                       "headers": {"x-token": "t"}}}
    with serve_runtime(runtime_with(fake, config)) as served:
        assert results(run(served)) == ["HELLO!"]
        names = set(offered(fake))  # only the listed tool, with its prefix
        assert "loud_shout" in names and not names & {"shout", "add", "loud_add", "loud_die"}


def test_a_tool_error_is_a_result_the_model_sees(fake: FakeLLMServer, calc: ServedRuntime) -> None:
    fake.script(Turn(tool_calls=[("fail", {"reason": "disk full"})]), Turn(text="It failed."))
    events = run(calc)
    [result] = results(events)
    assert result.startswith("Error: action 'fail' failed: McpToolError:")
    assert "fail" in result
    assert events[-1]["type"] == "RUN_FINISHED"


def test_a_server_that_dies_fails_that_call_and_is_started_again(fake: FakeLLMServer,
                                                                 calc: ServedRuntime) -> None:
    served = calc
    first = manager_of(served.runtime).connections["calc"]
    fake.script(Turn(tool_calls=[("die", {})]), Turn(text="The server died."))
    events = run(served)
    [result] = results(events)
    assert "MCP server 'calc'" in result and "went away during tool 'die'" in result
    assert events[-1]["type"] == "RUN_FINISHED"  # the run itself is fine
    fake.script(Turn(tool_calls=[("add", {"a": 1, "b": 1})]), Turn(text="2"))
    assert results(run(served)) == ["2"]
    assert manager_of(served.runtime).connections["calc"] is first


def test_a_server_that_cannot_start_is_an_error_for_the_runs_that_need_it(
        fake: FakeLLMServer, caplog: pytest.LogCaptureFixture) -> None:
    broken = {"command": sys.executable, "args": ["-c", "import sys; sys.exit(3)"],
              "tools": ["lookup"], "connect_timeout": 20}
    with serve_runtime(runtime_with(fake, {"broken": broken, "calc": stdio()})) as served:
        assert any("MCP server 'broken'" in r.getMessage() and "could not be started" in r.getMessage()
                   for r in caplog.records)
        fake.script(Turn(tool_calls=[("lookup", {})]), Turn(text="Sorry."))
        events = run(served)
        [result] = results(events)
        assert "MCP server 'broken'" in result and "needed for tool 'lookup'" in result
        assert events[-1]["type"] == "RUN_FINISHED"
        # the other server is unaffected
        fake.script(Turn(tool_calls=[("shout", {"text": "still here"})]), Turn(text="ok"))
        assert results(run(served)) == ["STILL HERE!"]


def test_an_invalid_mcp_section_fails_startup_naming_the_key(fake: FakeLLMServer) -> None:
    runtime = runtime_with(fake, {"both": {"command": "x", "url": "http://127.0.0.1:1/mcp"}})
    with pytest.raises(ConfigError, match=r"mcp\.both: .*either command .* or url"):
        import asyncio

        asyncio.run(runtime.startup())


# -- agents that list their actions by name ---------------------------------------------------

def test_an_agent_listing_actions_gets_the_mcp_tools_it_names(fake: FakeLLMServer) -> None:
    runtime = runtime_with(fake, {"calc": stdio()}, actions=["add", "add_numbers"])
    fake.script(Turn(tool_calls=[("add", {"a": 20, "b": 22})]), Turn(text="42"))
    with serve_runtime(runtime) as served:
        assert results(run(served)) == ["42"]
    # exactly the listed ones: the MCP tool and a plugin's action, not the server's others
    assert set(offered(fake)) == {"add", "add_numbers"}


def test_a_listed_action_no_server_offers_stops_startup(fake: FakeLLMServer) -> None:
    import asyncio

    runtime = runtime_with(fake, {"calc": stdio()}, actions=["add", "ad"])
    with pytest.raises(ConfigError, match=r"agents\.chat\.actions: unknown backend action\(s\) "
                                          r"ad \(registered: .*\badd\b.*\)"):
        asyncio.run(runtime.startup())
    # the failed startup stopped the server it had started
    connection = manager_of(runtime)
    assert connection is None


def test_a_listed_tool_of_a_server_that_cannot_start_fails_the_agents_runs(
        fake: FakeLLMServer, caplog: pytest.LogCaptureFixture) -> None:
    broken = {"command": sys.executable, "args": ["-c", "import sys; sys.exit(3)"],
              "connect_timeout": 20}
    runtime = runtime_with(fake, {"broken": broken}, actions=["lookup"])
    with serve_runtime(runtime) as served:  # the runtime starts
        assert any("unknown backend action(s) lookup" in r.getMessage() for r in caplog.records)
        events = run(served)
    assert events[-1]["type"] == "RUN_ERROR"
    message = events[-1]["message"]
    assert message.startswith("agents.chat.actions: unknown backend action(s) lookup"), message
    assert "MCP server 'broken'" in message and "could not be started" in message
    assert fake.requests == []  # the model was never called


# -- resources and prompts ---------------------------------------------------------------------

def test_resources_are_read_through_an_action_the_model_is_offered(
        fake: FakeLLMServer, calc: ServedRuntime) -> None:
    fake.script(Turn(tool_calls=[("calc_read_resource", {"uri": "notes://today"})]),
                Turn(tool_calls=[("calc_read_resource", {"uri": "notes://day/tuesday"})]),
                Turn(tool_calls=[("calc_read_resource", {"uri": "notes://nope"})]),
                Turn(text="Noted."))
    events = run(calc, "what is on my list?")
    today, tuesday, unknown = results(events)
    assert today == "Buy milk, then alice calls Ada"  # read live from the stdio server
    assert tuesday == "Water the plants"  # a resource template, filled in by the model
    assert unknown.startswith("Error: action 'calc_read_resource' failed:")
    assert "Unknown resource: notes://nope" in unknown
    assert events[-1]["type"] == "RUN_FINISHED"
    reader = offered(fake)["calc_read_resource"]
    # the model sees what there is to read
    assert "- notes://today: today - Today's note" in reader["description"]
    assert "notes://day/{day} (template" in reader["description"]
    assert reader["parameters"]["required"] == ["uri"]


def test_prompts_are_rendered_through_an_action(fake: FakeLLMServer, calc: ServedRuntime) -> None:
    fake.script(Turn(tool_calls=[("calc_get_prompt", {"name": "review",
                                                      "arguments": {"code": "x = 1"}})]),
                Turn(tool_calls=[("calc_get_prompt", {"name": "standup"})]),
                Turn(tool_calls=[("calc_get_prompt", {"name": "review"})]),
                Turn(tool_calls=[("calc_get_prompt", {"name": "haiku"})]),
                Turn(text="Following it."))
    review, standup, no_code, unknown = results(run(calc, "review my code"))
    assert review == ("Prompt 'review': Review a piece of code\n"
                      "[user] Please review this code, looking for bugs:\nx = 1")
    assert standup == ("Prompt 'standup': The daily standup questions\n"
                       "[user] What did you do yesterday?\n"
                       "[assistant] I will ask what is planned today next.")
    assert no_code.endswith("prompt 'review' needs the argument(s) code")
    assert unknown.endswith("the MCP server 'calc' has no prompt 'haiku' (it has: review, standup)")
    getter = offered(fake)["calc_get_prompt"]
    assert "- review(code, focus?): Review a piece of code" in getter["description"]
    assert getter["parameters"]["properties"]["name"]["enum"] == ["review", "standup"]


def test_resources_and_prompts_over_http_with_a_prefix_and_switched_off(
        fake: FakeLLMServer, http_servers: dict[str, str]) -> None:
    fake.script(Turn(tool_calls=[("n_read_resource", {"uri": "notes://day/monday"})]),
                Turn(tool_calls=[("n_get_prompt", {"name": "review",
                                                   "arguments": {"code": "y()", "focus": "style"}})]),
                Turn(text="ok"))
    config = {"notes": {"url": http_servers["http"], "prefix": "n_", "tools": []},
              "quiet": {"url": http_servers["sse"], "tools": [], "resources": False,
                        "prompts": False}}
    with serve_runtime(runtime_with(fake, config)) as served:
        monday, review = results(run(served))
    assert monday == "Call the bank"
    assert review.endswith("looking for style:\ny()")
    assert set(offered(fake)) >= {"n_read_resource", "n_get_prompt"}
    assert not {"quiet_read_resource", "quiet_get_prompt"} & set(offered(fake))


# -- resources as run context ------------------------------------------------------------------

def system_of(fake: FakeLLMServer, request: int = 0) -> str:
    [system] = [m for m in fake.requests[request]["messages"] if m["role"] == "system"]
    return system["content"]


def run_with_context(served: ServedRuntime, agent: str = "chat") -> list[dict[str, Any]]:
    body = {"threadId": str(uuid.uuid4()), "runId": str(uuid.uuid4()), "state": {}, "tools": [],
            "forwardedProps": {},
            "context": [{"description": "the page", "value": "the order list"}],
            "messages": [{"id": str(uuid.uuid4()), "role": "user", "content": "hi"}]}
    response = httpx.post(f"{served.url}/agent/{agent}/run", json=body, timeout=60)
    assert response.status_code == 200, response.text
    frames = [f for f in response.text.split("\n\n") if f.strip() and not f.startswith(":")]
    return [json.loads(f.removeprefix("data: ")) for f in frames]


def test_listed_resources_are_read_at_every_run_start_as_context(fake: FakeLLMServer) -> None:
    config = {"notes": stdio(env={"MCP_TEST_USER": "bob"}, tools=[], resources=False,
                             context_resources=["notes://today", "notes://day/monday",
                                                "notes://visits", "notes://nope"])}
    runtime = make_runtime({"agents": {
        "chat": {"provider": "openai", "model": "fake-gpt", "base_url": fake.openai_url,
                 "api_key": "sk-test", "system_prompt": "Be brief."},
        "other": {"provider": "openai", "model": "fake-gpt", "base_url": fake.openai_url,
                  "api_key": "sk-test"}}, "mcp": config}, load_entry_points=True)
    with serve_runtime(runtime) as served:
        first = run_with_context(served)
        second = run_with_context(served)
    assert first[-1]["type"] == "RUN_FINISHED" and second[-1]["type"] == "RUN_FINISHED"
    system = system_of(fake, 0)
    assert system.startswith("Be brief.\n\nThe user has provided the following context:\n"
                             "- the page: the order list\n")  # the client's readables first
    assert ("- MCP resource notes://today of the server 'notes' (today: Today's note): "
            "Buy milk, then bob calls Ada") in system
    assert "- MCP resource notes://day/monday of the server 'notes': Call the bank" in system
    assert "notes://visits of the server 'notes' (visits: How often it was read): read 1 time(s)" in system
    # a resource that cannot be read is said to be missing; the run goes on
    assert "- MCP resource notes://nope of the server 'notes': [not available: " in system
    # read again at the next run's start, not cached
    assert "read 2 time(s)" in system_of(fake, 1)
    # resources = false: no read action, though the resources are context
    assert "notes_read_resource" not in offered(fake)


def test_all_resources_over_http_for_the_agents_named(fake: FakeLLMServer,
                                                      http_servers: dict[str, str]) -> None:
    config = {"notes": {"url": http_servers["http"], "tools": [], "context_resources": "all",
                        "context_agents": ["chat"], "context_max_chars": 12}}
    runtime = make_runtime({"agents": {
        "chat": {"provider": "openai", "model": "fake-gpt", "base_url": fake.openai_url,
                 "api_key": "sk-test"},
        "other": {"provider": "openai", "model": "fake-gpt", "base_url": fake.openai_url,
                  "api_key": "sk-test"}}, "mcp": config}, load_entry_points=True)
    with serve_runtime(runtime) as served:
        run_with_context(served, "chat")
        run_with_context(served, "other")
    system = system_of(fake, 0)
    # every listed resource (templates need their parts filled in: not read), cut at 12 chars
    assert "notes://today of the server 'notes' (today: Today's note): Buy milk, th\n" \
           "[... cut: 19 more characters]" in system  # "... nobody calls Ada"
    assert "notes://logo of the server 'notes' (logo): [binary imag\n" in system  # cut too
    assert "notes://visits" in system and "notes://day/" not in system
    # the other agent's runs get no resources
    assert "MCP resource" not in system_of(fake, 1)
    assert "- the page: the order list" in system_of(fake, 1)


def test_a_server_that_cannot_start_leaves_its_resources_out_saying_so(
        fake: FakeLLMServer) -> None:
    config = {"gone": {"command": sys.executable, "args": ["-c", "raise SystemExit(3)"],
                       "context_resources": "all", "connect_timeout": 10}}
    with serve_runtime(runtime_with(fake, config)) as served:
        events = run_with_context(served)
    assert events[-1]["type"] == "RUN_FINISHED"
    assert "- MCP resources of the server 'gone': [not available: MCP server 'gone'" in system_of(fake)
