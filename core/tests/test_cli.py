"""The command line: plugins, agents, check, serve."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from copilotkit_runtime.testing.server import free_port


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "copilotkit_runtime.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_plugins_json_lists_built_ins_and_the_installed_test_plugin(tmp_path: Path) -> None:
    out = cli("plugins", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    plugins = {p["name"]: p for p in json.loads(out.stdout)}
    assert plugins["testplugin"]["distribution"] == "copilotkit-test-plugin"
    assert plugins["testplugin"]["version"] == "1.2.3"
    assert plugins["testplugin"]["registered"]["providers"] == ["shout"]
    assert plugins["builtin-memory-store"]["default"] is True
    assert set(plugins["testplugin"]) == {"name", "module", "distribution", "version", "entry_point",
                                          "default", "enabled", "reason", "hooks", "registered"}


def test_plugins_shows_a_disabled_plugin(tmp_path: Path) -> None:
    (tmp_path / "copilotkit.toml").write_text('[plugins]\ndisabled = ["testplugin"]\n')
    out = cli("plugins", cwd=tmp_path)
    assert "testplugin  [copilotkit-test-plugin 1.2.3]  disabled (disabled by [plugins] disabled)" in out.stdout


def test_agents_lists_configured_agents(tmp_path: Path) -> None:
    (tmp_path / "copilotkit.toml").write_text(
        '[agents.loud]\nprovider = "shout"\ndescription = "Shouts"\n[agents.demo]\nprovider = "demo"\n')
    out = cli("agents", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert [(a["name"], a["provider"]) for a in json.loads(out.stdout)] == [("loud", "shout"), ("demo", "demo")]


def test_check_accepts_a_good_config(tmp_path: Path) -> None:
    out = cli("check", cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip().endswith("OK")


def test_check_rejects_a_bad_config_with_the_key_and_exit_code_2(tmp_path: Path) -> None:
    (tmp_path / "copilotkit.toml").write_text('[agents.x]\nprovider = "langchain-magic"\n')
    out = cli("check", cwd=tmp_path)
    assert out.returncode == 2
    assert "error: agents.x.provider: unknown agent provider type 'langchain-magic'" in out.stderr
    assert "Traceback" not in out.stderr


def test_serve_starts_a_server_that_answers(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "copilotkit_runtime.cli", "serve", "--port", str(port)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90  # importing every installed plugin takes a while on a loaded machine
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert response.json()["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/api/copilotkit" in err


def test_serve_with_an_unusable_store_fails_with_a_plain_message(tmp_path: Path) -> None:
    (tmp_path / "copilotkit.toml").write_text(
        '[store]\ntype = "sqlite"\n[store.sqlite]\npath = "/proc/no-such-dir/threads.db"\n')
    out = cli("serve", "--port", str(free_port()), cwd=tmp_path)
    assert out.returncode == 2
    assert "error: Cannot open the SQLite store at /proc/no-such-dir/threads.db" in out.stderr
    assert "Traceback" not in out.stderr
