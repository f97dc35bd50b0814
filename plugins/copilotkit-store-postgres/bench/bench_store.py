"""Throughput of the PostgreSQL store's hot operations against a real server.

    uv run python plugins/copilotkit-store-postgres/bench/bench_store.py [URL]

Prints operations per second (concurrency 20, one process) for each operation; the numbers
depend on the machine and the server, so compare them between commits on one machine.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid

import psycopg

from copilotkit_runtime.stores import ThreadRecord, update_thread
from copilotkit_store_postgres import PostgresOptions, PostgresStore

N, CONCURRENCY = 2000, 20


async def timed(name: str, op, n: int = N) -> None:  # type: ignore[no-untyped-def]
    sem = asyncio.Semaphore(CONCURRENCY)

    async def one(i: int) -> None:
        async with sem:
            await op(i)

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - start
    print(f"{name:<34} {n / elapsed:>9.0f} ops/s")


async def main(url: str) -> None:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    store = PostgresStore(PostgresOptions(url=url, schema=schema, pool_size=CONCURRENCY))
    await store.open()
    message = [{"id": "m", "role": "assistant", "content": "x" * 200}]
    try:
        await timed("save_thread (new thread)", lambda i: store.save_thread(
            ThreadRecord(f"t{i}", "a", state={"i": i}, messages=message)))
        await timed("get_thread", lambda i: store.get_thread(f"t{i}", "a"))
        await timed("update_thread (read + CAS)", lambda i: update_thread(
            store, f"t{i}", "a", lambda r: r.evolve(state={"i": r.state["i"] + 1})))
        await timed("append_events (10 events)", lambda i: store.append_events(
            f"t{i % 50}", "r", [{"type": "TEXT_MESSAGE_CONTENT", "delta": "w"}] * 10))
        await timed("get_events (whole history)", lambda i: store.get_events(f"t{i % 50}"),
                    n=200)

        async def lock_cycle(i: int) -> None:
            lease = await store.acquire_run_lock(f"t{i}", "r", 30)
            assert lease is not None
            await lease.renew()
            await lease.release()

        await timed("acquire + renew + release", lock_cycle)

        async def relay(i: int) -> None:
            lease = await store.acquire_run_lock(f"live{i}", "r", 30)
            assert lease is not None
            for n in range(4):
                await store.publish_live(f"live{i}", "r", [{"type": "X", "n": n}], final=n == 3)
            await lease.release()

        await timed("run relay (4 publish_live)", relay, n=500)
    finally:
        await store.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else
                     "postgresql://postgres@127.0.0.1:5432/postgres"))
