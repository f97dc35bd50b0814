"""The agent paths users deploy (issue 15): one LangGraph graph served three ways, side by side.

    uv run python bench/agent_paths.py                        # 2 rounds, c=1 and 50 (~20 min)
    uv run python bench/agent_paths.py --concurrency 500 --requests 1000 --rounds 1
    uv run python bench/agent_paths.py --smoke --out /tmp/a.json   # tiny: proves it works

The graph is ``bench/agent_graph.py`` (one chat node calling a fake chat model that streams
TOKENS chunks), the same file on every side. Sides, A B A B in each round and concurrency:

* ``ours-v1`` / ``ours-v2``: this runtime with the graph in process (copilotkit-provider-langgraph,
  ``bench/py_server.py --langgraph agent_graph:graph``: uvicorn, uvloop + httptools, memory
  store), over v1 GraphQL (``generateCopilotResponse`` with ``agentSession`` "bench") and over
  v2 AG-UI (``POST {base}/agent/bench/run``);
* ``ts-v1``: the TypeScript runtime 1.10.6 (``bench/ts/server.mjs`` with ``AGENT_URL``: its
  ``LangGraphHttpAgent``) in front of the ``copilotkit`` SDK's ``LangGraphAGUIAgent`` on its
  FastAPI endpoint, as CopilotKit's 1.10 docs deploy a self-hosted Python agent (v1 requests);
* ``ts-v2``: the TypeScript runtime 1.75 (``bench/ts-v2/bench_server.mjs`` with ``AGENT_URL``:
  an ``HttpAgent``) in front of ``ag-ui-langgraph``'s ``add_langgraph_fastapi_endpoint``
  (v2 requests).

The Python agent servers (``bench/agent_sdk/server.py``) run in their own environment,
``bench/agent_sdk/.venv``, built from the pinned ``bench/agent_sdk/requirements.txt`` with
``scripts/lib/side-venv.sh`` on first use (not in the workspace lock). Each phase starts fresh
processes, warms them, loads them with ``--requests`` requests at one concurrency and stops them.

Server CPU per request counts every process of a side: the runtime, and for the TypeScript sides
also the Python agent server (``/proc/PID/stat`` before and after each phase). Replies are
checked on every request (all chunks there once, the run or the stream closed properly) and
fully on the first 20 and every 50th (``loadclient.AGENT_MODES``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import loadclient  # noqa: E402
import run as bench_run  # noqa: E402

SDK_DIR = BENCH / "agent_sdk"
SDK_VENV = SDK_DIR / ".venv"
SDK_PYTHON = SDK_VENV / "bin" / "python"


@dataclass
class Side:
    name: str
    label: str
    #: loadclient mode: agents-v1 (GraphQL) or agents-v2 (AG-UI)
    mode: str
    #: the Python agent server's flavour behind a TypeScript runtime (None: ours, in process)
    agent: str | None = None
    ts_dir: str = ""

    @property
    def protocol(self) -> str:
        return "v1" if self.mode == "agents-v1" else "v2"

    # bench_run.server() calls this
    def command(self, port: int, tokens: int, state_every: int, agent_url: str | None = None
                ) -> tuple[list[str], dict[str, str]]:
        env = dict(os.environ, BENCH_TOKENS=str(tokens))
        if self.agent is None:
            return [sys.executable, str(BENCH / "py_server.py"), "--port", str(port),
                    "--tokens", str(tokens), "--loop", "uvloop", "--http", "httptools",
                    "--langgraph", "agent_graph:graph"], env
        env.update(PORT=str(port), HOST="127.0.0.1", TOKENS=str(tokens), AGENT_URL=agent_url or "",
                   COPILOTKIT_TELEMETRY_DISABLED="true", DO_NOT_TRACK="1")
        script = "server.mjs" if self.ts_dir == "ts" else "bench_server.mjs"
        return ["node", str(BENCH / self.ts_dir / script)], env


SIDES = {
    "ours-v1": Side("ours-v1", "ours, LangGraph in process (v1 GraphQL)", "agents-v1"),
    "ts-v1": Side("ts-v1", "TypeScript 1.10.6 + copilotkit SDK (LangGraphAGUIAgent)", "agents-v1",
                  agent="copilotkit", ts_dir="ts"),
    "ours-v2": Side("ours-v2", "ours, LangGraph in process (v2 AG-UI)", "agents-v2"),
    "ts-v2": Side("ts-v2", "TypeScript 1.75 + ag-ui-langgraph", "agents-v2", agent="ag-ui",
                  ts_dir="ts-v2"),
}
#: ours -> the side it is compared with
PAIRS = {"ours-v1": "ts-v1", "ours-v2": "ts-v2"}


def ensure_sdk_venv() -> str | None:
    """Why the agent servers cannot run, or None (builds bench/agent_sdk/.venv if needed)."""
    lib = ROOT / "scripts" / "lib" / "side-venv.sh"
    done = subprocess.run(["bash", "-c", 'source "$0" && side_venv "$1" "$2" sync', str(lib),
                           str(SDK_VENV), str(SDK_DIR / "requirements.txt")],
                          capture_output=True, text=True)
    if done.returncode != 0 or not SDK_PYTHON.exists():
        return f"building {SDK_VENV} failed: {done.stderr[-800:]}"
    return None


def ensure_ts(where: str) -> str | None:
    bench_run.MODE = "v2" if where == "ts-v2" else "chat"  # which bench/ts* ensure_ts() installs
    return bench_run.ensure_ts()


@contextlib.contextmanager
def agent_server(kind: str, tokens: int, logdir: Path) -> Iterator[tuple[str, int]]:
    """Start a Python agent server in its own environment; yield (its agent URL, pid)."""
    port = bench_run.free_port()
    logfile = logdir / f"agent-{kind}-{port}.log"
    log = logfile.open("wb")
    proc = subprocess.Popen([str(SDK_PYTHON), str(SDK_DIR / "server.py"), str(port), "--agent", kind],
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                            env=dict(os.environ, BENCH_TOKENS=str(tokens)))
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the {kind} agent server exited with {proc.returncode}:\n"
                                   + logfile.read_text()[-2000:])
            try:
                bench_run.get_json(f"http://127.0.0.1:{port}/bench/info")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the {kind} agent server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/agent", proc.pid
    finally:
        bench_run._stop(proc)
        log.close()


async def phase(port: int, pid: int, extra: dict[str, int], side: Side, c: int,
                args: argparse.Namespace) -> dict[str, Any]:
    warm = loadclient.PhaseConfig("127.0.0.1", port, min(c, 5), args.warmup, tokens=args.tokens,
                                  mode=side.mode, full_checks=args.warmup)
    warm_result = await loadclient.run_phase(warm)
    total = args.requests[min(args.concurrency.index(c), len(args.requests) - 1)]
    cfg = loadclient.PhaseConfig("127.0.0.1", port, c, total, tokens=args.tokens,
                                 mode=side.mode, server_pid=pid, extra_pids=extra)
    result = await loadclient.run_phase(cfg)
    result["warmupFailed"] = warm_result["failed"]
    if warm_result["failed"]:
        result["warmupFailureSamples"] = warm_result["failureSamples"]
    return result


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    sides = [SIDES[s] for s in args.sides]
    logdir = Path(tempfile.mkdtemp(prefix="ckbench-agents-"))
    phases: list[dict[str, Any]] = []
    started = time.time()
    for rnd in range(1, args.rounds + 1):
        for c in args.concurrency:
            for side in sides:
                with contextlib.ExitStack() as stack:
                    url, extra = None, {}
                    if side.agent is not None:
                        url, agent_pid = stack.enter_context(
                            agent_server(side.agent, args.tokens, logdir))
                        extra = {"agent server": agent_pid}
                    port, pid = stack.enter_context(
                        bench_run.server(side, args.tokens, 0, logdir, url))  # type: ignore[arg-type]
                    result = bench_run.run(phase(port, pid, extra, side, c, args))
                result.update(side=side.name, round=rnd)
                phases.append(result)
                print(f"round {rnd} c={c:<4} {side.name:<8} {result['requestsPerSecond']:>7} req/s "
                      f"ttfb p99 {result['ttfbMs']['p99']:>8} ms  total p99 "
                      f"{result['totalMs']['p99']:>9} ms  cpu/req {total_cpu(result)} ms "
                      f"(runtime {result['server']['cpuMsPerRequest']})  failed {result['failed']}",
                      file=sys.stderr, flush=True)
    shutil.rmtree(logdir, ignore_errors=True)
    return {
        "benchmark": "agent paths: one LangGraph graph in process (ours) vs behind the TypeScript "
                     "runtimes (1.10.6 + copilotkit SDK, 1.75 + ag-ui-langgraph)",
        "startedAt": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
        "durationSeconds": round(time.time() - started, 1),
        "settings": {"rounds": args.rounds, "concurrency": args.concurrency,
                     "requests": args.requests, "warmup": args.warmup, "tokens": args.tokens,
                     "sides": args.sides, "smoke": args.smoke},
        "machine": bench_run.machine_info() | {"agentSdk": sdk_versions()},
        "phases": phases,
        "summary": summarize(phases, args.sides),
    }


def sdk_versions() -> dict[str, str]:
    pins: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in (SDK_DIR / "requirements.txt").read_text().splitlines():
            name, sep, version = line.partition("==")
            if sep and name in ("copilotkit", "ag-ui-langgraph", "langgraph", "langchain-core",
                                "fastapi", "uvicorn"):
                pins[name] = version
    return pins


def total_cpu(r: dict[str, Any]) -> float | None:
    own = r["server"]["cpuMsPerRequest"]
    if own is None:
        return None
    others = [p["cpuMsPerRequest"] or 0 for p in (r.get("otherProcesses") or {}).values()]
    return round(own + sum(others), 3)


def agent_cpu(r: dict[str, Any]) -> float | None:
    procs = r.get("otherProcesses") or {}
    return procs["agent server"]["cpuMsPerRequest"] if "agent server" in procs else None


def agent_rss(r: dict[str, Any]) -> float | None:
    procs = r.get("otherProcesses") or {}
    return procs["agent server"]["rssMB"]["hwm"] if "agent server" in procs else None


FIGURES = [
    # (key, label, getter)
    ("rps", "requests/s", lambda r: r["requestsPerSecond"]),
    ("ttfb50", "TTFB p50 ms", lambda r: r["ttfbMs"]["p50"]),
    ("ttfb99", "TTFB p99 ms", lambda r: r["ttfbMs"]["p99"]),
    ("text99", "first text chunk p99 ms", lambda r: r["firstTextChunkMs"]["p99"]),
    ("total50", "total p50 ms", lambda r: r["totalMs"]["p50"]),
    ("total99", "total p99 ms", lambda r: r["totalMs"]["p99"]),
    ("cpu", "server CPU ms/request, all processes", total_cpu),
    ("cpuRuntime", "  runtime process", lambda r: r["server"]["cpuMsPerRequest"]),
    ("cpuAgent", "  Python agent server", agent_cpu),
    ("rss", "runtime peak RSS MB", lambda r: r["server"]["rssMB"]["peakSampled"]),
    ("rssAgent", "agent server RSS high-water MB", agent_rss),
    ("client", "client CPU ms/request", lambda r: r["loadClientCpuMsPerRequest"]),
    ("others", "other tenants' CPU s", lambda r: r.get("otherTenantsCpuSeconds")),
]


def summarize(phases: list[dict[str, Any]], sides: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for side in sides:
        for c in sorted({p["concurrency"] for p in phases}):
            rows = [p for p in phases if p["side"] == side and p["concurrency"] == c]
            if not rows:
                continue
            entry: dict[str, Any] = {"rounds": len(rows), "failed": sum(r["failed"] for r in rows)}
            for key, _, get in FIGURES:
                values = [v for v in (get(r) for r in rows) if v is not None]
                entry[key] = round(statistics.fmean(values), 2) if values else None
            out.setdefault(side, {})[str(c)] = entry
    return out


def table(result: dict[str, Any]) -> str:
    summary = result["summary"]
    fmt = bench_run.fmt
    lines: list[str] = []
    for ours, theirs in PAIRS.items():
        if ours not in summary and theirs not in summary:
            continue
        a, b = summary.get(ours, {}), summary.get(theirs, {})
        lines += ["", f"**{SIDES[ours].protocol}**: {SIDES[ours].label} against {SIDES[theirs].label}",
                  "", f"| c | figure | ours | ratio | {SIDES[theirs].label} |",
                  "| ---: | --- | ---: | ---: | ---: |"]
        for c in sorted({int(k) for k in (*a, *b)}):
            ea, eb = a.get(str(c), {}), b.get(str(c), {})
            for key, label, _ in FIGURES:
                va, vb = ea.get(key), eb.get(key)
                if va is None and vb is None:
                    continue
                ratio = "-"
                if va is not None and vb and key != "others":
                    ratio = f"**{va / vb:.2f}x**" if key in ("rps", "ttfb99", "cpu") else f"{va / vb:.2f}x"
                lines.append(f"| {c} | {label} | {fmt(va)} | {ratio} | {fmt(vb)} |")
            fails = {s: e.get("failed") for s, e in ((ours, ea), (theirs, eb)) if e}
            if any(fails.values()):
                lines.append(f"| {c} | FAILED requests | " + ", ".join(f"{s}: {n}" for s, n in fails.items())
                             + " | | |")
    return "\n".join(lines).strip()


def main(argv: list[str] | None = None) -> int:
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true",
                   help="tiny run: one round, c=1, 10 requests per side")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--concurrency", type=ints, default=[1, 50])
    p.add_argument("--requests", type=ints, default=[100, 300],
                   help="requests per phase, one per concurrency level (the last one repeats)")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--tokens", type=int, default=200, help="chunks the fake chat model streams")
    p.add_argument("--sides", default=",".join(SIDES),
                   help=f"comma list of {', '.join(SIDES)} (default: all)")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    if args.smoke:
        args.rounds, args.concurrency, args.requests, args.warmup = 1, [1], [10], 3
    args.sides = [s for s in args.sides.split(",") if s]
    unknown = [s for s in args.sides if s not in SIDES]
    if unknown:
        p.error(f"unknown side(s): {', '.join(unknown)}")
    bench_run.raise_fd_limit()
    bench_run.CLIENT_LOOP = "uvloop" if bench_run.have_uvloop() else "asyncio"
    theirs = [s for s in args.sides if SIDES[s].agent is not None]
    if theirs:
        why = ensure_sdk_venv()
        for s in list(theirs):
            why_s = why or ensure_ts(SIDES[s].ts_dir)
            if why_s:
                print(f"skipping {s}: {why_s}", file=sys.stderr)
                args.sides.remove(s)
    result = run_all(args)
    out = args.out or bench_run.RESULTS / f"agents-{dt.datetime.now():%Y%m%d-%H%M}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    text = table(result)
    if args.out is None and not args.smoke:
        (bench_run.RESULTS / "latest-agents.md").write_text(
            f"Run {result['startedAt']} ({out.name}), {result['machine']['cpu']}, "
            f"{result['machine']['cores']} cores\n\n{text}\n")
    print(text)
    print(f"\nwrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
