"""One browser scenario run: ``Browser.run(name)`` starts ``run.mjs`` (Debian's chromium through
playwright-core) on an example app and fails on scenario errors, console errors and failed
requests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from copilotkit_runtime.testing.server import ServedRuntime

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"  # screenshots of failed scenarios (gitignored)


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium")


@dataclass
class App:
    name: str
    origin: str


class Browser:
    """Runs one scenario of ``scenarios.mjs`` in a fresh chromium profile."""

    def __init__(self, app: App, runtime: ServedRuntime, *, suggestions: bool = True) -> None:
        self.app = app
        self.runtime = runtime
        self.suggestions = suggestions  # the app shows chat suggestions (wait for them first)

    def run(self, scenario: str, *, hash: str = "", timeout: float = 90,
            query: dict[str, str] | None = None, frames: list[str] | None = None,
            **params: Any) -> dict[str, Any]:
        """Run ``scenario`` on the app's page; with ``frames``, in each named iframe of the page in
        turn (examples/compare), the data then being per frame, each with its ``transcript``."""
        extra = "".join(f"&{key}={quote(value)}" for key, value in (query or {}).items())
        page = f"{self.app.origin}/?runtimeUrl={self.runtime.url}{extra}{hash}"
        shot = ARTIFACTS / f"{self.app.name}-{scenario}.png"
        payload = {"scenario": scenario, "page": page, "screenshot": str(shot),
                   "chromium": chromium_path(), "suggestions": self.suggestions, **params}
        if frames:
            payload["frames"] = frames
        done = subprocess.run(["node", "run.mjs"], cwd=HERE, input=json.dumps(payload),
                              capture_output=True, text=True, timeout=timeout, check=False)
        assert done.returncode == 0, f"run.mjs exited with {done.returncode}:\n{done.stderr}"
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["ok"], f"{scenario} failed (screenshot: {result.get('screenshot')}):\n{result['error']}\n" \
                             f"console: {result.get('consoleErrors')}\nrequests: {result.get('failedRequests')}"
        assert result["consoleErrors"] == [], f"browser console errors: {result['consoleErrors']}"
        assert result["failedRequests"] == [], f"failed requests: {result['failedRequests']}"
        return {**(result["data"] or {}), "aborted": result["aborted"], "requests": result["requestCounts"]}


