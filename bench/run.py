"""Benchmark this runtime against the real TypeScript @copilotkit/runtime 1.10.6, side by side.

    uv run --group bench python bench/run.py            # the full comparison (about 10 minutes)
    uv run python bench/run.py --smoke --out /tmp/s.json  # tiny: proves the benchmark works
    uv run --group bench python bench/run.py --mode llm   # the LLM path (fake OpenAI server)

For each round, each concurrency level and each side in turn (A B A B ...), a fresh server is
started, warmed with 20 requests, loaded with ``--requests`` ``generateCopilotResponse``
requests at that concurrency, and stopped. Sides:

* ``py``: this runtime under uvicorn, one process, plain asyncio + h11, configured as
  ``copilotkit-runtime serve`` runs it (what ``pip install copilotkit-runtime`` gives);
* ``py-fast``: the same with uvloop + httptools (``pip install copilotkit-runtime[speed]``),
  when installed;
* ``py-untuned``: ``py`` with CPython's GC defaults (``[server] tune_gc = false``), to show
  what the GC tuning buys;
* ``ts``: ``bench/ts/server.mjs``, the real 1.10.6 runtime on Node (``npm ci`` in bench/ts).

``--mode llm`` is the LLM path: ours with an ``[agents.llm] provider = "openai"`` agent (the
copilotkit-provider-openai plugin), TypeScript with its ``OpenAIAdapter`` and an ``openai``
client, both pointed at the same fake OpenAI server
(``python -m copilotkit_runtime.testing.fake_llm --chunks N``, a separate process started fresh
for each phase, its CPU reported per phase). No scale test in that mode.

Then, once per side, the scale test: ``--scale`` streams held open at once (each has its first
chunk and waits), the server's memory measured, then released and each checked complete.

It prints a table (ours / TypeScript for each figure) and writes everything as JSON to
``--out`` (default ``bench/results/<date>.json``, plus ``bench/results/latest.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import loadclient  # noqa: E402

TS_DIR = BENCH / "ts"
TS_V2_DIR = BENCH / "ts-v2"
#: the run's mode (set by main): chat, agent, llm (v1 GraphQL) or v2, v2-single (AG-UI)
MODE = "chat"
V2_MODES = loadclient.V2_MODES


def ts_dir() -> Path:
    return TS_V2_DIR if MODE in V2_MODES else TS_DIR
RESULTS = BENCH / "results"


def have_uvloop() -> bool:
    try:
        import httptools  # noqa: F401
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


# -- servers ---------------------------------------------------------------------------------


@dataclass
class Side:
    name: str
    label: str
    #: extra arguments for bench/py_server.py (experiment knobs)
    extra: tuple[str, ...] = ()
    #: another checkout whose core (``SRC/core/src``) the server imports instead of this one's
    src: str | None = None

    def command(self, port: int, tokens: int, state_every: int, llm_url: str | None = None
                ) -> tuple[list[str], dict[str, str]]:
        env = dict(os.environ)
        if self.name == "ts":
            env.update(PORT=str(port), HOST="127.0.0.1", TOKENS=str(tokens),
                       STATE_EVERY=str(state_every), COPILOTKIT_TELEMETRY_DISABLED="true",
                       DO_NOT_TRACK="1", LLM_BASE_URL=llm_url or "")
            if MODE in V2_MODES:
                return ["node", str(TS_V2_DIR / "bench_server.mjs")], env
            return ["node", str(TS_DIR / "server.mjs")], env
        if self.name.startswith("floor"):
            encode = "json" if self.name == "floor-json" else "parts"
            return [sys.executable, str(BENCH / "floor_server.py"), "--port", str(port),
                    "--tokens", str(tokens), "--encode", encode], env
        if self.src:
            core = str(Path(self.src).resolve() / "core" / "src")
            env["PYTHONPATH"] = os.pathsep.join(p for p in (core, env.get("PYTHONPATH")) if p)
        loop, http = ("uvloop", "httptools") if self.name.startswith("py-fast") else ("asyncio", "h11")
        llm = ["--llm-url", llm_url] if llm_url else []
        return [sys.executable, str(BENCH / "py_server.py"), "--port", str(port),
                "--tokens", str(tokens), "--state-every", str(state_every),
                "--loop", loop, "--http", http, *llm, *self.extra, *PY_EXTRA], env


SIDES = {
    "py": Side("py", "ours (asyncio+h11)"),
    "py-fast": Side("py-fast", "ours (uvloop+httptools)"),
    "py-untuned": Side("py-untuned", "ours (GC defaults)", ("--no-tune-gc",)),
    # --mode llm only: the openai plugin with lean_transport = false (httpx's own transport)
    "py-fast-httpx": Side("py-fast-httpx", "ours, httpx transport", ("--stock-http",)),
    # --mode v2 / v2-single: a bare ASGI app writing the same bytes (bench/floor_server.py)
    "floor": Side("floor", "floor (precomputed parts)"),
    "floor-json": Side("floor-json", "floor (JSON per part)"),
    "ts": Side("ts", "TypeScript 1.10.6"),
}


def side_label(name: str) -> str:
    if name == "ts" and MODE in V2_MODES:
        return "TypeScript 1.75"
    return SIDES[name].label


PY_EXTRA: list[str] = []


def gc_info(side: Side, port: int) -> dict[str, Any] | None:
    if side.name == "ts" or side.name.startswith("floor"):
        return None
    return get_json(f"http://127.0.0.1:{port}/bench/info?gc_stats=true", timeout=30)["gc"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str, timeout: float = 2.0) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def fake_llm(tokens: int, logdir: Path) -> Iterator[tuple[str, int]]:
    """Start the fake OpenAI-compatible server (its own process); yield (base URL, pid)."""
    port = free_port()
    log = (logdir / f"fake-llm-{port}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "copilotkit_runtime.testing.fake_llm",
                             "--port", str(port), "--chunks", str(tokens)],
                            stdout=log, stderr=subprocess.STDOUT, cwd=BENCH.parent)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the fake LLM server exited with {proc.returncode}:\n"
                                   + (logdir / f"fake-llm-{port}.log").read_text()[-2000:])
            try:
                get_json(f"http://127.0.0.1:{port}/v1/models")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the fake LLM server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/v1", proc.pid
    finally:
        _stop(proc)
        log.close()


@contextlib.contextmanager
def server(side: Side, tokens: int, state_every: int, logdir: Path, llm_url: str | None = None
           ) -> Iterator[tuple[int, int]]:
    """Start a fresh server; yield (port, pid); stop it."""
    port = free_port()
    cmd, env = side.command(port, tokens, state_every, llm_url)
    log = (logdir / f"{side.name}-{port}.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=BENCH.parent)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{side.name} server exited with {proc.returncode}:\n"
                                   + (logdir / f"{side.name}-{port}.log").read_text()[-2000:])
            try:
                info = get_json(f"http://127.0.0.1:{port}/bench/info")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{side.name} server did not start") from None
                time.sleep(0.1)
        assert info["pid"] == proc.pid, (info, proc.pid)
        yield port, proc.pid
    finally:
        _stop(proc)
        log.close()


def ensure_ts() -> str | None:
    """Why the TypeScript side cannot run, or None (runs ``npm ci`` if needed)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node/npm not found"
    where = ts_dir()
    if not (where / "node_modules" / "@copilotkit" / "runtime").is_dir():
        print(f"installing bench/{where.name} (npm ci) ...", file=sys.stderr, flush=True)
        done = subprocess.run(["npm", "ci", "--prefix", str(where), "--no-audit", "--no-fund",
                               "--loglevel=error"], capture_output=True, text=True)
        if done.returncode != 0:
            return f"npm ci failed: {done.stderr[-500:]}"
    return None


# -- running ---------------------------------------------------------------------------------


async def load_phase(port: int, pid: int, c: int, total: int, args: argparse.Namespace,
                     llm_pid: int | None = None) -> dict[str, Any]:
    warm = loadclient.PhaseConfig("127.0.0.1", port, min(c, 5), args.warmup, tokens=args.tokens,
                                  mode=args.mode, full_checks=args.warmup)
    warm_result = await loadclient.run_phase(warm)
    cfg = loadclient.PhaseConfig("127.0.0.1", port, c, total, tokens=args.tokens, mode=args.mode,
                                 server_pid=pid, llm_pid=llm_pid)
    result = await loadclient.run_phase(cfg)
    result["warmupFailed"] = warm_result["failed"]
    if warm_result["failed"]:
        result["warmupFailureSamples"] = warm_result["failureSamples"]
    return result


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    sides = [SIDES[s] for s in args.sides]
    logdir = Path(tempfile.mkdtemp(prefix="ckbench-"))
    phases: list[dict[str, Any]] = []
    scale: list[dict[str, Any]] = []
    started = time.time()
    for rnd in range(1, args.rounds + 1):
        for c in args.concurrency:
            for side in sides:
                with contextlib.ExitStack() as stack:
                    llm_url, llm_pid = (stack.enter_context(fake_llm(args.tokens, logdir))
                                        if args.mode == "llm" else (None, None))
                    port, pid = stack.enter_context(
                        server(side, args.tokens, args.state_every, logdir, llm_url))
                    gc0 = gc_info(side, port)
                    result = run(load_phase(port, pid, c, args.requests, args, llm_pid))
                    gc1 = gc_info(side, port)
                if gc0 and gc1:
                    result["serverGc"] = {
                        "collectionsDuringRun": [b - a for a, b in zip(gc0["collections"],
                                                                        gc1["collections"], strict=True)],
                        "trackedObjectsBefore": gc0["tracked"],
                        "trackedObjectsAfter": gc1["tracked"]}
                result.update(side=side.name, round=rnd)
                phases.append(result)
                print(f"round {rnd} c={c:<4} {side.name:<8} {result['requestsPerSecond']:>7} req/s "
                      f"ttfb p99 {result['ttfbMs']['p99']:>8} ms  total p99 "
                      f"{result['totalMs']['p99']:>9} ms  cpu/req "
                      f"{result['server']['cpuMsPerRequest']} ms  peak "
                      f"{result['server']['rssMB']['peakSampled']} MB  client "
                      f"{result['loadClientCpuMsPerRequest']} ms/req"
                      + (f"  fake LLM {result['fakeLlm']['cpuMsPerRequest']} ms/req"
                         if "fakeLlm" in result else "")
                      + f"  failed {result['failed']}",
                      file=sys.stderr, flush=True)
    for n in args.scale:
        for side in sides:
            with server(side, args.tokens, args.state_every, logdir) as (port, pid):
                warm = loadclient.PhaseConfig("127.0.0.1", port, 5, args.warmup,
                                              tokens=args.tokens, mode=args.mode)
                run(loadclient.run_phase(warm))
                time.sleep(0.5)
                result = run(loadclient.run_scale("127.0.0.1", port, n, tokens=args.tokens,
                                                  server_pid=pid, mode=args.mode,
                                                  hold_seconds=args.hold_seconds,
                                                  timeout=args.scale_timeout))
            result.update(side=side.name)
            scale.append(result)
            print(f"scale {n} streams {side.name:<8} held {result['heldWithFirstChunk']} "
                  f"complete {result['completeAfterRelease']}  "
                  f"{result['memoryPerOpenStreamKB']} KB/stream  failed {result['failed']}",
                  file=sys.stderr, flush=True)
    shutil.rmtree(logdir, ignore_errors=True)
    return {
        "benchmark": ("copilotkit-runtime vs @copilotkit/runtime 1.75 (AG-UI POST {base}/agent/"
                      f"bench/run, {'single-route envelope' if MODE == 'v2-single' else 'multi-route'})"
                      if MODE in V2_MODES else
                      "copilotkit-runtime vs @copilotkit/runtime 1.10.6 (GraphQL generateCopilotResponse)"),
        "startedAt": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
        "durationSeconds": round(time.time() - started, 1),
        "settings": {"rounds": args.rounds, "concurrency": args.concurrency,
                     "requests": args.requests, "warmup": args.warmup, "tokens": args.tokens,
                     "mode": args.mode, "stateEvery": args.state_every, "scale": args.scale,
                     "sides": args.sides, "smoke": args.smoke, "pyExtra": args.py_extra},
        "machine": machine_info(),
        "phases": phases,
        "scale": scale,
        "summary": summarize(phases, scale, args.sides),
    }


def run(coro: Any) -> Any:
    if CLIENT_LOOP == "uvloop":
        import uvloop

        return uvloop.run(coro)
    return asyncio.run(coro)


CLIENT_LOOP = "asyncio"


# -- reporting -------------------------------------------------------------------------------

FIGURES = [
    # (key, label, getter, higher is better)
    ("rps", "requests/s", lambda r: r["requestsPerSecond"], True),
    ("ttfb50", "TTFB p50 ms", lambda r: r["ttfbMs"]["p50"], False),
    ("ttfb99", "TTFB p99 ms", lambda r: r["ttfbMs"]["p99"], False),
    ("text99", "first text chunk p99 ms", lambda r: r["firstTextChunkMs"]["p99"], False),
    ("total50", "total p50 ms", lambda r: r["totalMs"]["p50"], False),
    ("total99", "total p99 ms", lambda r: r["totalMs"]["p99"], False),
    ("cpu", "server CPU ms/request", lambda r: r["server"]["cpuMsPerRequest"], False),
    ("rss", "server peak RSS MB", lambda r: r["server"]["rssMB"]["peakSampled"], False),
    ("client", "client CPU ms/request", lambda r: r["loadClientCpuMsPerRequest"], False),
    ("llm", "fake LLM CPU ms/request", lambda r: (r.get("fakeLlm") or {}).get("cpuMsPerRequest"),
     False),
    ("others", "other tenants' CPU s", lambda r: r.get("otherTenantsCpuSeconds"), False),
]


def summarize(phases: list[dict[str, Any]], scale: list[dict[str, Any]], sides: list[str]
              ) -> dict[str, Any]:
    """Mean over rounds of each figure, per side and concurrency; failures summed."""
    out: dict[str, Any] = {"load": {}, "scale": {}}
    for side in sides:
        for c in sorted({p["concurrency"] for p in phases}):
            rows = [p for p in phases if p["side"] == side and p["concurrency"] == c]
            if not rows:
                continue
            entry: dict[str, Any] = {"rounds": len(rows), "failed": sum(r["failed"] for r in rows)}
            for key, _, get, _ in FIGURES:
                values = [get(r) for r in rows if get(r) is not None]
                entry[key] = round(statistics.fmean(values), 2) if values else None
            out["load"].setdefault(side, {})[str(c)] = entry
        for s in scale:
            if s["side"] == side:
                out["scale"].setdefault(side, {})[str(s["streams"])] = {
                    k: s[k] for k in ("heldWithFirstChunk", "completeAfterRelease", "failed",
                                      "memoryPerOpenStreamKB", "secondsToOpenAll",
                                      "secondsToFinishAll", "keptAliveWhileHeld",
                                      "secondsToAllKeptAlive")
                } | {"rssAllHeldMB": s["rssMB"]["allHeld"]}
    return out


def fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.2f}"
    return str(v)


def table(result: dict[str, Any]) -> str:
    summary = result["summary"]
    load = summary["load"]
    sides = [s for s in result["settings"]["sides"] if s in load]
    ours = [s for s in sides if s != "ts"]
    floor = "floor-json" if "floor-json" in load else None
    has_ts = "ts" in load
    lines = []
    head = ["c", "figure"]
    for s in ours:
        head += [side_label(s)] + (["ratio"] if has_ts else [])
    if has_ts:
        head.append(side_label("ts"))
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(" ---: " if i != 1 else " --- " for i in range(len(head))) + "|")
    levels = sorted({int(c) for s in sides for c in load[s]})
    for c in levels:
        for key, label, _, _ in FIGURES:
            if all(load[s].get(str(c), {}).get(key) is None for s in sides):
                continue  # e.g. the fake LLM's CPU outside --mode llm
            row = [str(c), label]
            ts = load.get("ts", {}).get(str(c), {}).get(key) if has_ts else None
            for s in ours:
                v = load[s].get(str(c), {}).get(key)
                row.append(fmt(v))
                if has_ts:
                    ratio = (v / ts) if (v is not None and ts) else None
                    row.append(f"**{ratio:.2f}x**" if ratio is not None and key == "rps"
                               else (f"{ratio:.2f}x" if ratio is not None and key != "others" else "-"))
            if has_ts:
                row.append(fmt(ts))
            lines.append("| " + " | ".join(row) + " |")
        fails = {s: load[s].get(str(c), {}).get("failed") for s in sides}
        if any(fails.values()):
            lines.append(f"| {c} | FAILED requests | " + ", ".join(f"{s}: {n}" for s, n in fails.items()) + " |")
    if floor:
        # How far each side is from the JSON-per-part floor (1.00x = the floor itself).
        lines.append("")
        lines.append("Distance from the JSON-per-part floor (side / floor-json):")
        lines.append("")
        lines.append("| c | figure | " + " | ".join(side_label(s) for s in sides if s != floor) + " |")
        lines.append("| ---: | --- |" + " ---: |" * (len(sides) - 1))
        for c in levels:
            for key, name in (("cpu", "server CPU ms/request"), ("rps", "requests/s"),
                              ("ttfb99", "TTFB p99 ms")):
                base = load[floor].get(str(c), {}).get(key)
                row = [str(c), name]
                for s in sides:
                    if s == floor:
                        continue
                    v = load[s].get(str(c), {}).get(key)
                    row.append(f"{v / base:.2f}x" if v is not None and base else "-")
                lines.append("| " + " | ".join(row) + " |")
    scale = summary["scale"]
    if scale:
        lines.append("")
        lines.append("| side | streams | held (first chunk) | complete after release | failed "
                     "| RSS all held MB | memory per open stream KB | s to open all | kept alive while held "
                     "| s to finish all |")
        lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for s in sides:
            for n, e in scale.get(s, {}).items():
                lines.append(f"| {side_label(s)} | {n} | {e['heldWithFirstChunk']} | "
                             f"{e['completeAfterRelease']} | {e['failed']} | {fmt(e['rssAllHeldMB'])} | "
                             f"{fmt(e['memoryPerOpenStreamKB'])} | {fmt(e['secondsToOpenAll'])} | "
                             f"{fmt(e.get('keptAliveWhileHeld'))} | {fmt(e['secondsToFinishAll'])} |")
    return "\n".join(lines)


def machine_info() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        mem = f.readline().split(":", 1)[1].strip()
    versions: dict[str, str] = {"python": platform.python_version()}
    for mod in ("uvicorn", "starlette", "fastapi", "strawberry", "graphql", "pydantic", "uvloop",
                "httptools"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version
            dist = {"strawberry": "strawberry-graphql", "graphql": "graphql-core"}.get(mod, mod)
            versions[mod] = version(dist)
    with contextlib.suppress(Exception):
        versions["copilotkit-runtime"] = __import__("importlib.metadata").metadata.version(
            "copilotkit-runtime")
    if shutil.which("node"):
        versions["node"] = subprocess.run(["node", "--version"], capture_output=True,
                                          text=True).stdout.strip()
    for pkg in ("@copilotkit/runtime", "graphql-yoga", "@graphql-yoga/plugin-defer-stream"):
        with contextlib.suppress(OSError, ValueError):
            versions[pkg] = json.loads((ts_dir() / "node_modules" / pkg / "package.json").read_text())["version"]
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "kernel": platform.release(),
            "clientLoop": CLIENT_LOOP, "versions": versions,
            "note": "client and servers share the machine; other tenants' CPU is recorded per phase"}


def raise_fd_limit() -> None:
    """Raise this process's open-file limit to the hard limit (the servers inherit it): the
    scale test holds one socket per stream on each side."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY
                                                        else 1 << 20, hard))


def main(argv: list[str] | None = None) -> int:
    global CLIENT_LOOP, MODE
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true",
                   help="tiny run: 20 requests at c=1 and 5, one round, 20 held streams")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--concurrency", type=ints, default=[1, 50, 500])
    p.add_argument("--requests", type=int, default=2000, help="requests per phase")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--tokens", type=int, default=200, help="text chunks per reply")
    p.add_argument("--mode", choices=["chat", "agent", "llm", *V2_MODES], default="chat",
                   help="chat: no agentSession (TS: service adapter); agent: agentSession 'bench'; "
                   "llm: no agentSession, an OpenAI agent (TS: OpenAIAdapter) on a fake OpenAI "
                   "server; v2: AG-UI POST {base}/agent/bench/run (TS: runtime 1.75, "
                   "bench/ts-v2); v2-single: the same through the single-route envelope")
    p.add_argument("--state-every", type=int, default=0,
                   help="agent mode: a state snapshot every N chunks (0: none)")
    p.add_argument("--sides", default=None, help="comma list of py, py-fast, py-untuned, ts "
                   "(default: all available)")
    p.add_argument("--scale", type=ints, default=[1000], help="held streams (comma list; 0: none)")
    p.add_argument("--hold-seconds", type=float, default=0.0,
                   help="scale test: keep the streams held until each got a keep-alive, at most "
                   "this long after the last opened (v2 sends one after 15 s idle; try 25)")
    p.add_argument("--scale-timeout", type=float, default=180.0,
                   help="scale test: seconds each held stream may take in all")
    p.add_argument("--client-loop", choices=["auto", "asyncio", "uvloop"], default="auto")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--py-extra", default="", help="extra arguments for bench/py_server.py "
                   "(experiment knobs, e.g. '--gc-freeze --no-cors')")
    args = p.parse_args(argv)
    PY_EXTRA[:] = args.py_extra.split()
    MODE = args.mode
    raise_fd_limit()
    if args.smoke:
        args.rounds, args.concurrency, args.requests, args.warmup = 1, [1, 5], 20, 5
        if args.scale == [1000]:
            args.scale = [20]
    args.scale = [n for n in args.scale if n > 0]
    if args.mode == "llm":
        args.scale = []  # the fake LLM cannot hold a stream; the scale test is the chat mode's
    fast = have_uvloop()
    CLIENT_LOOP = ("uvloop" if fast else "asyncio") if args.client_loop == "auto" else args.client_loop
    if args.sides is None and args.mode in V2_MODES:
        args.sides = (["py-fast"] if fast else ["py"]) + ["floor", "floor-json", "ts"]
    elif args.sides is None:
        args.sides = ["py"] + (["py-fast"] if fast else []) + ["ts"]
    else:
        args.sides = [s for s in args.sides.split(",") if s]
    unknown = [s for s in args.sides if s not in SIDES]
    if args.mode not in V2_MODES and any(s.startswith("floor") for s in args.sides):
        p.error("the floor sides serve the v2 reply: use --mode v2 or v2-single")
    if unknown:
        p.error(f"unknown side(s): {', '.join(unknown)}")
    if "py-fast" in args.sides and not fast:
        p.error("py-fast needs uvloop and httptools: uv run --group bench ...")
    if "ts" in args.sides:
        why = ensure_ts()
        if why:
            print(f"skipping the TypeScript side: {why}", file=sys.stderr)
            args.sides.remove("ts")
    result = run_all(args)
    out = args.out or RESULTS / f"{dt.datetime.now():%Y%m%d-%H%M%S}{'-smoke' if args.smoke else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    text = table(result)
    if args.out is None and not args.smoke:
        latest = {"llm": "latest-llm.md", "v2": "latest-v2.md", "v2-single": "latest-v2-single.md"}
        (RESULTS / latest.get(args.mode, "latest.md")).write_text(
            f"Run {result['startedAt']} ({out.name}), {result['machine']['cpu']}, "
            f"{result['machine']['cores']} cores\n\n{text}\n")
    print(text)
    print(f"\nwrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
