"""Compare variants of our server (experiment knobs of bench/py_server.py) at one concurrency,
alternating them round by round so that the machine's other load hits them alike.

    uv run --group bench python bench/experiments.py --rounds 3 --concurrency 50 \\
        tuned=py: untuned=py:--no-tune-gc bigger=py:--gc-threshold=100000

Each variant is NAME=SIDE[@CHECKOUT]:ARGS (ARGS comma-separated; a NAME starting with
``py-fast`` runs on uvloop + httptools). ``@CHECKOUT`` serves another checkout's core, e.g.
main against a branch in one run:

    uv run --group bench python bench/experiments.py --concurrency 50 \
        py-fast-main=py@/work/main py-fast-branch=py ts=ts

``--mode v2`` (or ``v2-single``) loads the AG-UI route instead; ``floor``, ``floor-json`` and
``ts`` are sides there too (the TypeScript side is then the runtime 1.75 of bench/ts-v2).
``--mode agents-v1`` / ``agents-v2`` check replies as bench/agent_paths.py does (give our
variants ``--langgraph=agent_graph:graph``).

``--scale N`` runs the scale test instead of a load phase: N streams held open at once on a
fresh server per variant and round (``--hold-seconds S``: held until each got a keep-alive),
reporting memory per open stream and the times to open and finish them all.

Prints mean and range of each figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadclient
import run as bench


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("variants", nargs="+")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--tokens", type=int, default=200)
    p.add_argument("--mode", default="chat", choices=["chat", "agent", *bench.V2_MODES,
                                                            *loadclient.AGENT_MODES])
    p.add_argument("--scale", type=int, default=0,
                   help="hold this many idle streams instead of a load phase")
    p.add_argument("--hold-seconds", type=float, default=0.0)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    bench.CLIENT_LOOP = "uvloop" if bench.have_uvloop() else "asyncio"
    sides = []
    for spec in args.variants:
        name, _, rest = spec.partition("=")
        base, _, extra = rest.partition(":")
        base, _, src = base.partition("@")
        if base not in bench.SIDES:
            p.error(f"unknown side {base!r} in {spec!r}: one of {', '.join(bench.SIDES)}")
        sides.append(bench.Side(name, name, tuple(a for a in extra.split(",") if a), src or None)
                     if base not in ("ts", "floor", "floor-json") else bench.Side(base, name))
    bench.MODE = args.mode
    bench.raise_fd_limit()
    ns = argparse.Namespace(warmup=20, tokens=args.tokens, mode=args.mode, state_every=0)
    logdir = Path(tempfile.mkdtemp(prefix="ckexp-"))
    results: dict[str, list[dict]] = {s.label: [] for s in sides}
    for rnd in range(args.rounds):
        for side in sides:
            if args.scale:
                results[side.label].append(scale(side, args, logdir))
                continue
            with bench.server(side, args.tokens, 0, logdir) as (port, pid):
                r = bench.run(bench.load_phase(port, pid, args.concurrency, args.requests, ns))
            results[side.label].append(r)
            print(f"round {rnd + 1} {side.label:<14} {r['requestsPerSecond']:>7} req/s  "
                  f"cpu {r['server']['cpuMsPerRequest']} ms/req  ttfb p99 {r['ttfbMs']['p99']} ms  "
                  f"failed {r['failed']}", file=sys.stderr, flush=True)
    if args.scale:
        print_scale(args, results)
        return
    print(f"\nc={args.concurrency}, {args.requests} requests, {args.rounds} rounds (mean [min-max])")
    print("| variant | requests/s | server CPU ms/req | TTFB p50 ms | TTFB p99 ms | total p99 ms | peak RSS MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, rs in results.items():
        cols = []
        for get in (lambda r: r["requestsPerSecond"], lambda r: r["server"]["cpuMsPerRequest"],
                    lambda r: r["ttfbMs"]["p50"], lambda r: r["ttfbMs"]["p99"],
                    lambda r: r["totalMs"]["p99"], lambda r: r["server"]["rssMB"]["peakSampled"]):
            vs = [get(r) for r in rs]
            cols.append(f"{statistics.fmean(vs):.1f} [{min(vs):.1f}-{max(vs):.1f}]")
        print(f"| {label} | " + " | ".join(cols) + " |")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


def scale(side: bench.Side, args: argparse.Namespace, logdir: Path) -> dict:
    import time

    import loadclient

    with bench.server(side, args.tokens, 0, logdir) as (port, pid):
        warm = loadclient.PhaseConfig("127.0.0.1", port, 5, 20, tokens=args.tokens, mode=args.mode)
        bench.run(loadclient.run_phase(warm))
        time.sleep(0.5)
        r = bench.run(loadclient.run_scale("127.0.0.1", port, args.scale, tokens=args.tokens,
                                           server_pid=pid, mode=args.mode,
                                           hold_seconds=args.hold_seconds))
    print(f"{side.label:<14} held {r['heldWithFirstChunk']} kept alive {r['keptAliveWhileHeld']} "
          f"complete {r['completeAfterRelease']} failed {r['failed']}  "
          f"{r['memoryPerOpenStreamKB']} KB/stream  open {r['secondsToOpenAll']} s  "
          f"finish {r['secondsToFinishAll']} s", file=sys.stderr, flush=True)
    return r


def print_scale(args: argparse.Namespace, results: dict[str, list[dict]]) -> None:
    print(f"\n{args.scale} held streams, {args.rounds} rounds (mean [min-max])")
    print("| variant | KB per open stream | RSS all held MB | s to open all | s to finish all "
          "| kept alive | complete | failed |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, rs in results.items():
        cols = []
        for get in (lambda r: r["memoryPerOpenStreamKB"], lambda r: r["rssMB"]["allHeld"],
                    lambda r: r["secondsToOpenAll"], lambda r: r["secondsToFinishAll"]):
            vs = [get(r) for r in rs]
            cols.append(f"{statistics.fmean(vs):.1f} [{min(vs):.1f}-{max(vs):.1f}]")
        kept = [r["keptAliveWhileHeld"] for r in rs]
        cols.append("-" if None in kept else str(min(kept)))
        cols.append(str(min(r["completeAfterRelease"] for r in rs)))
        cols.append(str(sum(r["failed"] for r in rs)))
        print(f"| {label} | " + " | ".join(cols) + " |")


if __name__ == "__main__":
    main()
