"""mypy over the core package (the workspace's [tool.mypy] settings): plugin authors type-check
against these signatures, so the core itself must type-check cleanly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_the_core_package_type_checks() -> None:
    done = subprocess.run([sys.executable, "-m", "mypy", "core/src/copilotkit_runtime"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout
