"""Remote AG-UI agent benchmark: what a runtime adds to each run of an agent served elsewhere.

Our runtime (``agui`` provider) and the TypeScript ``@copilotkit/runtime`` 1.75 (``HttpAgent``)
each serve one agent, ``remote``, pointing at the same remote AG-UI server
(``remote_agui_server.py``: TOKENS text chunks per run). The load client sends the AG-UI v2
request (``POST /api/copilotkit/agent/remote/run``, a ``RunAgentInput``) and reads each SSE
answer to its end, checking it holds every chunk and ends with RUN_FINISHED. It also calls the
remote directly, for the baseline.

Figures per side and concurrency: the runtime process's CPU per run (``/proc``: all of it is
overhead, the remote is another process), time to first byte and to the first text chunk
(p50/p99), and those minus the direct baseline measured in the same round. Sides run A B A B
(``--rounds``), each on a fresh server warmed with 20 runs.

    uv run python bench/bench_remote.py [--rounds 2] [--requests 300] [--concurrency 1 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
TS_DIR = HERE / "ts-v2"
BASE = "/api/copilotkit"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not come up") from None
            time.sleep(0.1)


@contextlib.contextmanager
def process(cmd: list[str], ready_url: str, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_http(ready_url)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def run_body() -> bytes:
    return json.dumps({"threadId": str(uuid.uuid4()), "runId": str(uuid.uuid4()), "state": {},
                       "messages": [{"id": str(uuid.uuid4()), "role": "user", "content": "hi"}],
                       "tools": [], "context": [], "forwardedProps": {}}).encode()


async def one_run(client: httpx.AsyncClient, url: str, tokens: int) -> tuple[float, float, float]:
    start = time.perf_counter()
    first_byte = first_text = None
    body = bytearray()
    async with client.stream("POST", url, content=run_body(),
                             headers={"content-type": "application/json",
                                      "accept": "text/event-stream"}) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{url}: HTTP {response.status_code}: {(await response.aread())[:200]!r}")
        async for chunk in response.aiter_raw():
            now = time.perf_counter()
            if first_byte is None:
                first_byte = now
            body += chunk
            if first_text is None and b"TEXT_MESSAGE_CONTENT" in chunk:
                first_text = now
    end = time.perf_counter()
    text = bytes(body)
    if text.count(b"TEXT_MESSAGE_CONTENT") != tokens or b"RUN_FINISHED" not in text:
        raise RuntimeError(f"{url}: incomplete answer ({text.count(b'TEXT_MESSAGE_CONTENT')} "
                           f"chunks, RUN_FINISHED {'in' if b'RUN_FINISHED' in text else 'missing'})")
    assert first_byte is not None and first_text is not None
    return first_byte - start, first_text - start, end - start


async def phase(url: str, pid: int | None, c: int, total: int, tokens: int) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        for _ in range(20):  # warm-up
            await one_run(client, url, tokens)
        cpu0 = cpu_seconds(pid) if pid else 0.0
        results: list[tuple[float, float, float]] = []
        queue = iter(range(total))

        async def worker() -> None:
            for _ in queue:
                results.append(await one_run(client, url, tokens))

        wall0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(c)))
        wall = time.perf_counter() - wall0
        cpu = (cpu_seconds(pid) - cpu0) if pid else 0.0

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return round(ordered[max(0, round(q * len(ordered)) - 1)] * 1000, 2)

    ttfb, first, total_ms = ([r[i] for r in results] for i in range(3))
    return {"c": c, "runs": len(results), "runsPerSecond": round(len(results) / wall, 1),
            "cpuMsPerRun": round(cpu * 1000 / len(results), 3) if pid else None,
            "ttfbMs": {"p50": pct(ttfb, 0.5), "p99": pct(ttfb, 0.99)},
            "firstTextMs": {"p50": pct(first, 0.5), "p99": pct(first, 0.99)},
            "totalMs": {"p50": pct(total_ms, 0.5), "p99": pct(total_ms, 0.99)}}


def ensure_ts() -> None:
    if not (TS_DIR / "node_modules" / "@copilotkit" / "runtime").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=TS_DIR,
                       check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    ensure_ts()
    remote_port = free_port()
    remote_url = f"http://127.0.0.1:{remote_port}/agent"
    phases: list[dict[str, Any]] = []
    with process([sys.executable, str(HERE / "remote_agui_server.py"), str(remote_port),
                  str(args.tokens)], f"http://127.0.0.1:{remote_port}/"):
        for rnd in range(1, args.rounds + 1):
            for c in args.concurrency:
                direct = asyncio.run(phase(remote_url, None, c, args.requests, args.tokens))
                phases.append({"round": rnd, "side": "direct", **direct})
                print(f"round {rnd} c={c} direct: ttfb p50 {direct['ttfbMs']['p50']} ms", flush=True)
                for side in ("py", "ts"):
                    port = free_port()
                    if side == "py":
                        cmd = [sys.executable, str(HERE / "py_remote_server.py"), str(port), remote_url]
                        ready, cwd, env = f"http://127.0.0.1:{port}/health", None, None
                    else:
                        cmd = ["node", str(TS_DIR / "server.mjs")]
                        ready, cwd = f"http://127.0.0.1:{port}{BASE}/info", TS_DIR
                        env = {"PORT": str(port), "REMOTE_URL": remote_url}
                    with process(cmd, ready, env=env, cwd=cwd) as proc:
                        result = asyncio.run(phase(f"http://127.0.0.1:{port}{BASE}/agent/remote/run",
                                                   proc.pid, c, args.requests, args.tokens))
                    result["ttfbOverheadMs"] = round(result["ttfbMs"]["p50"] - direct["ttfbMs"]["p50"], 2)
                    result["firstTextOverheadMs"] = round(
                        result["firstTextMs"]["p50"] - direct["firstTextMs"]["p50"], 2)
                    phases.append({"round": rnd, "side": side, **result})
                    print(f"round {rnd} c={c} {side}: cpu {result['cpuMsPerRun']} ms/run, ttfb p50 "
                          f"{result['ttfbMs']['p50']} (+{result['ttfbOverheadMs']}) ms, p99 "
                          f"{result['ttfbMs']['p99']} ms, {result['runsPerSecond']} runs/s", flush=True)
    summary = summarize(phases, args.concurrency)
    out = args.out or HERE / "results" / f"remote-{datetime.now(UTC):%Y%m%d-%H%M}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args) | {"out": str(out)}, "phases": phases,
                               "summary": summary}, indent=2, default=str))
    print(table(summary))
    print(f"\nwritten: {out}")
    return 0


def summarize(phases: list[dict[str, Any]], concurrency: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in concurrency:
        row: dict[str, Any] = {}
        for side in ("direct", "py", "ts"):
            runs = [p for p in phases if p["side"] == side and p["c"] == c]
            if not runs:
                continue

            def mean(get: Any, runs: list[dict[str, Any]] = runs) -> float:
                values = [get(p) for p in runs]
                return round(sum(values) / len(values), 3)

            row[side] = {"ttfbP50": mean(lambda p: p["ttfbMs"]["p50"]),
                         "ttfbP99": mean(lambda p: p["ttfbMs"]["p99"]),
                         "runsPerSecond": mean(lambda p: p["runsPerSecond"])}
            if side != "direct":
                row[side]["cpuMsPerRun"] = mean(lambda p: p["cpuMsPerRun"])
                row[side]["ttfbOverheadMs"] = mean(lambda p: p["ttfbOverheadMs"])
        if "py" in row and "ts" in row and row["ts"]["cpuMsPerRun"]:
            row["cpuRatioPyToTs"] = round(row["py"]["cpuMsPerRun"] / row["ts"]["cpuMsPerRun"], 3)
        out[str(c)] = row
    return out


def table(summary: dict[str, Any]) -> str:
    lines = ["| c | side | CPU ms/run | TTFB p50 ms (added) | TTFB p99 ms | runs/s |",
             "| --- | --- | --- | --- | --- | --- |"]
    for c, row in summary.items():
        for side in ("direct", "py", "ts"):
            if side not in row:
                continue
            r = row[side]
            added = f" (+{r['ttfbOverheadMs']})" if "ttfbOverheadMs" in r else ""
            lines.append(f"| {c} | {side} | {r.get('cpuMsPerRun', '-')} | {r['ttfbP50']}{added} | "
                         f"{r['ttfbP99']} | {r['runsPerSecond']} |")
        if "cpuRatioPyToTs" in row:
            lines.append(f"| {c} | py/ts CPU | {row['cpuRatioPyToTs']} | | | |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
