"""mypy over the core and every first-party plugin's sources (the workspace's [tool.mypy]
settings): plugin authors type-check against the core's signatures, so the core must
type-check cleanly, and so must the plugins written on it. (The CrewAI provider lives in its
own environment and is left out here.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PACKAGES = [
    "core/src/copilotkit_runtime",
    "copilotkit-provider-langgraph/src",
    "copilotkit-store-redis/src",
    *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("plugins/*/src")),
]


@pytest.mark.parametrize("package", PACKAGES)
def test_the_package_type_checks(package: str) -> None:
    done = subprocess.run([sys.executable, "-m", "mypy", package],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout
