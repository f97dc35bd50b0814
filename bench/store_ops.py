"""Store operations under concurrent runs: p50/p99 of each operation a run makes.

    uv run python bench/store_ops.py [--runs 50] [--rounds 10] [--stores memory,sqlite,redis,postgres]
        [--pace 0,1] [--sides before=/path/to/other/checkout,after=.] [--repeats 2] [--out FILE]

``--runs`` runs go at once, each ``--rounds`` times, on a fresh thread each time, doing what
the engine does for a run: take the thread's run lock (``lease``), read the thread
(``get_thread``), append its events in batches (``append``: 4 batches of 51 events, the shape of
a 200-chunk reply), read them back (``get``), save the thread (``save``), release the lease.
Every call is timed on its own (``time.perf_counter`` around the ``await``), so a figure
includes waiting for the store's lock or connection pool behind the other runs: that is what
a run sees.

Two loads (``--pace``, seconds per run, comma-separated):

* ``0``, **saturated**: each run does its calls back to back, with no time between them, so
  ``--runs`` calls are always waiting on the store. By Little's law a call's mean latency is
  then ``runs / (calls per second)``: this load measures throughput as much as latency.
* ``P > 0``, **paced**: each run spreads its calls over ``P`` seconds (the time an agent takes
  to stream its reply), so ``--runs`` runs are in progress at once, as on a server.

The memory and SQLite stores come with the core; Redis (copilotkit-store-redis) runs on a
``redis-server`` started here on a free port (append-only file, ``appendfsync everysec``, Redis's
default durability), PostgreSQL (copilotkit-store-postgres) when a server answers
(``TEST_DATABASE_URL``, 127.0.0.1:5432, or a private one started with initdb/pg_ctl as its tests
do). A store that cannot run is skipped with a note.

``--sides NAME=CHECKOUT[+STORE.KEY=VALUE...],...`` measures other checkouts' stores side by side in the same run
(e.g. main's code before a change and this one after): each side runs in its own process with
``CHECKOUT``'s ``core/src`` and store plugins first on ``sys.path``; the sides alternate (A B A B,
``--repeats`` times per store and load) and their timings are pooled per side; ``+STORE.KEY=VALUE``
gives that side a store option (``--option`` gives every side one), e.g. ``big=.+postgres.pool_size=50``;
``postgres.synchronous_commit=off`` is PostgreSQL's own setting, given in the URL (commits do
not wait for the WAL flush: what a server crash may lose is the last fraction of a second). Without
``--sides`` the one side is this checkout. The event loop is uvloop when installed (what
``copilotkit-runtime serve`` runs on; ``--loop asyncio`` for the stdlib one).

No timed assertions anywhere: this prints a table and writes JSON (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OPS = ("lease", "get_thread", "append", "get", "save", "release")
#: where each checkout keeps the source of the stores measured here
SOURCES = ("core/src", "copilotkit-store-redis/src", "plugins/copilotkit-store-postgres/src")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))]


def events(run_id: str, n: int, start: int) -> list[dict[str, Any]]:
    return [{"type": "TEXT_MESSAGE_CONTENT", "messageId": run_id, "delta": f" token{start + i}"}
            for i in range(n)]


# -- servers (started once by the parent, shared by every side) ------------------------------


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


@contextlib.contextmanager
def redis_url(tmp: Path) -> Iterator[str | None]:
    sys.path.insert(0, str(ROOT / "copilotkit-store-redis" / "tests"))
    try:
        import redis_store_helpers as rh
    except ImportError:
        yield None
        return
    if rh.REDIS_SERVER is None:
        yield None
        return
    # The tests' server (append-only file), synced once a second as Redis ships by default.
    server = rh.RedisServer(tmp / "redis", extra_args=["--appendfsync", "everysec"]).start()
    try:
        yield server.url
    finally:
        server.close()


# -- one side's measurement (in its own process) ---------------------------------------------


@contextlib.asynccontextmanager
async def open_store(kind: str, tmp: Path, url: str | None,
                     extra: dict[str, Any] | None = None) -> AsyncIterator[Any]:
    extra = extra or {}
    if kind == "memory":
        from copilotkit_runtime.default_plugins.memory_store import MemoryStore

        store: Any = MemoryStore()
    elif kind == "sqlite":
        from copilotkit_runtime.default_plugins.sqlite_store import SQLiteOptions, SQLiteStore

        store = SQLiteStore(SQLiteOptions(path=str(tmp / f"bench-{uuid.uuid4().hex}.sqlite3"),
                                          **extra))
    elif kind == "redis":
        from copilotkit_store_redis import RedisOptions, RedisStore

        store = RedisStore(RedisOptions(url=url, key_prefix=f"bench-{uuid.uuid4().hex[:10]}:",
                                        **extra))
    else:
        from copilotkit_store_postgres import PostgresOptions, PostgresStore

        if extra.pop("synchronous_commit", None) == "off":  # the server's setting, per session
            url = f"{url}{'&' if '?' in str(url) else '?'}options=-c%20synchronous_commit%3Doff"
        store = PostgresStore(PostgresOptions(url=url, schema=f"bench_{uuid.uuid4().hex[:10]}",
                                              **extra))
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def one_run(store: Any, timings: dict[str, list[float]], pace: float,
                  rng: random.Random | None = None) -> None:
    from copilotkit_runtime.stores import ThreadRecord

    thread_id, run_id = str(uuid.uuid4()), str(uuid.uuid4())
    by_agent = {"agent": "bench"} if store.history_by_agent else {}
    # lease+get_thread | 4 appends | get+save+release, each gap 1/6 of the pace +-50 %
    gaps = [pace / 6 * (0.5 + rng.random()) if rng else pace / 6 for _ in range(5)]

    async def timed(op: str, coro: Any) -> Any:
        t0 = time.perf_counter()
        result = await coro
        timings[op].append(time.perf_counter() - t0)
        return result

    lease = await timed("lease", store.acquire_run_lock(thread_id, run_id, 30.0))
    assert lease is not None
    await timed("get_thread", store.get_thread(thread_id, "bench"))
    for batch in range(4):
        await asyncio.sleep(gaps[batch])
        await timed("append", store.append_events(thread_id, run_id,
                                                  events(run_id, 51, batch * 51), **by_agent))
    await asyncio.sleep(gaps[4])
    got = await timed("get", store.get_events(thread_id, **by_agent))
    assert len(got) == 204, len(got)
    record = ThreadRecord(thread_id=thread_id, agent="bench", run_id=run_id,
                          messages=[{"id": run_id, "role": "assistant", "content": "x" * 1000}])
    await timed("save", store.save_thread(record, expected_version=0))
    await timed("release", lease.release())


async def bench_store(kind: str, runs: int, rounds: int, pace: float, tmp: Path,
                      url: str | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    timings: dict[str, list[float]] = {op: [] for op in OPS}

    async def slot(seed: int) -> None:  # one of the ``runs`` runs in progress, ``rounds`` times
        rng = random.Random(seed)
        await asyncio.sleep(pace * rng.random())  # paced runs start spread over one pace
        for _ in range(rounds):
            await one_run(store, timings, pace, rng)

    async with open_store(kind, tmp, url, extra) as store:
        await asyncio.gather(*(one_run(store, {op: [] for op in OPS}, 0) for _ in range(5)))  # warm
        t0 = time.perf_counter()
        await asyncio.gather(*(slot(i) for i in range(runs)))
        wall = time.perf_counter() - t0
    return {"wall": wall, "timings": timings}


def worker(args: argparse.Namespace) -> int:
    if args.loop == "uvloop":
        with contextlib.suppress(ImportError):
            import uvloop

            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(bench_store(args.worker, args.runs, args.rounds, args.pace_one,
                                         Path(tmp), args.url, json.loads(args.options)))
    result["loop"] = type(asyncio.get_event_loop_policy()).__module__.split(".")[0]
    json.dump(result, sys.stdout)
    return 0


# -- the parent: sides, alternation, table ---------------------------------------------------


def run_side(checkout: Path, kind: str, args: argparse.Namespace, pace: float,
             url: str | None, side_options: list[str]) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(checkout / s) for s in SOURCES] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--runs", str(args.runs),
           "--rounds", str(args.rounds), "--pace-one", str(pace), "--loop", args.loop]
    if url:
        cmd += ["--url", url]
    cmd += ["--options", json.dumps(options_of([*args.option, *side_options], kind))]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} on {checkout} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def options_of(pairs: list[str], kind: str) -> dict[str, Any]:
    """``--option STORE.KEY=VALUE`` (VALUE as JSON when it parses) for ``kind``'s store."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        store, _, name = key.partition(".")
        if store == kind:
            try:
                out[name] = json.loads(value)
            except ValueError:
                out[name] = value
    return out


def summarise(side: str, kind: str, pace: float, runs: int, parts: list[dict[str, Any]]
              ) -> dict[str, Any]:
    wall = sum(p["wall"] for p in parts)
    count = sum(len(p["timings"]["release"]) for p in parts)
    out: dict[str, Any] = {"side": side, "store": kind, "paceSeconds": pace, "concurrentRuns": runs,
                           "runs": count, "repeats": len(parts), "loop": parts[0].get("loop"),
                           "runsPerSecond": round(count / wall, 1)}
    for op in OPS:
        values = [v for p in parts for v in p["timings"][op]]
        out[op] = {"n": len(values), "p50Ms": round(percentile(values, 50) * 1000, 3),
                   "p99Ms": round(percentile(values, 99) * 1000, 3),
                   "maxMs": round(max(values) * 1000, 3)}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=50, help="concurrent runs")
    p.add_argument("--rounds", type=int, default=10, help="runs each concurrent slot makes")
    p.add_argument("--stores", default="memory,sqlite,redis,postgres")
    p.add_argument("--pace", default="0", help="seconds per run, comma-separated (0: saturated)")
    p.add_argument("--sides", default="", help="NAME=CHECKOUT,... (default: this checkout)")
    p.add_argument("--repeats", type=int, default=1, help="alternations per store and load")
    p.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    p.add_argument("--option", action="append", default=[],
                   help="STORE.KEY=VALUE: a store option for every side (e.g. postgres.pool_size=50)")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--pace-one", type=float, default=0.0, help=argparse.SUPPRESS)
    p.add_argument("--url", default=None, help=argparse.SUPPRESS)
    p.add_argument("--options", default="{}", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)
    kinds = [k for k in args.stores.split(",") if k]
    paces = [float(x) for x in args.pace.split(",") if x]
    sides = [(name, Path(path.split("+")[0]).resolve(), path.split("+")[1:]) for name, _, path in
             (s.partition("=") for s in args.sides.split(",") if s)] or [("this", ROOT, [])]
    results = []
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        urls: dict[str, str | None] = {"memory": None, "sqlite": None}
        if "postgres" in kinds:
            urls["postgres"] = stack.enter_context(postgres_url())
        if "redis" in kinds:
            urls["redis"] = stack.enter_context(redis_url(Path(tmp)))
        for kind in kinds:
            if kind not in ("memory", "sqlite") and urls.get(kind) is None:
                print(f"skipping {kind}: no server", file=sys.stderr)
                continue
            for pace in paces:
                parts: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in sides}
                for rep in range(args.repeats):
                    order = sides if rep % 2 == 0 else sides[::-1]
                    for name, checkout, options in order:
                        parts[name].append(run_side(checkout, kind, args, pace, urls.get(kind),
                                                    options))
                for name, _, _ in sides:
                    results.append(summarise(name, kind, pace, args.runs, parts[name]))
                print(f"{kind} pace {pace}: done", file=sys.stderr, flush=True)
    print(f"{args.runs} concurrent runs x {args.rounds} rounds x {args.repeats} repeats; "
          f"p50 / p99 ms per operation\n")
    print("| store | pace s | side | runs/s | " + " | ".join(OPS) + " |")
    print("| --- | ---: | --- | ---: | " + " | ".join("---:" for _ in OPS) + " |")
    for r in results:
        print(f"| {r['store']} | {r['paceSeconds']:g} | {r['side']} | {r['runsPerSecond']} | "
              + " | ".join(f"{r[op]['p50Ms']:.2f} / **{r[op]['p99Ms']:.2f}**" for op in OPS) + " |")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
