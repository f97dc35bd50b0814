"""Declaring CrewAI agents in the config, and what the package does to the process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from copilotkit_runtime.errors import ConfigError
from copilotkit_runtime.testing import make_runtime


def build(tmp_path: Path, **options: object):
    return make_runtime({"agents": {"myagent": {"provider": "crewai", **options}}}, tmp_path=tmp_path, load_entry_points=True)


@pytest.mark.parametrize(("options", "message"), [
    ({"flow": "no_such_module:Flow"}, r"agents\.myagent\.flow: cannot import module 'no_such_module'"),
    ({"flow": "sample_agents:Missing"}, r"agents\.myagent\.flow: module 'sample_agents' has no attribute 'Missing'"),
    ({"flow": "sample_agents"}, r"agents\.myagent\.flow: 'sample_agents' is not an import path"),
    ({"flow": "sample_agents:NOT_A_FLOW"}, r"agents\.myagent\.flow: expected a crewai Flow"),
    ({"crew": "nowhere.crews:make"}, r"agents\.myagent\.crew: cannot import module 'nowhere\.crews'"),
    ({"flow": "sample_agents:EchoFlow", "crew": "sample_agents:make_crew"}, r"agents\.myagent.*exactly one of 'flow' or 'crew'"),
    ({}, r"agents\.myagent.*exactly one of 'flow' or 'crew'"),
    ({"flow": "sample_agents:EchoFlow", "flows": "typo"}, r"agents\.myagent.*flows"),
])
def test_a_bad_agent_declaration_is_a_startup_error_naming_the_agent(
        tmp_path: Path, options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build(tmp_path, **options)


def test_a_flow_file_next_to_the_config_can_be_referenced_by_path(tmp_path: Path) -> None:
    (tmp_path / "local_flow.py").write_text(
        "from crewai.flow.flow import Flow, start\n"
        "class Local(Flow):\n"
        "    @start()\n"
        "    def go(self):\n"
        "        return 1\n")
    runtime = build(tmp_path, flow="local_flow.py:Local")
    assert [a.name for a in runtime.engine.agent_infos()] == ["myagent"]
    assert runtime.engine.agent_infos()[0].capabilities["crewai"] == "flow"


def test_the_plugin_is_found_through_its_entry_point(tmp_path: Path) -> None:
    runtime = build(tmp_path, flow="sample_agents:EchoFlow")
    registration = runtime.registries.providers.registration("crewai")
    assert registration is not None and "crewai" in registration.plugin


def test_loading_the_plugin_does_not_import_crewai() -> None:
    import subprocess

    code = ("import sys, copilotkit_provider_crewai.plugin; "
            "print('crewai' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_storage_goes_under_the_data_dir_and_telemetry_is_off(tmp_path: Path, monkeypatch) -> None:
    from copilotkit_provider_crewai import environment

    monkeypatch.setattr(environment, "_applied_storage", None)
    monkeypatch.delenv("CREWAI_STORAGE_DIR", raising=False)
    for name in environment.TELEMETRY_OFF:
        monkeypatch.delenv(name, raising=False)
    build(tmp_path, flow="sample_agents:EchoFlow")
    expected = (tmp_path / ".copilotkit" / "crewai").resolve()
    assert os.environ["CREWAI_STORAGE_DIR"] == str(expected)
    assert expected.is_dir()
    from crewai_core.paths import db_storage_path

    assert Path(db_storage_path()) == expected
    assert os.environ["CREWAI_DISABLE_TELEMETRY"] == "true"
    assert os.environ["OTEL_SDK_DISABLED"] == "true"
    assert os.environ["CREWAI_TRACING_ENABLED"] == "false"


def test_storage_dir_can_be_configured(tmp_path: Path, monkeypatch) -> None:
    from copilotkit_provider_crewai import environment

    monkeypatch.setattr(environment, "_applied_storage", None)
    monkeypatch.delenv("CREWAI_STORAGE_DIR", raising=False)
    build(tmp_path, flow="sample_agents:EchoFlow", storage_dir="state/crew")
    assert os.environ["CREWAI_STORAGE_DIR"] == str((tmp_path / "state" / "crew").resolve())


def test_nothing_is_written_to_the_real_home_directory(sandbox: Path) -> None:
    # conftest points HOME at the sandbox before CrewAI is imported; CrewAI's import-time
    # files (credentials key, settings) land there.
    assert Path.home() == sandbox / "home"
    assert Path.home().is_dir()
