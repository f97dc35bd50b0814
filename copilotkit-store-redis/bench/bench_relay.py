"""What the live relay costs: CPU per run with it off and on, and GraphQL throughput.

Each configuration runs in a fresh process (``--worker``), in rounds that alternate the
configurations (A B C A B C ...), and reports the median over rounds:

* ``engine``: ``--runs`` runs of the demo agent one after another, each a reply of ``--chunks``
  text chunks, read to the end like a client would. CPU seconds of the runtime process per
  run (``time.process_time``), Redis server CPU per run (``INFO cpu``), store writes made by the
  relay per run. ``--chunk-delay 0`` is a burst (the provider yields everything at once, the
  relay coalesces it into a few batches); a small delay spaces the chunks like an LLM stream
  (about one batch per chunk: the relay's worst case).
* ``graphql``: ``--requests`` ``generateCopilotResponse`` requests (the document
  ``@copilotkit/react-core`` 1.10 sends) through the ASGI app in-process, ``--concurrency`` at
  a time: requests per second and CPU per request.

Configurations: ``memory`` (the memory store), ``redis-off`` (Redis, ``[store] live_relay =
false``), ``redis-on`` (Redis, relay on). ``--baseline DIR`` adds ``*-before`` runs of the same
configurations with the core package taken from DIR (e.g. the core before the relay existed),
to show that turning the relay off costs nothing.

Reported, not asserted. Writes no files except ``--out``; the Redis it starts keeps nothing
on disk::

    uv run python copilotkit-store-redis/bench/bench_relay.py [--rounds 3] [--runs 100]
        [--chunks 200] [--chunk-delay 0.001] [--requests 400] [--concurrency 8]
        [--baseline DIR] [--out results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DOCUMENT = ROOT / "tests" / "graphql" / "fixtures" / "generate-copilot-response.graphql"


# -- worker: one configuration in this process -----------------------------------------------

def _config(kind: str, redis_url: str, chunk_delay: float) -> dict[str, Any]:
    store: dict[str, Any] = {"type": "memory"}
    if kind.startswith("redis"):
        store = {"type": "redis", "live_relay": kind.startswith("redis-on"),
                 "redis": {"url": redis_url, "key_prefix": f"bench-{uuid.uuid4().hex[:8]}:"}}
    return {"log_level": "warning", "store": store,
            "agents": {"demo": {"provider": "demo", "chunk_delay": chunk_delay}}}


def _message(chunks: int) -> str:
    # The demo replies "You said: <message>", one chunk per word.
    return " ".join(f"word{i}" for i in range(max(1, chunks - 2)))


async def _redis_cpu(url: str) -> float:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        info = await client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    finally:
        await client.aclose()


async def worker_engine(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    from copilotkit_runtime.testing import make_runtime, run_request

    runtime = make_runtime(_config(kind, args.redis_url, args.chunk_delay), load_entry_points=True)
    await runtime.startup()
    writes = 0
    store = runtime.store
    if getattr(store, "supports_live_relay", False):
        original = store.publish_live

        async def counted(*a: Any, **k: Any) -> None:
            nonlocal writes
            writes += 1
            await original(*a, **k)

        store.publish_live = counted
    text = _message(args.chunks)

    async def one() -> int:
        run = await runtime.engine.start(run_request("demo", text))
        count = 0
        async for _ in run.events():
            count += 1
        relay = getattr(run, "relay", None)
        if relay is not None:
            await relay
        return count

    try:
        for _ in range(5):  # warm up
            await one()
        writes = 0
        redis_before = await _redis_cpu(args.redis_url) if kind.startswith("redis") else 0.0
        cpu, wall = time.process_time(), time.perf_counter()
        events = 0
        for _ in range(args.runs):
            events += await one()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        redis_cpu = (await _redis_cpu(args.redis_url) - redis_before) if kind.startswith("redis") else 0.0
    finally:
        await runtime.shutdown()
    return {"cpu_ms_per_run": 1000 * cpu / args.runs, "wall_ms_per_run": 1000 * wall / args.runs,
            "redis_cpu_ms_per_run": 1000 * redis_cpu / args.runs,
            "events_per_run": events / args.runs, "relay_writes_per_run": writes / args.runs}


async def worker_graphql(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    from copilotkit_runtime.server import create_app
    from copilotkit_runtime.testing import make_runtime

    runtime = make_runtime(_config(kind, args.redis_url, 0.0), load_entry_points=True)
    app = create_app(runtime)
    await runtime.startup()
    query = DOCUMENT.read_text()
    text = _message(args.chunks)
    base = f"http://bench{runtime.settings.server.base_path}"

    def body() -> dict[str, Any]:
        tid = str(uuid.uuid4())
        return {"operationName": "generateCopilotResponse", "query": query, "variables": {
            "data": {"agentSession": {"agentName": "demo"}, "agentStates": [], "context": [],
                     "extensions": {}, "forwardedParameters": {},
                     "frontend": {"actions": [], "url": "http://localhost:3000/"},
                     "messages": [{"id": f"u-{tid}", "createdAt": "2026-01-01T00:00:00.000Z",
                                   "textMessage": {"content": text, "role": "user"}}],
                     "metaEvents": [], "metadata": {"requestType": "Chat"}, "runId": None,
                     "threadId": tid},
            "properties": {}}}

    headers = {"content-type": "application/json",
               "accept": "multipart/mixed, application/json",
               "x-copilotkit-runtime-client-gql-version": "1.10.6"}
    failures = 0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=60) as client:
        async def request() -> None:
            nonlocal failures
            response = await client.post(base, json=body(), headers=headers)
            if response.status_code != 200 or "FailedResponseStatus" in response.text:
                failures += 1

        async def load(n: int) -> None:
            queue = iter(range(n))

            async def lane() -> None:
                for _ in queue:
                    await request()

            await asyncio.gather(*(lane() for _ in range(args.concurrency)))

        try:
            await load(20)  # warm up
            failures = 0
            cpu, wall = time.process_time(), time.perf_counter()
            await load(args.requests)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        finally:
            await runtime.shutdown()
    return {"requests_per_s": args.requests / wall, "cpu_ms_per_request": 1000 * cpu / args.requests,
            "failures": failures}


# -- parent: rounds of workers ---------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed: install it or pass --redis-url")
    port = free_port()
    # No persistence at all: nothing is written to disk (--dir is only where it would go).
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(HERE)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("redis-server did not start")


def run_worker(mode: str, kind: str, args: argparse.Namespace, core: Path | None
               ) -> dict[str, Any]:
    env = dict(os.environ)
    if core is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(core), env.get("PYTHONPATH", "")])
    command = [sys.executable, __file__, "--worker", mode, "--kind", kind,
               "--redis-url", args.redis_url, "--runs", str(args.runs),
               "--chunks", str(args.chunks), "--chunk-delay", str(args.chunk_delay),
               "--requests", str(args.requests), "--concurrency", str(args.concurrency)]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"worker {mode}/{kind} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", choices=["engine", "graphql"])
    parser.add_argument("--kind", default="memory")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--modes", default="engine,graphql")
    parser.add_argument("--kinds", default="memory,redis-off,redis-on")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a directory holding another copilotkit_runtime package to compare")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "bench_relay.json")
    args = parser.parse_args()

    if args.worker:
        work = worker_engine if args.worker == "engine" else worker_graphql
        print(json.dumps(asyncio.run(work(args.kind, args))))
        return

    redis_proc = None
    if not args.redis_url:
        redis_proc, args.redis_url = start_redis()
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    sides: list[tuple[str, str, Path | None]] = [(k, k, None) for k in kinds]
    if args.baseline is not None:
        # The relay did not exist before: "redis-on" means nothing there.
        sides += [(f"{k}-before", k, args.baseline) for k in kinds if k != "redis-on"]
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    try:
        for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
            for round_no in range(args.rounds):
                for label, kind, core in sides:
                    print(f"{mode} round {round_no + 1}/{args.rounds}: {label}", file=sys.stderr,
                          flush=True)
                    results.setdefault(mode, {}).setdefault(label, []).append(
                        run_worker(mode, kind, args, core))
    finally:
        if redis_proc is not None:
            redis_proc.kill()
            redis_proc.wait()

    summary = {mode: {label: {key: round(statistics.median(r[key] for r in rounds), 3)
                              for key in rounds[0]}
                      for label, rounds in by_label.items()}
               for mode, by_label in results.items()}
    for mode, by_label in summary.items():
        print(f"\n{mode} (median of {args.rounds} rounds)")
        keys = list(next(iter(by_label.values())))
        print(f"{'':<18}" + "".join(f"{k:>24}" for k in keys))
        for label, row in by_label.items():
            print(f"{label:<18}" + "".join(f"{row[k]:>24}" for k in keys))
    import redis as redis_py

    report = {
        "benchmark": "live relay cost",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "load": os.getloadavg()},
        "redis_py": redis_py.__version__,
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                   if k not in ("worker", "kind", "redis_url", "out")},
        "summary": summary,
        "rounds": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
