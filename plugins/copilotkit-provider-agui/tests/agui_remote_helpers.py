"""Helpers: a real remote AG-UI server process (``agui_remote_server.py``) on a free port."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from copilotkit_runtime.testing.server import free_port

HERE = Path(__file__).parent


class RemoteServer:
    def __init__(self, proc: subprocess.Popen[bytes], port: int) -> None:
        self.proc = proc
        self.port = port
        self.origin = f"http://127.0.0.1:{port}"

    @property
    def agent_url(self) -> str:
        return self.origin + "/agent"

    def seen(self) -> list[dict[str, Any]]:
        return httpx.get(self.origin + "/_seen", timeout=10).json()

    def seen_run(self, run_id: str) -> dict[str, Any] | None:
        for entry in self.seen():
            if (entry.get("body") or {}).get("runId") == run_id:
                return entry
        return None

    def wait_for(self, predicate: Any, what: str, timeout: float = 20.0) -> Any:
        """Poll the remote's record until ``predicate(seen)`` is truthy (a deadline, not a
        timed assertion: it fails only when the thing never happens)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self.seen())
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"the remote never saw: {what}")
            time.sleep(0.05)

    def release(self) -> None:
        httpx.post(self.origin + "/_release", timeout=10)


def start_remote(timeout: float = 60.0) -> RemoteServer:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / "agui_remote_server.py"), str(port)])
    server = RemoteServer(proc, port)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the remote AG-UI server exited with {proc.returncode}")
        try:
            if httpx.get(server.origin + "/agent/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError("the remote AG-UI server did not start")
        time.sleep(0.1)


def stop_remote(server: RemoteServer) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(10)


