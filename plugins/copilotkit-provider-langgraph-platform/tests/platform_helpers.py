"""A real LangGraph Agent Server process for the tests: ``langgraph dev`` from the server's own
environment, serving a copy of ``platform_graph`` (so its ``.langgraph_api`` files land in a
temporary folder), with analytics and tracing off and its own API key."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from copilotkit_runtime.testing.server import free_port

HERE = Path(__file__).parent
PLUGIN = HERE.parent
SETUP_HINT = (
    "the LangGraph dev server's environment is missing: run "
    "plugins/copilotkit-provider-langgraph-platform/scripts/test.sh --setup-only"
)
#: the API key the test deployment accepts (its custom auth checks x-api-key)
PLATFORM_KEY = f"lgp-test-{uuid.uuid4().hex}"


def server_executable() -> Path | None:
    configured = os.environ.get("LANGGRAPH_DEV_SERVER")
    candidate = Path(configured) if configured else PLUGIN / ".server-venv" / "bin" / "langgraph"
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


class DevServer:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc = proc
        self.port = port
        self.log = log
        self.url = f"http://127.0.0.1:{port}"
        self.api_key = PLATFORM_KEY

    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key}

    def get(self, path: str) -> Any:
        response = httpx.get(self.url + path, headers=self.headers(), timeout=10)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: Any) -> Any:
        response = httpx.post(self.url + path, json=body, headers=self.headers(), timeout=10)
        response.raise_for_status()
        return response.json()

    def runs(self, thread_id: str) -> list[dict[str, Any]]:
        """The thread's runs (none while the thread does not exist yet)."""
        response = httpx.get(
            f"{self.url}/threads/{thread_id}/runs", headers=self.headers(), timeout=10
        )
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return response.json()

    def wait_for(self, predicate: Any, what: str, timeout: float = 30.0) -> Any:
        """Poll until ``predicate()`` is truthy (a deadline, not a timed assertion: it fails
        only when the thing never happens)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"the deployment never showed: {what}")
            time.sleep(0.1)

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


def start_dev_server(workdir: Path, timeout: float = 120.0) -> DevServer:
    executable = server_executable()
    if executable is None:
        pytest.skip(SETUP_HINT)
    shutil.copytree(
        HERE / "platform_graph",
        workdir / "app",
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", ".langgraph_api"),
    )
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_API_KEY") and not k.startswith(("LANGSMITH", "LANGCHAIN"))
    }
    env.update(
        {
            "PLATFORM_TEST_KEY": PLATFORM_KEY,
            "LANGGRAPH_CLI_NO_ANALYTICS": "1",
            "LANGSMITH_TRACING": "false",
            "LANGCHAIN_TRACING_V2": "false",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    log = workdir / "server.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [
                str(executable),
                "dev",
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
                "--no-browser",
                "--no-reload",
                "--config",
                "langgraph.json",
            ],
            cwd=workdir / "app",
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = DevServer(proc, port, log)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"langgraph dev exited with {proc.returncode}:\n{server.log_text()[-3000:]}"
            )
        try:
            if httpx.get(server.url + "/ok", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise TimeoutError(f"langgraph dev did not start:\n{server.log_text()[-3000:]}")
        time.sleep(0.2)
