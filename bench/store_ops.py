"""Store operations under concurrent runs: p50/p99 of each operation a run makes.

    uv run python bench/store_ops.py [--runs 50] [--rounds 20] [--stores memory,sqlite,postgres]

``--runs`` runs go at once, each ``--rounds`` times, on a fresh thread each time, doing what
the engine does for a run: take the thread's run lock (``lease``), read the thread
(``get_thread``), append its events in batches (``append``: 4 batches of 51 events, the shape of
a 200-chunk reply), read them back (``get``), save the thread (``save``), release the lease.
Every call is timed on its own (``time.perf_counter`` around the ``await``), so a figure
includes waiting for the store's lock or connection pool behind the other runs: that is what
a run sees. The memory and SQLite stores come with the core; PostgreSQL
(copilotkit-store-postgres) runs when a server answers (``TEST_DATABASE_URL``, 127.0.0.1:5432,
or a private one started with initdb/pg_ctl as its tests do). The Redis store is not measured
yet. No timed assertions anywhere: this prints a table and writes JSON (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OPS = ("lease", "get_thread", "append", "get", "save", "release")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))]


def events(run_id: str, n: int, start: int) -> list[dict[str, Any]]:
    return [{"type": "TEXT_MESSAGE_CONTENT", "messageId": run_id, "delta": f" token{start + i}"}
            for i in range(n)]


@contextlib.contextmanager
def postgres_url() -> Iterator[str | None]:
    sys.path.insert(0, str(ROOT / "plugins" / "copilotkit-store-postgres" / "tests"))
    try:
        import pg_store_helpers as pg
    except ImportError:
        yield None
        return
    url = pg.shared_url()
    if url is not None:
        yield url
        return
    if not pg.can_run_private_server():
        yield None
        return
    server = pg.PostgresServer().start()
    try:
        yield server.url
    finally:
        server.close()


@contextlib.asynccontextmanager
async def open_store(kind: str, tmp: Path, pg_url: str | None) -> AsyncIterator[Any]:
    if kind == "memory":
        from copilotkit_runtime.default_plugins.memory_store import MemoryStore

        store: Any = MemoryStore()
    elif kind == "sqlite":
        from copilotkit_runtime.default_plugins.sqlite_store import SQLiteOptions, SQLiteStore

        store = SQLiteStore(SQLiteOptions(path=str(tmp / f"bench-{uuid.uuid4().hex}.sqlite3")))
    else:
        from copilotkit_store_postgres import PostgresOptions, PostgresStore

        store = PostgresStore(PostgresOptions(url=pg_url, schema=f"bench_{uuid.uuid4().hex[:10]}"))
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def one_run(store: Any, timings: dict[str, list[float]]) -> None:
    from copilotkit_runtime.stores import ThreadRecord

    thread_id, run_id = str(uuid.uuid4()), str(uuid.uuid4())
    by_agent = {"agent": "bench"} if store.history_by_agent else {}

    async def timed(op: str, coro: Any) -> Any:
        t0 = time.perf_counter()
        result = await coro
        timings[op].append(time.perf_counter() - t0)
        return result

    lease = await timed("lease", store.acquire_run_lock(thread_id, run_id, 30.0))
    assert lease is not None
    record = await timed("get_thread", store.get_thread(thread_id, "bench"))
    for batch in range(4):
        await timed("append", store.append_events(thread_id, run_id,
                                                  events(run_id, 51, batch * 51), **by_agent))
        await asyncio.sleep(0)
    got = await timed("get", store.get_events(thread_id, **by_agent))
    assert len(got) == 204, len(got)
    record = ThreadRecord(thread_id=thread_id, agent="bench", run_id=run_id,
                          messages=[{"id": run_id, "role": "assistant", "content": "x" * 1000}])
    await timed("save", store.save_thread(record, expected_version=0))
    await timed("release", lease.release())


async def bench_store(kind: str, runs: int, rounds: int, tmp: Path, pg_url: str | None
                      ) -> dict[str, Any]:
    timings: dict[str, list[float]] = {op: [] for op in OPS}
    async with open_store(kind, tmp, pg_url) as store:
        await asyncio.gather(*(one_run(store, {op: [] for op in OPS}) for _ in range(5)))  # warm
        t0 = time.perf_counter()
        for _ in range(rounds):
            await asyncio.gather(*(one_run(store, timings) for _ in range(runs)))
        wall = time.perf_counter() - t0
    out: dict[str, Any] = {"store": kind, "concurrentRuns": runs, "rounds": rounds,
                           "runsPerSecond": round(runs * rounds / wall, 1)}
    for op, values in timings.items():
        out[op] = {"n": len(values), "p50Ms": round(percentile(values, 50) * 1000, 3),
                   "p99Ms": round(percentile(values, 99) * 1000, 3),
                   "maxMs": round(max(values) * 1000, 3)}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=50, help="concurrent runs")
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--stores", default="memory,sqlite,postgres")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    kinds = [k for k in args.stores.split(",") if k]
    results = []
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        pg_url = stack.enter_context(postgres_url()) if "postgres" in kinds else None
        for kind in kinds:
            if kind == "postgres" and pg_url is None:
                print("skipping postgres: no server", file=sys.stderr)
                continue
            results.append(asyncio.run(bench_store(kind, args.runs, args.rounds, Path(tmp),
                                                   pg_url)))
            print(f"{kind}: done", file=sys.stderr, flush=True)
    print(f"{args.runs} concurrent runs x {args.rounds} rounds; p50 / p99 ms per operation\n")
    print("| store | runs/s | " + " | ".join(OPS) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in OPS) + " |")
    for r in results:
        print(f"| {r['store']} | {r['runsPerSecond']} | "
              + " | ".join(f"{r[op]['p50Ms']:.2f} / **{r[op]['p99Ms']:.2f}**" for op in OPS) + " |")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
