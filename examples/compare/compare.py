"""The same app against copilotkit-runtime and against the TypeScript runtime, side by side.

    npm ci --prefix examples/compare && npm ci --prefix examples/react-v1
    uv run python examples/compare/compare.py        # [--port 5180]
    # open http://127.0.0.1:5180

Starts the fake OpenAI-compatible model (without ``OPENAI_API_KEY``; with one, both runtimes
talk to OpenAI or ``OPENAI_BASE_URL``), this runtime with ``examples/agents/copilotkit.toml``,
the TypeScript ``@copilotkit/runtime`` 1.10.6 (``server.mjs``: an ``OpenAIAdapter`` on the same
model, the same backend action), builds ``examples/react-v1`` once and serves a page with two
iframes of it, one per runtime (``?runtimeUrl=``). The browser test
``tests/browser/test_browser_compare.py`` drives both frames of that page.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import html
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent
APP = EXAMPLES / "react-v1"


@dataclass
class TypeScriptRuntime:
    url: str
    process: subprocess.Popen[bytes]


def installed() -> bool:
    return (HERE / "node_modules" / "@copilotkit" / "runtime").is_dir()


@contextlib.contextmanager
def typescript_runtime(llm_url: str | None, port: int, *, timeout: float = 60) -> Iterator[TypeScriptRuntime]:
    """``node server.mjs`` on ``port``: the TypeScript runtime 1.10.6 with an OpenAIAdapter whose
    client's baseURL is ``llm_url`` (None: OpenAI)."""
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1"}
    if llm_url:
        env["LLM_BASE_URL"] = llm_url
    process = subprocess.Popen(["node", "server.mjs"], cwd=HERE, env=env)
    origin = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"examples/compare/server.mjs exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"{origin}/compare/info", timeout=2) as response:
                    if json.load(response).get("runtime") == "typescript":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the TypeScript runtime did not answer within {timeout}s")
            time.sleep(0.2)
        yield TypeScriptRuntime(f"{origin}/api/copilotkit", process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def build_app() -> Path:
    """``npm run build`` of examples/react-v1 (its ``dist/``)."""
    done = subprocess.run(["npm", "run", "build", "--silent"], cwd=APP, capture_output=True,
                          text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"building examples/react-v1 failed:\n{done.stdout}\n{done.stderr}")
    return APP / "dist"


def page_html(ours: str, typescript: str) -> bytes:
    """The side-by-side page: ``index.html`` with the two runtime URLs filled in."""
    text = (HERE / "index.html").read_text(encoding="utf-8")
    for key, url in (("OURS", ours), ("TYPESCRIPT", typescript)):
        text = text.replace(f"runtimeUrl={{{{{key}}}}}", "runtimeUrl=" + quote(url, safe=":/"))
        text = text.replace(f"{{{{{key}}}}}", html.escape(url))
    return text.encode("utf-8")


class _Handler(http.server.SimpleHTTPRequestHandler):
    """``/`` is the side-by-side page; everything else is the built app."""

    page = b""

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] in ("/", "/compare.html"):
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(self.page)))
            self.end_headers()
            self.wfile.write(self.page)
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_page(dist: Path, port: int, ours: str, typescript: str) -> http.server.ThreadingHTTPServer:
    """Serve the page and the app on 127.0.0.1:``port`` in a background thread."""
    handler = type("CompareHandler", (_Handler,), {"page": page_html(ours, typescript)})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                             functools.partial(handler, directory=str(dist)))
    threading.Thread(target=server.serve_forever, name="compare-page", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=5180, help="the page's port")
    parser.add_argument("--runtime-port", type=int, default=8010, help="copilotkit-runtime's port")
    parser.add_argument("--ts-port", type=int, default=4020, help="the TypeScript runtime's port")
    args = parser.parse_args(argv)
    if not installed():
        print("the TypeScript runtime is not installed: npm ci --prefix examples/compare", file=sys.stderr)
        return 2

    from copilotkit_runtime import Runtime, load_settings
    from copilotkit_runtime.testing.fake_llm import FakeLLMServer
    from copilotkit_runtime.testing.server import serve_runtime

    with contextlib.ExitStack() as stack:
        env = dict(os.environ)
        if env.get("OPENAI_API_KEY"):
            llm_url = env.get("OPENAI_BASE_URL")
            if llm_url:
                env["EXAMPLE_LLM_BASE_URL"] = llm_url
        else:
            llm_url = stack.enter_context(FakeLLMServer()).openai_url
            env["EXAMPLE_LLM_BASE_URL"] = llm_url
            print(f"no OPENAI_API_KEY: both runtimes talk to a fake model at {llm_url}", file=sys.stderr)
        env["COPILOTKIT_SERVER__CORS_ORIGINS"] = json.dumps(
            [f"http://127.0.0.1:{args.port}", f"http://localhost:{args.port}"])
        settings = load_settings(EXAMPLES / "agents" / "copilotkit.toml", env=env)
        ours = stack.enter_context(serve_runtime(Runtime(settings), port=args.runtime_port))
        theirs = stack.enter_context(typescript_runtime(llm_url, args.ts_port))
        print("building examples/react-v1 ...", file=sys.stderr)
        server = serve_page(build_app(), args.port, ours.url, theirs.url)
        stack.callback(server.shutdown)
        print(f"open http://127.0.0.1:{args.port}  (left: {ours.url}, right: {theirs.url}; Ctrl-C stops)",
              file=sys.stderr)
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop the children on TERM too
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
