"""The runtime as a real OS process (``copilotkit-runtime serve``), for signal and crash tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from copilotkit_runtime.testing.server import free_port


def write_config(folder: Path, *, chunk_delay: float, shutdown_grace: float = 30.0,
                 extra: str = "") -> Path:
    """The demo agent on a SQLite store in ``folder``; no entry-point plugins (fast start)."""
    path = folder / "copilotkit.toml"
    path.write_text(f"""
log_level = "info"
data_dir = "{folder}"

[plugins]
enabled = []

[server]
shutdown_grace = {shutdown_grace}

[store]
type = "sqlite"

[agents.demo]
provider = "demo"
chunk_delay = {chunk_delay}
{extra}
""")
    return path


@dataclass
class ServerProcess:
    config: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.origin + "/api/copilotkit"

    def start(self) -> ServerProcess:
        """Start, and return once ``/health`` answers."""
        self.log_path = self.config.with_name(f"server.{self.port}.{time.monotonic_ns()}.log")
        env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOTKIT_")}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "copilotkit_runtime.cli", "--config", str(self.config),
                 "serve", "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT,
                env=env)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n"
                                   f"{self.log()}")
            try:
                if httpx.get(self.origin + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server did not start:\n{self.log()}")
            time.sleep(0.05)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def wait_for_log(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{text!r} not in the server log:\n{self.log()}")
            time.sleep(0.02)

    def signal(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


class Zygote:
    """A parent process that forks ready-imported servers (:mod:`.zygote`)."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOTKIT_")}
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("zygote.py"))], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, env=env, text=True)
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"

    def serve(self, config: Path, port: int, log: Path) -> int:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"serve {config} {port} {log}\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(10)


@dataclass
class ForkedServer:
    """A server process forked by a :class:`Zygote`."""

    zygote: Zygote
    config: Path
    port: int = field(default_factory=free_port)
    pid: int = 0
    log_path: Path | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.origin + "/api/copilotkit"

    def start(self) -> ForkedServer:
        self.log_path = self.config.with_name(f"server.{self.port}.{time.monotonic_ns()}.log")
        self.pid = self.zygote.serve(self.config, self.port, self.log_path)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.origin + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if not self.alive():
                raise RuntimeError(f"the server exited:\n{self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server did not start:\n{self.log()}")
            time.sleep(0.02)

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def kill(self) -> None:
        """``kill -9``, and wait until the process is gone."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.alive():
            if time.monotonic() > deadline:
                raise TimeoutError(f"process {self.pid} survived SIGKILL")
            time.sleep(0.01)
