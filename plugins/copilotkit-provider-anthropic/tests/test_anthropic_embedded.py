"""``copilotkit-runtime serve`` with no agents configured: ANTHROPIC_API_KEY in the environment
makes the default agent an Anthropic chat agent; with OPENAI_API_KEY too, OpenAI's wins."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import pytest
from anthropic_helpers import SECRET_KEY, run, run_error, run_input, text_of

import copilotkit_provider_anthropic.plugin as anthropic_plugin
import copilotkit_provider_openai.plugin as openai_plugin
from copilotkit_runtime.testing import make_runtime, serve_runtime
from copilotkit_runtime.testing.fake_llm import FakeLLMServer, Turn


def test_the_plugin_is_an_installed_entry_point() -> None:
    found = [ep for ep in entry_points(group="copilotkit_runtime") if ep.name == "anthropic"]
    assert [ep.value for ep in found] == ["copilotkit_provider_anthropic.plugin"]


def test_the_key_in_the_environment_makes_the_default_a_chat_agent(llm: FakeLLMServer) -> None:
    env = {"ANTHROPIC_API_KEY": SECRET_KEY, "ANTHROPIC_BASE_URL": llm.anthropic_url,
           "ANTHROPIC_MODEL": "claude-embedded"}
    runtime = make_runtime({}, env=env, plugins={"anthropic": anthropic_plugin},
                           load_entry_points=False)
    assert runtime.embedded_by == "anthropic"
    assert runtime.settings.agents["default"].provider == "anthropic"
    with serve_runtime(runtime) as served:
        events = run(served.url, "default", run_input("hi"))
    assert text_of(events) == "You said: hi"
    assert llm.requests[-1]["model"] == "claude-embedded"


def test_a_refused_embedded_key_names_the_variable(llm: FakeLLMServer,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET_KEY)
    env = {"ANTHROPIC_API_KEY": SECRET_KEY, "ANTHROPIC_BASE_URL": llm.anthropic_url}
    runtime = make_runtime({}, env=env, plugins={"anthropic": anthropic_plugin},
                           load_entry_points=False)
    llm.script(Turn(status=401))
    with serve_runtime(runtime) as served:
        error = run_error(run(served.url, "default", run_input("hi")))
    assert error["code"] == "LLM_AUTH_FAILED"
    assert "Check the ANTHROPIC_API_KEY environment variable." in error["message"]
    assert SECRET_KEY not in error["message"]


def test_openai_wins_when_both_keys_are_set() -> None:
    env = {"ANTHROPIC_API_KEY": SECRET_KEY, "OPENAI_API_KEY": "sk-openai-test"}
    runtime = make_runtime({}, env=env, load_entry_points=False,
                           plugins={"anthropic": anthropic_plugin, "openai": openai_plugin})
    assert runtime.embedded_by == "openai"
    assert runtime.settings.agents["default"].provider == "openai"


def test_no_key_keeps_the_demo_agent() -> None:
    runtime: Any = make_runtime({}, env={}, plugins={"anthropic": anthropic_plugin},
                                load_entry_points=False)
    assert runtime.embedded_by is None
