"""Test helpers: a real ``redis-server`` on a free port, runtime servers as OS processes, and a
small GraphQL (v1) client speaking the documents ``@copilotkit/runtime-client-gql`` sends."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

REDIS_SERVER = shutil.which("redis-server")

needs_redis_server = pytest.mark.skipif(
    REDIS_SERVER is None, reason="needs the redis-server binary (tests start and kill their own)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Any, timeout: float = 30.0, interval: float = 0.05,
               what: str = "condition") -> Any:
    """Poll ``condition()`` until it returns something truthy (then return it)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(interval)


def _redis_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith((b"+PONG", b"-NOAUTH"))  # up (maybe with a password)
    except OSError:
        return False


@dataclass
class RedisServer:
    """A ``redis-server`` process in its own directory, with an append-only file that is synced
    on every write (so a SIGKILL loses nothing that was acknowledged)."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    extra_args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    #: short, whatever the test's tmp path is (unix socket paths are limited to ~107 bytes)
    unix_socket: Path = field(
        default_factory=lambda: Path(tempfile.mkdtemp(prefix="ckredis-")) / "redis.sock")

    def start(self) -> RedisServer:
        assert REDIS_SERVER, "redis-server is not installed"
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.directory), "--save", "", "--appendonly", "yes",
                "--appendfsync", "always", "--unixsocket", str(self.unix_socket),
                "--unixsocketperm", "700", "--logfile", str(self.directory / "redis.log"),
                "--protected-mode", "no", *self.extra_args]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_until(lambda: self._ready(), timeout=20, what="redis-server to accept connections")
        except TimeoutError:
            self.kill()
            log = (self.directory / "redis.log")
            raise RuntimeError("redis-server did not start: "
                               + (log.read_text()[-2000:] if log.exists() else "")) from None
        return self

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {self.process.returncode}: "
                               f"{self.process.stderr.read().decode() if self.process.stderr else ''}")
        if "--port" in self.extra_args and self.extra_args[self.extra_args.index("--port") + 1] == "0":
            return self.unix_socket.exists()
        return _redis_answers("127.0.0.1", self.port)

    def kill(self) -> None:
        """SIGKILL: the way a crash or an OOM kill ends Redis."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def close(self) -> None:
        """Kill the server for good and remove its socket directory."""
        self.kill()
        shutil.rmtree(self.unix_socket.parent, ignore_errors=True)

    def restart(self) -> RedisServer:
        self.kill()
        return self.start()


def runtime_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOTKIT_")}
    env.update(extra)
    return env


@dataclass
class RuntimeProcess:
    """``python -m copilotkit_runtime.cli --config FILE serve --port P`` as an OS process."""

    config: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=runtime_env)
    process: subprocess.Popen[str] | None = None
    log_path: Path | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.origin + "/api/copilotkit"

    def start(self, *, wait: bool = True) -> RuntimeProcess:
        self.log_path = self.config.with_suffix(f".{self.port}.log")
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "copilotkit_runtime.cli", "--config", str(self.config),
             "serve", "--port", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT, env=self.env, text=True)
        if wait:
            wait_until(self._listening, timeout=60, what=f"runtime on port {self.port}")
        return self

    def _listening(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"runtime exited with {self.process.returncode}:\n{self.log()}")
        try:
            httpx.get(self.origin + "/health", timeout=2)
        except httpx.HTTPError:
            return False
        return True

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def wait(self, timeout: float = 60) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def write_config(path: Path, redis_url: str, *, key_prefix: str, chunk_delay: float = 0.0,
                 lock_ttl: float = 30.0, extra_store: str = "", live_relay: bool = True,
                 extra: str = "") -> Path:
    """A ``copilotkit.toml`` with the demo agent and the Redis store (URL from ``REDIS_URL``)."""
    path.write_text(f"""
log_level = "warning"

[store]
type = "redis"
lock_ttl_seconds = {lock_ttl}
live_relay = {"true" if live_relay else "false"}

[store.redis]
url = "${{TEST_REDIS_URL}}"
key_prefix = "{key_prefix}"
connect_timeout = 1.0
socket_timeout = 2.0
stop_poll_interval = 0.5
{extra_store}

[agents.demo]
provider = "demo"
chunk_delay = {chunk_delay}
{extra}
""")
    return path


# -- GraphQL (v1) ----------------------------------------------------------------------------

GQL_HEADERS = {
    "content-type": "application/json",
    "accept": "application/graphql-response+json, application/graphql+json, application/json, "
              "text/event-stream, multipart/mixed",
    "x-copilotkit-runtime-client-gql-version": "1.10.6",
}

# The documents the real client sends, shared with the GraphQL protocol tests.
_DOCUMENTS = Path(__file__).parents[2] / "tests" / "graphql" / "fixtures"


def _document(name: str) -> str:
    return (_DOCUMENTS / f"{name}.graphql").read_text()


def generate_body(agent: str, thread_id: str, text: str) -> dict[str, Any]:
    """The ``generateCopilotResponse`` request react-core 1.10.6 sends for an agent run."""
    now = "2026-01-01T00:00:00.000Z"
    return {
        "operationName": "generateCopilotResponse",
        "query": _document("generate-copilot-response"),
        "variables": {
            "data": {
                "agentSession": {"agentName": agent},
                "agentStates": [],
                "context": [],
                "extensions": {},
                "forwardedParameters": {},
                "frontend": {"actions": [], "url": "http://localhost:3000/"},
                "messages": [
                    {"id": f"ck-sys-{thread_id}", "createdAt": now,
                     "textMessage": {"content": "You are a helpful assistant.", "role": "system"}},
                    {"id": f"ck-user-{thread_id}", "createdAt": now,
                     "textMessage": {"content": text, "role": "user"}},
                ],
                "metaEvents": [],
                "metadata": {"requestType": "Chat"},
                "runId": None,
                "threadId": thread_id,
            },
            "properties": {},
        },
    }


def load_agent_state(url: str, agent: str, thread_id: str) -> dict[str, Any]:
    """``loadAgentState`` as the client sends it; returns ``data.loadAgentState`` (with
    ``state`` and ``messages`` parsed from their JSON strings)."""
    body = {"operationName": "loadAgentState", "query": _document("load-agent-state"),
            "variables": {"data": {"agentName": agent, "threadId": thread_id}}}
    response = httpx.post(url, json=body, headers=GQL_HEADERS, timeout=30)
    response.raise_for_status()
    payload = response.json()
    assert not payload.get("errors"), payload
    result = dict(payload["data"]["loadAgentState"])
    result["state"] = json.loads(result["state"])
    result["messages"] = json.loads(result["messages"])
    return result


def graphql_available(url: str) -> bool:
    """Whether the runtime at ``url`` has its GraphQL layer (it was a placeholder at first)."""
    response = httpx.post(url, json={"query": "query hello { hello }"}, headers=GQL_HEADERS,
                          timeout=10)
    return "not built yet" not in response.text


def iter_parts(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The JSON payloads of a ``multipart/mixed`` (incremental delivery) or plain JSON response,
    as they arrive."""
    ctype = response.headers.get("content-type", "")
    if "multipart/mixed" not in ctype:
        response.read()
        yield response.json()
        return
    boundary = "-"
    for piece in ctype.split(";"):
        piece = piece.strip()
        if piece.startswith("boundary="):
            boundary = piece.split("=", 1)[1].strip('"')
    delimiter = f"\r\n--{boundary}".encode()
    buffer = b""
    for chunk in response.iter_bytes():
        buffer += chunk
        while True:
            start = buffer.find(delimiter)
            if start < 0:
                break
            end = buffer.find(delimiter, start + len(delimiter))
            if end < 0:
                break
            part = buffer[start + len(delimiter):end]
            buffer = buffer[end:]
            if b"\r\n\r\n" in part:
                body = part.split(b"\r\n\r\n", 1)[1].strip()
                if body:
                    yield json.loads(body)


def text_of(parts: list[dict[str, Any]]) -> str:
    """All streamed text (``TextMessageOutput.content`` chunks) in the parts, in order."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "content" and isinstance(value, list):
                    out.extend(v for v in value if isinstance(v, str))
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for part in parts:
        walk(part.get("data"))
        for inc in part.get("incremental") or []:
            if "items" in inc and "content" in (inc.get("path") or []):
                out.extend(v for v in inc["items"] if isinstance(v, str))
            else:
                walk(inc.get("data"))
                walk(inc.get("items"))
    return "".join(out)


def agui_input(thread_id: str, text: str) -> dict[str, Any]:
    """An AG-UI ``RunAgentInput`` with one user message (none when ``text`` is empty)."""
    messages = [{"id": f"m-{time.monotonic_ns()}", "role": "user", "content": text}] if text else []
    return {"threadId": thread_id, "runId": f"run-{time.monotonic_ns()}", "state": {},
            "messages": messages, "tools": [], "context": [], "forwardedProps": {}}


def check_connect_of_another_agent_does_not_tail(a: RuntimeProcess, b: RuntimeProcess,
                                                 thread_id: str, text: str) -> None:
    """Issue 13 defect 8 for live runs: while agent ``demo`` runs ``text`` (a long reply) on
    ``a``, ``/agent/demo2/connect`` on ``b`` (same thread id) answers at once with nothing: it
    neither replays nor tails demo's run relayed through the store. The run is then stopped."""
    import threading

    started = threading.Event()

    def run_on_a() -> None:
        with httpx.stream("POST", f"{a.url}/agent/demo/run", json=agui_input(thread_id, text),
                          timeout=120) as response:
            for line in response.iter_lines():
                if line.startswith("data:") and "TEXT_MESSAGE_CONTENT" in line:
                    started.set()

    runner = threading.Thread(target=run_on_a, daemon=True)
    runner.start()
    try:
        assert started.wait(60), a.log()
        # the run goes on for many seconds: a follower would still be reading
        other = httpx.post(f"{b.url}/agent/demo2/connect", json=agui_input(thread_id, ""),
                           timeout=20)
        assert other.status_code == 200, other.text
        assert [line for line in other.text.splitlines() if line.startswith("data:")] == []
        assert runner.is_alive()
        # the run's own agent does follow it from the other process
        with httpx.stream("POST", f"{b.url}/agent/demo/connect",
                          json=agui_input(thread_id, ""), timeout=20) as response:
            lines = (line for line in response.iter_lines() if line.startswith("data:"))
            assert "RUN_STARTED" in next(lines)
    finally:
        httpx.post(f"{a.url}/agent/demo/stop/{thread_id}", json={}, timeout=20)
        runner.join(60)
