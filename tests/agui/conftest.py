from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).parents[1] / "node-v2"


def run_v2_client(scenario: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
    """Run the real @copilotkit/core client (tests/node-v2/client.mjs) on ``scenario``."""
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "@copilotkit" / "core").is_dir():
        pytest.skip("npm packages missing: run `npm ci --prefix tests/node-v2`")
    done = subprocess.run(["node", "client.mjs", json.dumps(scenario)], cwd=NODE_DIR,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
