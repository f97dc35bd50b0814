"""State store latency: memory, SQLite and Redis side by side, in one run.

Measures, per store, the latency of the operations a run makes (p50 / p99 / mean, in
milliseconds), one at a time (concurrency 1) and with many runs at once (``--concurrency``):

* ``get_thread``  - read a thread record (what ``loadAgentState`` and every run start do);
* ``save_thread`` - compare-and-set write of a record (every run end);
* ``update``      - read-modify-write with ``update_thread`` (CAS retry loop);
* ``lock``        - acquire + release a run lock;
* ``append``      - append a run's compacted history (``--events`` events).

Reported, not asserted. Usage::

    uv run python copilotkit-store-redis/bench/bench_store.py [--ops 2000] [--concurrency 32]
        [--redis-url redis://...]   # default: REDIS_URL, else a redis-server started here
        [--out results.json]

The Redis started here has persistence off (``--save "" --appendonly no``), like a cache
deployment; pass ``--aof everysec`` to measure with the append-only file on.
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
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from copilotkit_runtime.default_plugins.memory_store import MemoryStore
from copilotkit_runtime.default_plugins.sqlite_store import SQLiteOptions, SQLiteStore
from copilotkit_runtime.stores import StateStore, ThreadRecord, update_thread
from copilotkit_store_redis import RedisOptions, RedisStore

HERE = Path(__file__).parent


def sample_record(thread_id: str, messages: int) -> ThreadRecord:
    """A thread after a few turns: some state, ``messages`` chat messages (~200 bytes each)."""
    return ThreadRecord(
        thread_id, "agent",
        state={"turns": messages // 2, "todos": [{"id": i, "title": f"task {i}", "done": i % 2 == 0}
                                                 for i in range(10)],
               "last_message": "x" * 120},
        messages=[{"id": f"m{i}", "role": "user" if i % 2 == 0 else "assistant",
                   "content": f"message {i} " + "lorem ipsum dolor sit amet " * 6}
                  for i in range(messages)],
    )


def sample_events(n: int) -> list[dict[str, Any]]:
    return [{"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": f"token {i} "}
            for i in range(n)]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def timed(op: Callable[[int, int], Awaitable[Any]], ops: int,
                concurrency: int) -> list[float]:
    """Latencies (ms) of ``ops`` calls of ``op(i, worker)``, ``concurrency`` at a time."""
    latencies: list[float] = []
    counter = iter(range(ops))

    async def worker(w: int) -> None:
        for i in counter:
            start = time.perf_counter()
            await op(i, w)
            latencies.append((time.perf_counter() - start) * 1000)

    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return latencies


async def bench_store(name: str, store: StateStore, args: argparse.Namespace) -> dict[str, Any]:
    await store.open()
    prefix = uuid.uuid4().hex[:8]
    threads = [f"bench-{prefix}-{i}" for i in range(args.threads)]
    record = sample_record("x", args.messages)
    events = sample_events(args.events)
    versions: dict[str, int] = {}
    for tid in threads:
        versions[tid] = (await store.save_thread(record.evolve(thread_id=tid))).version

    async def get_thread(i: int, w: int) -> None:
        await store.get_thread(threads[i % len(threads)], "agent")

    async def save_thread(i: int, w: int) -> None:
        # Each writer has a thread of its own (as a run holding the thread's lock does).
        tid = threads[w]
        versions[tid] = (await store.save_thread(record.evolve(thread_id=tid),
                                                 expected_version=versions[tid])).version

    async def update(i: int, w: int) -> None:
        await update_thread(store, threads[i % len(threads)], "agent",
                            lambda r: r.evolve(state={**r.state, "n": i}), attempts=1000)

    async def lock(i: int, w: int) -> None:
        lease = await store.acquire_run_lock(f"{threads[i % len(threads)]}-lock-{i}", f"r{i}", 30)
        assert lease is not None
        await lease.release()

    async def append(i: int, w: int) -> None:
        await store.append_events(threads[i % len(threads)], f"r{i}", events)

    results: dict[str, Any] = {}
    try:
        for op_name, op, ops in (("get_thread", get_thread, args.ops),
                                 ("save_thread", save_thread, args.ops),
                                 ("update", update, args.ops),
                                 ("lock", lock, args.ops),
                                 ("append", append, max(1, args.ops // 4))):
            for concurrency in (1, args.concurrency):
                # at concurrency > 1 writers must not share a thread (save_thread is a CAS)
                if op_name == "save_thread" and concurrency > len(threads):
                    continue
                # warm up (and fill the connection pool) at this concurrency
                await timed(op, min(4 * concurrency, ops), concurrency)
                started = time.perf_counter()
                latencies = await timed(op, ops, concurrency)
                elapsed = time.perf_counter() - started
                results[f"{op_name}@{concurrency}"] = {
                    "op": op_name, "concurrency": concurrency, "ops": len(latencies),
                    "p50_ms": round(percentile(latencies, 50), 4),
                    "p99_ms": round(percentile(latencies, 99), 4),
                    "mean_ms": round(statistics.fmean(latencies), 4),
                    "ops_per_s": round(len(latencies) / elapsed, 1),
                }
    finally:
        for tid in threads:
            await store.delete_thread(tid)
        await store.close()
    return results


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(directory: Path, aof: str | None) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed: install it or pass --redis-url")
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    persistence = ["--appendonly", "yes", "--appendfsync", aof] if aof else ["--appendonly", "no"]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir",
                             str(directory), "--save", "", *persistence],
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


def print_table(results: dict[str, dict[str, Any]]) -> None:
    stores = list(results)
    keys = list(next(iter(results.values())))
    width = 14
    header = f"{'operation':<18}" + "".join(f"{s + ' p50/p99 ms':>{width + 12}}" for s in stores)
    print(header)
    print("-" * len(header))
    for key in keys:
        cells = []
        for store in stores:
            row = results[store].get(key)
            cells.append(f"{row['p50_ms']:.3f} / {row['p99_ms']:.3f}" if row else "-")
        print(f"{key:<18}" + "".join(f"{c:>{width + 12}}" for c in cells))
    print()
    print(f"{'throughput ops/s':<18}" + "".join(f"{s:>{width + 12}}" for s in stores))
    for key in keys:
        cells = [str(results[s][key]["ops_per_s"]) if key in results[s] else "-" for s in stores]
        print(f"{key:<18}" + "".join(f"{c:>{width + 12}}" for c in cells))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=2000, help="operations per measurement")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--threads", type=int, default=64, help="distinct threads used")
    parser.add_argument("--messages", type=int, default=20, help="messages per thread record")
    parser.add_argument("--events", type=int, default=50, help="events per append")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    parser.add_argument("--aof", choices=["always", "everysec", "no"], default=None,
                        help="append-only file for the Redis started here (default: off)")
    parser.add_argument("--stores", default="memory,sqlite,redis")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "bench_store.json")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-store-"))
    redis_proc = None
    redis_url = args.redis_url
    wanted = [s.strip() for s in args.stores.split(",") if s.strip()]
    if "redis" in wanted and not redis_url:
        redis_proc, redis_url = start_redis(tmp / "redis", args.aof)
    try:
        factories: dict[str, Callable[[], StateStore]] = {
            "memory": lambda: MemoryStore(),
            "sqlite": lambda: SQLiteStore(SQLiteOptions(path=str(tmp / "bench.sqlite3"))),
            "redis": lambda: RedisStore(RedisOptions(url=redis_url or "",
                                                     key_prefix=f"bench-{uuid.uuid4().hex[:6]}:",
                                                     pool_size=max(8, args.concurrency))),
        }
        results = {}
        for name in wanted:
            print(f"benchmarking {name} ...", file=sys.stderr, flush=True)
            results[name] = await bench_store(name, factories[name](), args)
    finally:
        if redis_proc is not None:
            redis_proc.kill()
            redis_proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    print_table(results)
    import redis as redis_py

    report = {
        "benchmark": "state store latency",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "redis": {"url_given": bool(args.redis_url), "aof": args.aof, "redis_py": redis_py.__version__,
                  "server": _redis_version()},
        "params": {"ops": args.ops, "concurrency": args.concurrency, "threads": args.threads,
                   "messages_per_record": args.messages, "events_per_append": args.events,
                   "record_bytes": len(json.dumps(sample_record("x", args.messages).__dict__))},
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten: {args.out}")


def _redis_version() -> str | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    return out.strip()


if __name__ == "__main__":
    asyncio.run(main())
