"""RSS of a served runtime before and after 300 GraphQL queries of ~2 MB bodies (issue 13, 5).

    uv run python bench/rss_documents.py                      # this checkout
    uv run python bench/rss_documents.py --queries 50         # shorter
    PYTHONPATH=/work/main/core/src uv run python bench/rss_documents.py   # another checkout's core

Each query is a distinct document whose bulk is one big string literal (one token), the shape
that filled the old 256-document cache. Two configurations are served, one after the other, by
``copilotkit-runtime serve`` in its own process:

* ``default``: the shipped limits (``max_query_bytes`` 100 KB): the documents are refused;
* ``big-docs``: ``max_query_bytes`` raised to the body limit, so every document is parsed
  (off the event loop) and offered to the cache, whose ``document_cache_bytes`` cap holds.

Prints, per configuration: RSS (``/proc/PID/status`` VmRSS) after startup and after the
queries, the statuses seen, and the slowest ``/health`` while 8 queries were in flight.
Linux only (reads /proc). No assertions: numbers to read side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

BODY_BYTES = 1_900_000  # under the default max_body_bytes (2,000,000)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def document(i: int) -> str:
    """A valid, distinct document: the bulk is a variable's default (one string token)."""
    filler = "x" * (BODY_BYTES - 200)
    return f'query Q{i}($pad: String = "{i}{filler}") {{ hello }}'


async def run(config_text: str, queries: int) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="rss-bench-"))
    config = folder / "copilotkit.toml"
    config.write_text(config_text)
    port = free_port()
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "copilotkit_runtime.cli", "--config",  # noqa: ASYNC220 (starts the server once, before any load)
                             str(config), "serve", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=120) as client:
            for _ in range(600):
                try:
                    if (await client.get(f"{base}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"server did not start: see {folder / 'server.log'}")
            # one small query first, so the baseline includes the warmed-up schema
            await client.post(f"{base}/api/copilotkit", json={"query": "{ hello }"})
            before = rss_mb(proc.pid)
            statuses: Counter[int] = Counter()
            health: list[float] = []
            sem = asyncio.Semaphore(8)

            async def one(i: int) -> None:
                async with sem:
                    r = await client.post(f"{base}/api/copilotkit",
                                          json={"query": document(i)})
                    statuses[r.status_code] += 1

            async def probe(done: asyncio.Event) -> None:
                while not done.is_set():
                    t = time.perf_counter()
                    await client.get(f"{base}/health")
                    health.append(time.perf_counter() - t)
                    await asyncio.sleep(0.05)

            done = asyncio.Event()
            prober = asyncio.create_task(probe(done))
            await asyncio.gather(*(one(i) for i in range(queries)))
            done.set()
            await prober
            after = rss_mb(proc.pid)
            peak = max(health) if health else float("nan")
            return {"before_mb": before, "after_mb": after, "statuses": dict(statuses),
                    "health_max_s": peak}
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


BASE = """
log_level = "warning"
[agents.demo]
provider = "demo"
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    if not os.path.exists("/proc/self/status"):
        sys.exit("needs Linux (/proc)")
    sides = {
        "default": BASE,
        "big-docs": BASE + "\n[limits]\nmax_query_bytes = 2000000\n",
    }
    print(f"{args.queries} queries of {BODY_BYTES / 1e6:.1f} MB, 8 in flight")
    print(f"{'config':<10} {'RSS before':>11} {'RSS after':>10} {'/health max':>12}  statuses")
    for name, text in sides.items():
        r = asyncio.run(run(text, args.queries))
        print(f"{name:<10} {r['before_mb']:>8.0f} MB {r['after_mb']:>7.0f} MB "
              f"{r['health_max_s']:>10.3f} s  {r['statuses']}")


if __name__ == "__main__":
    main()
