"""Serve a runtime over real HTTP on a free port, in a background thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from ..runtime import Runtime


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServedRuntime:
    runtime: Runtime
    host: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The runtime URL a CopilotKit client points at."""
        return self.origin + self.runtime.settings.server.base_path

    @property
    def loop(self) -> Any:
        return self.server_loop

    server_loop: Any = None


@contextlib.contextmanager
def serve_runtime(runtime: Runtime, *, app: Any = None, port: int | None = None,
                  timeout: float = 20.0) -> Iterator[ServedRuntime]:
    """Start uvicorn with ``create_app(runtime)`` (or ``app``); stop it on exit."""
    from ..server import create_app
    from ..serving import make_server

    app = app if app is not None else create_app(runtime)
    port = port or free_port()
    server = make_server(app, runtime, host="127.0.0.1", port=port, log_level="warning",
                         timeout_graceful_shutdown=2)
    served = ServedRuntime(runtime, "127.0.0.1", port, server, threading.Thread())

    def run() -> None:
        import asyncio

        loop = asyncio.new_event_loop()
        served.server_loop = loop
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.serve())
        loop.close()

    thread = threading.Thread(target=run, name=f"copilotkit-test-server-{port}", daemon=True)
    served.thread = thread
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server failed to start (see the log above)")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the test server did not start within {timeout}s")
        time.sleep(0.01)
    try:
        yield served
    finally:
        server.should_exit = True
        thread.join(timeout)
