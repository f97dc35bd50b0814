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


@pytest.mark.parametrize("mode", ["v2", "v2-single"])
def test_bench_v2_smoke_run_completes_and_writes_json(tmp_path: Path, mode: str) -> None:
    """The AG-UI path (--mode v2 / v2-single): ours, both floors and the TypeScript runtime
    1.75 (when bench/ts-v2's packages are there), every SSE reply checked event by event on the
    first 20 requests; the floor table is printed."""
    out = tmp_path / f"smoke-{mode}.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--mode", mode,
         "--sides", "py,floor,floor-json,ts", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["settings"]["mode"] == mode
    assert {"py", "floor", "floor-json"} <= {p["side"] for p in result["phases"]}
    for phase in result["phases"]:
        assert phase["failed"] == 0, (phase["side"], phase["failureSamples"])
        assert phase["ok"] == phase["total"]
    for scale in result["scale"]:
        assert scale["completeAfterRelease"] == scale["streams"], scale
    assert "Distance from the JSON-per-part floor" in done.stdout


def test_bench_v2_checks_refuse_a_broken_reply() -> None:
    """The v2 checks fail on a reply with a chunk missing, out of order, or cut short."""
    sys.path.insert(0, str(ROOT / "bench"))
    import loadclient

    def frame(event: dict[str, object]) -> bytes:
        return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"

    ids = {"threadId": "t", "runId": "r"}
    events = [{"type": "RUN_STARTED", **ids},
              {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"}]
    events += [{"type": "TEXT_MESSAGE_CONTENT", "messageId": "m",
                "delta": loadclient.chunk_text(i)} for i in range(5)]
    events += [{"type": "TEXT_MESSAGE_END", "messageId": "m"}, {"type": "RUN_FINISHED", **ids}]
    good = b"".join(frame(e) for e in events)
    assert loadclient.v2_quick_check(good, 5) is None
    assert loadclient.v2_full_check(good, 5) is None
    missing = b"".join(frame(e) for i, e in enumerate(events) if i != 3)
    assert loadclient.v2_quick_check(missing, 5) is not None
    swapped = list(events)
    swapped[2], swapped[3] = swapped[3], swapped[2]
    assert loadclient.v2_full_check(b"".join(frame(e) for e in swapped), 5) is not None
    assert loadclient.v2_quick_check(good[: good.rfind(b"data: ")], 5) is not None


def test_bench_agent_paths_smoke_ours_completes_and_writes_json(tmp_path: Path) -> None:
    """bench/agent_paths.py, our sides (a LangGraph graph in process, v1 and v2): every reply
    carries the fake chat model's chunks, checked by the agent-path checks. The other sides
    (the TypeScript runtimes in front of the Python SDK's agent servers) need their own venv
    and take over a minute; run them with ``bench/agent_paths.py --smoke``."""
    out = tmp_path / "smoke-agents.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "agent_paths.py"), "--smoke",
         "--sides", "ours-v1,ours-v2", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert {p["side"] for p in result["phases"]} == {"ours-v1", "ours-v2"}
    for phase in result["phases"]:
        assert phase["mode"] in ("agents-v1", "agents-v2")
        assert phase["failed"] == 0, (phase["side"], phase["failureSamples"])
        assert phase["ok"] == phase["total"]
    assert "server CPU ms/request, all processes" in done.stdout


def test_bench_agent_path_checks_refuse_a_broken_reply() -> None:
    """The agent-path v2 checks accept a LangGraph agent's other events but fail on a chunk
    missing, a second text message, or a run cut short."""
    sys.path.insert(0, str(ROOT / "bench"))
    import loadclient

    def frame(event: dict[str, object]) -> bytes:
        return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"

    ids = {"threadId": "t", "runId": "r"}
    events = [{"type": "RUN_STARTED", **ids}, {"type": "STATE_SNAPSHOT", "snapshot": {}},
              {"type": "STEP_STARTED", "stepName": "chat"},
              {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"}]
    events += [{"type": "TEXT_MESSAGE_CONTENT", "messageId": "m",
                "delta": loadclient.chunk_text(i)} for i in range(5)]
    events += [{"type": "TEXT_MESSAGE_END", "messageId": "m"},
               {"type": "RAW", "event": {"content": " token1"}},
               {"type": "STEP_FINISHED", "stepName": "chat"}, {"type": "RUN_FINISHED", **ids}]
    good = b"".join(frame(e) for e in events)
    assert loadclient.agent_v2_quick_check(good, 5) is None
    assert loadclient.agent_v2_full_check(good, 5) is None
    kept_alive = b": keep-alive\n\n" + good
    assert loadclient.agent_v2_quick_check(kept_alive, 5) is None
    assert loadclient.agent_v2_full_check(kept_alive, 5) is None
    missing = b"".join(frame(e) for i, e in enumerate(events) if i != 5)
    assert loadclient.agent_v2_quick_check(missing, 5) is not None
    assert loadclient.agent_v2_full_check(missing, 5) is not None
    other = [dict(e, messageId="m2") if e.get("type") == "TEXT_MESSAGE_END" else e for e in events]
    assert loadclient.agent_v2_full_check(b"".join(frame(e) for e in other), 5) is not None
    assert loadclient.agent_v2_quick_check(good[: good.rfind(b"data: ")], 5) is not None
