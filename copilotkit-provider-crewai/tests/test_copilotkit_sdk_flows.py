"""Flows written for the CopilotKit SDK (``from copilotkit.crewai import ...``) run unchanged:
the module imports (the SDK's own cannot be imported with CrewAI 1.x), text and tool arguments
stream token by token, predicted and emitted state arrive, frontend actions are called."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from fakellm import Reply, last_user_text, tool_names
from helpers import action, collect, crewai_runtime, run_request, texts

pytestmark = pytest.mark.anyio

SDK_FLOW = {"flow": "copilotkit_sdk_agents:SdkFlow"}
DOCUMENT = "# Story\n\nA runtime streamed this, token by token."


def respond(body: dict[str, Any]) -> Reply:
    text = last_user_text(body)
    if "story" in text and "write_document" in tool_names(body):
        return Reply(tool_calls=[("write_document", {"document": DOCUMENT})])
    if "alert" in text and "showAlert" in tool_names(body):
        return Reply(tool_calls=[("showAlert", {"value": "hi there"})])
    return Reply(content=f"You said: {text} and more words")


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


async def test_text_streams_in_more_than_one_chunk(tmp_path: Path, fake_llm_server: Any) -> None:
    fake = fake_llm_server(respond)
    async with crewai_runtime(tmp_path, sdk=SDK_FLOW) as rt:
        events = await collect(rt, run_request("sdk", "hello sdk"))
    assert fake.requests[0]["stream"] is True
    assert texts(events) == ["You said: hello sdk and more words"]
    chunks = of_type(events, "TEXT_MESSAGE_CONTENT")
    assert len(chunks) > 1
    assert not of_type(events, "RUN_ERROR")
    assert {"progress": "thinking"} in [e["snapshot"] for e in of_type(events, "STATE_SNAPSHOT")]


async def test_tool_arguments_stream_and_predicted_state_follows(tmp_path: Path,
                                                                 fake_llm_server: Any) -> None:
    fake_llm_server(respond)
    async with crewai_runtime(tmp_path, sdk=SDK_FLOW) as rt:
        request = run_request("sdk", "write a story")
        events = await collect(rt, request)
        thread = await rt.engine.load_thread("sdk", request.thread_id)
    starts = of_type(events, "TOOL_CALL_START")
    assert [s["toolCallName"] for s in starts] == ["write_document"]
    args = of_type(events, "TOOL_CALL_ARGS")
    assert len(args) > 1
    assert json.loads("".join(a["delta"] for a in args)) == {"document": DOCUMENT}
    predicted = [e for e in events if e["type"] == "CUSTOM" and e["name"] == "PredictState"]
    assert predicted and predicted[0]["value"][0]["state_key"] == "document"
    assert thread.state["document"] == DOCUMENT
    assert thread.state["progress"] == "done"


async def test_a_frontend_action_is_called_by_its_name(tmp_path: Path, fake_llm_server: Any) -> None:
    fake_llm_server(respond)
    async with crewai_runtime(tmp_path, sdk=SDK_FLOW) as rt:
        request = run_request("sdk", "show an alert", tools=[action("showAlert")])
        events = await collect(rt, request)
    starts = of_type(events, "TOOL_CALL_START")
    assert [s["toolCallName"] for s in starts] == ["showAlert"]
    assert json.loads("".join(a["delta"] for a in of_type(events, "TOOL_CALL_ARGS"))) == {
        "value": "hi there"}


def _python(code: str, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=300)


IMPORTS = """
    from copilotkit_provider_crewai import copilotkit_sdk, sdk
    copilotkit_sdk.install()
    from copilotkit.crewai import CopilotKitState, copilotkit_stream, copilotkit_exit
    assert copilotkit_stream is sdk.copilotkit_stream and CopilotKitState is sdk.CopilotKitState
"""


def test_without_the_sdk_installed_only_copilotkit_crewai_is_provided() -> None:
    done = _python(IMPORTS + """
    import copilotkit
    try:
        copilotkit.CopilotKitRemoteEndpoint
    except AttributeError as exc:
        print("ERR", exc)
    """)
    assert done.returncode == 0, done.stderr
    assert "the CopilotKit SDK is not installed" in done.stdout


def test_an_installed_sdk_whose_crewai_module_fails_keeps_its_package(tmp_path: Path) -> None:
    # A stand-in for the real SDK on CrewAI 1.x: the package imports, its crewai module does not.
    package = tmp_path / "copilotkit"
    (package / "crewai").mkdir(parents=True)
    (package / "__init__.py").write_text("REAL_SDK = True\n")
    (package / "crewai" / "__init__.py").write_text(
        "from crewai.utilities.events import crewai_event_bus\n")
    done = _python(IMPORTS + """
    import copilotkit
    assert copilotkit.REAL_SDK is True
    print("OK")
    """, extra_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "OK"


def test_server_side_names_of_the_sdk_fail_with_a_clear_error() -> None:
    done = _python(IMPORTS + """
    import copilotkit.crewai as module
    try:
        module.CrewAIAgent
    except AttributeError as exc:
        print("ERR", exc)
    """)
    assert done.returncode == 0, done.stderr
    assert 'provider = "crewai"' in done.stdout
