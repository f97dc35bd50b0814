"""The benchmark (bench/run.py) still works: its tiny configuration completes and its JSON parses.

No timed assertions: the figures are whatever this machine gives; only completeness is checked.
The TypeScript side runs when Node and bench/ts's npm packages are there (scripts/test.sh
installs them), and is skipped by the benchmark itself otherwise.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_bench_smoke_run_completes_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "smoke.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--sides", "py,ts",
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["settings"]["smoke"] is True
    sides = {p["side"] for p in result["phases"]}
    assert "py" in sides
    for phase in result["phases"]:
        # Every request of every phase came back complete (all chunks, hasNext:false).
        assert phase["failed"] == 0, (phase["side"], phase["failureSamples"])
        assert phase["ok"] == phase["total"]
    for scale in result["scale"]:
        assert scale["completeAfterRelease"] == scale["streams"], scale
    assert "requests/s" in done.stdout


def test_bench_llm_smoke_run_completes_and_writes_json(tmp_path: Path) -> None:
    """The LLM path (--mode llm): both runtimes on one fake OpenAI server, every reply checked
    against the fake's 200 chunks; the fake's CPU is reported per phase."""
    out = tmp_path / "smoke-llm.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--mode", "llm",
         "--sides", "py,ts", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["settings"]["mode"] == "llm"
    assert result["scale"] == []
    assert "py" in {p["side"] for p in result["phases"]}
    for phase in result["phases"]:
        assert phase["mode"] == "llm"
        assert phase["failed"] == 0, (phase["side"], phase["failureSamples"])
        assert phase["ok"] == phase["total"]
        assert phase["fakeLlm"]["cpuSeconds"] >= 0
    assert "fake LLM CPU ms/request" in done.stdout
