"""A real CopilotKit SDK endpoint serving CrewAI flows: ``crewai_sdk/server.py`` run from its own
environment (``scripts/test.sh --setup-only`` creates it) on a free port."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from copilotkit_runtime.testing.server import free_port

HERE = Path(__file__).parent
PLUGIN = HERE.parent
SETUP_HINT = ("the CopilotKit SDK (CrewAI) endpoint's environment is missing: run "
              "plugins/copilotkit-remote/scripts/test.sh --setup-only")


def sdk_python() -> Path | None:
    configured = os.environ.get("COPILOTKIT_CREWAI_SDK_PYTHON")
    candidate = Path(configured) if configured else PLUGIN / ".crewai-sdk-venv" / "bin" / "python"
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


class CrewAISdkServer:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log
        self.url = f"http://127.0.0.1:{port}/copilotkit"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def start_crewai_sdk(workdir: Path, llm_url: str, timeout: float = 120.0) -> CrewAISdkServer:
    python = sdk_python()
    if python is None:
        pytest.skip(SETUP_HINT)
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_API_KEY") and k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "CREWAI_DISABLE_TELEMETRY": "true",
                "CREWAI_DISABLE_TRACKING": "true", "OTEL_SDK_DISABLED": "true",
                "PYTHONDONTWRITEBYTECODE": "1"})
    log = workdir / "crewai-sdk.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([str(python), str(HERE / "crewai_sdk" / "server.py"), str(port),
                                 llm_url], cwd=workdir, env=env, stdout=sink,
                                stderr=subprocess.STDOUT)
    server = CrewAISdkServer(proc, port, log)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the CrewAI SDK endpoint exited with {proc.returncode}:\n"
                               f"{server.log_text()[-3000:]}")
        try:
            if httpx.post(server.url + "/info", json={}, timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise TimeoutError(f"the CrewAI SDK endpoint did not start:\n{server.log_text()[-3000:]}")
        time.sleep(0.2)
