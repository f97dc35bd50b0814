"""The browser suite's servers, started once per session: the fake OpenAI-compatible model,
the runtime serving ``examples/agents/copilotkit.toml`` on a real port, and each example app,
built with Vite and served as static files from its own origin (so CORS is exercised as in a
real deployment)."""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from copilotkit_runtime import Runtime, load_settings
from copilotkit_runtime.testing.fake_llm import FakeLLMServer
from copilotkit_runtime.testing.server import ServedRuntime, free_port, serve_runtime

from .browser_session import App, Browser, chromium_path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
EXAMPLES = REPO / "examples"


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not installed"
    if chromium_path() is None:
        return "chromium is not installed: apt-get install chromium (scripts/test.sh does)"
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        return "playwright-core is not installed: run `npm ci --prefix tests/browser`"
    return None


class ChatScriptedLLM(FakeLLMServer):
    """The fake model, with scripted turns kept for chat and textarea requests: suggestion
    requests (a forced tool choice) arrive whenever react-ui wants them, and always get the
    rule's answer (the tool called with arguments that fit its schema)."""

    def _next(self, body: dict[str, Any], request: Any) -> Any:
        if isinstance(body.get("tool_choice"), dict):
            with self._lock:
                self.requests.append(body)
                self.headers.append({k.lower(): v for k, v in request.headers.items()})
            return None
        return super()._next(body, request)


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeLLMServer]:
    with ChatScriptedLLM() as llm:
        yield llm


@pytest.fixture(autouse=True)
def _fresh_llm(request: pytest.FixtureRequest) -> None:
    if "fake_llm" in request.fixturenames:
        request.getfixturevalue("fake_llm").reset()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@functools.cache
def _build(name: str) -> Path:
    folder = EXAMPLES / name
    if not (folder / "node_modules" / "vite").is_dir():
        pytest.skip(f"{name} is not installed: run `npm ci --prefix examples/{name}`")
    done = subprocess.run(["npm", "run", "build", "--silent"], cwd=folder, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, f"building examples/{name} failed:\n{done.stdout}\n{done.stderr}"
    return folder / "dist"


@pytest.fixture(scope="session")
def app_ports() -> dict[str, int]:
    """The ports the apps will be served on, known before the runtime starts (CORS)."""
    return {"react-v1": free_port(), "react-v2": free_port(), "compare": free_port()}


@pytest.fixture(scope="session")
def example_runtime(fake_llm: FakeLLMServer, app_ports: dict[str, int]) -> Iterator[ServedRuntime]:
    """The example config, as users run it, with the LLM agent on the fake model."""
    origins = [f"http://127.0.0.1:{port}" for port in app_ports.values()]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "COPILOTKIT_"))}
    env["EXAMPLE_LLM_BASE_URL"] = fake_llm.openai_url
    env["COPILOTKIT_SERVER__CORS_ORIGINS"] = json.dumps(origins)
    settings = load_settings(EXAMPLES / "agents" / "copilotkit.toml", env=env)
    with serve_runtime(Runtime(settings)) as served:
        yield served


def _browser(name: str, app_ports: dict[str, int], runtime: ServedRuntime, **options: Any) -> Browser:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    app = _serve_static_on(name, app_ports[name])
    return Browser(app, runtime, **options)


@functools.cache
def _serve_static_on(name: str, port: int) -> App:
    dist = _build(name)
    handler = functools.partial(_Quiet, directory=str(dist))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, name=f"static-{name}", daemon=True).start()
    return App(name, f"http://127.0.0.1:{port}")


@pytest.fixture(scope="session")
def react_v1(app_ports: dict[str, int], example_runtime: ServedRuntime) -> Browser:
    return _browser("react-v1", app_ports, example_runtime)


@pytest.fixture(scope="session")
def react_v2(app_ports: dict[str, int], example_runtime: ServedRuntime) -> Browser:
    return _browser("react-v2", app_ports, example_runtime)


@functools.cache
def _compare_module() -> Any:
    """examples/compare/compare.py (the side-by-side script), imported by path."""
    spec = importlib.util.spec_from_file_location("examples_compare", EXAMPLES / "compare" / "compare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def typescript_runtime(fake_llm: FakeLLMServer) -> Iterator[Any]:
    """The TypeScript runtime 1.10.6 of examples/compare (an OpenAIAdapter on the same fake model)."""
    compare = _compare_module()
    if not compare.installed():
        pytest.skip("the TypeScript runtime is not installed: run `npm ci --prefix examples/compare`")
    with compare.typescript_runtime(fake_llm.openai_url, free_port()) as runtime:
        yield runtime


@pytest.fixture(scope="session")
def compare_page(app_ports: dict[str, int], example_runtime: ServedRuntime,
                 typescript_runtime: Any) -> Iterator[Browser]:
    """examples/compare's page: react-v1 in two iframes, ``ours`` and ``typescript``."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    server = _compare_module().serve_page(_build("react-v1"), app_ports["compare"],
                                          example_runtime.url, typescript_runtime.url)
    try:
        yield Browser(App("compare", f"http://127.0.0.1:{app_ports['compare']}"), example_runtime)
    finally:
        server.shutdown()
