"""The Python side of the benchmark: this runtime, served the way a user would in production
(uvicorn, one process), with the scripted ``bench`` agent as its only (so default) agent, or
with ``--llm-url URL`` an ``[agents.llm] provider = "openai"`` agent (the copilotkit-provider-openai
plugin) whose ``base_url`` is that (fake) OpenAI-compatible server, or with ``--langgraph
MODULE:ATTR`` that graph as the ``provider = "langgraph"`` agent ``bench``.

    python bench/py_server.py [--port 4020] [--tokens 200] [--state-every 0]
                              [--loop asyncio|uvloop] [--http h11|httptools] [--llm-url URL]
                              [experiment knobs: --gc-freeze --gc-threshold N --no-cors
                               --no-record-events --thread-ttl S]

Only the built-in plugins and the bench provider are loaded (no entry points): the workspace's
development environment has a test plugin installed that a production server would not have.

Extra routes for the benchmark: ``POST /bench/release`` lets held streams go on and
``GET /bench/info`` says which runtime this is and how many streams are held.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_provider
import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from copilotkit_runtime import __version__
from copilotkit_runtime.cli import tune_gc
from copilotkit_runtime.config import load_settings
from copilotkit_runtime.runtime import Runtime
from copilotkit_runtime.server import create_app


def build_app(tokens: int, state_every: int, loop: str, http: str,
              args: argparse.Namespace | None = None) -> FastAPI:
    llm_url = args.llm_url if args is not None else None
    graph = args.langgraph if args is not None else None
    plugins: dict[str, object] = {"bench": bench_provider}
    if graph:
        # bench/agent_paths.py: a LangGraph graph on copilotkit-provider-langgraph, in process.
        from copilotkit_provider_langgraph import plugin as langgraph_plugin

        plugins = {"langgraph": langgraph_plugin}
        agents: dict[str, object] = {"bench": {"provider": "langgraph", "graph": graph,
                                               "description": "bench chat graph"}}
    elif llm_url:
        # The LLM path: what a user configures as [agents.llm] provider = "openai".
        from copilotkit_provider_openai import plugin as openai_plugin

        plugins = {"openai": openai_plugin}
        agents = {"llm": {"provider": "openai", "base_url": llm_url,
                          "api_key": "bench-fake-key", "model": "gpt-4o-mini",
                          "description": "LLM chat agent (fake server)",
                          "lean_transport": not (args is not None and args.stock_http)}}
    else:
        agents = {"bench": {"provider": "bench", "tokens": tokens, "state_every": state_every,
                            "description": "scripted benchmark agent"}}
    overrides: dict[str, object] = {"log_level": "warning", "agents": agents}
    store: dict[str, object] = {}
    if args is not None and args.no_record_events:
        store["record_events"] = False
    if args is not None and args.thread_ttl:
        store["thread_ttl_seconds"] = args.thread_ttl
    if store:
        overrides["store"] = store
    if args is not None and args.no_cors:
        overrides["server"] = {"cors_origins": []}
    settings = load_settings(None, env={}, overrides=overrides)
    runtime = Runtime(settings, plugins=plugins, load_entry_points=False, environ={})
    app = create_app(runtime)

    async def release() -> JSONResponse:
        return JSONResponse({"released": bench_provider.release_held()})

    async def info(gc_stats: bool = False) -> JSONResponse:
        out: dict[str, object] = {
            "runtime": "python", "version": __version__, "tokens": tokens,
            "stateEvery": state_every, "held": bench_provider.held_count(), "pid": os.getpid(),
            "llmUrl": llm_url,
            "loop": loop, "http": http, "tasks": len(asyncio.all_tasks())}
        if gc_stats:
            out["gc"] = {"collections": [g["collections"] for g in gc.get_stats()],
                         "tracked": len(gc.get_objects()), "threshold": gc.get_threshold()}
        return JSONResponse(out)

    baseline: list[object] = []

    async def trace(action: str = "diff", key: str = "filename", top: int = 25) -> JSONResponse:
        """With --tracemalloc: ``mark`` takes a baseline, ``diff`` the growth since, by file
        (``key=lineno``: by allocating line)."""
        import tracemalloc

        if not tracemalloc.is_tracing():
            return JSONResponse({"error": "start the server with --tracemalloc"})
        snap = tracemalloc.take_snapshot()
        if action == "mark" or not baseline:
            baseline[:] = [snap]
            return JSONResponse({"marked": True})
        if key == "traceback":  # the callers of the top allocating lines (--tracemalloc-frames)
            stats = snap.compare_to(baseline[0], "traceback")  # type: ignore[arg-type]
            return JSONResponse({"growthByTraceback": [
                [round(st.size_diff / 1024, 1), st.count_diff,
                 [f"{f.filename.split('site-packages/')[-1].split('src/')[-1]}:{f.lineno}"
                  for f in st.traceback]] for st in stats[:top]]})
        stats = snap.compare_to(baseline[0], "lineno" if key == "lineno" else "filename")  # type: ignore[arg-type]
        return JSONResponse({"growthKBByFile": [
            [str(st.traceback[0].filename).split("site-packages/")[-1].split("src/")[-1]
             + (f":{st.traceback[0].lineno}" if key == "lineno" else ""),
             round(st.size_diff / 1024, 1), st.count_diff] for st in stats[:top]],
            "totalKB": round(sum(st.size_diff for st in stats) / 1024, 1)})

    app.add_api_route("/bench/tracemalloc", trace, methods=["GET"])
    app.add_api_route("/bench/release", release, methods=["POST"])
    app.add_api_route("/bench/info", info, methods=["GET"])
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4020)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--state-every", type=int, default=0)
    parser.add_argument("--loop", default="asyncio", choices=["asyncio", "uvloop"])
    parser.add_argument("--http", default="h11", choices=["h11", "httptools"])
    parser.add_argument("--llm-url", default=None,
                        help="serve an openai-provider agent on this (fake) OpenAI base URL")
    parser.add_argument("--langgraph", default=None, metavar="MODULE:ATTR",
                        help="serve this LangGraph graph as the agent 'bench' (the langgraph "
                        "provider), e.g. agent_graph:graph (bench/agent_paths.py)")
    parser.add_argument("--stock-http", action="store_true",
                        help="with --llm-url: the agent's lean_transport = false (httpx's own "
                        "transport, httpcore + h11, instead of copilotkit_runtime.http)")
    parser.add_argument("--no-tune-gc", action="store_true",
                        help="keep CPython's GC defaults ([server] tune_gc = false)")
    parser.add_argument("--gc-threshold", type=int, default=0,
                        help="gc.set_threshold(N, 10, 10) (Python's default N is 700)")
    parser.add_argument("--no-cors", action="store_true", help="server.cors_origins = []")
    parser.add_argument("--coalesce-steps", type=int, default=None,
                        help="engine.COALESCE_STEPS: loop iterations a reader waits for more "
                        "events before taking a batch")
    parser.add_argument("--no-record-events", action="store_true",
                        help="store.record_events = false")
    parser.add_argument("--thread-ttl", type=float, default=0, help="store.thread_ttl_seconds")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="diagnostics: trace allocations (slow); see /bench/tracemalloc")
    parser.add_argument("--tracemalloc-frames", type=int, default=1,
                        help="frames kept per traced allocation (key=traceback shows them)")
    args = parser.parse_args()
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start(args.tracemalloc_frames)
    if args.coalesce_steps is not None:
        from copilotkit_runtime import engine

        engine.COALESCE_STEPS = args.coalesce_steps
    app = build_app(args.tokens, args.state_every, args.loop, args.http, args)
    if not args.no_tune_gc:
        tune_gc()  # what `copilotkit-runtime serve` does by default
    if args.gc_threshold:
        gc.set_threshold(args.gc_threshold, 10, 10)
    print(f"bench py server: http://{args.host}:{args.port}/api/copilotkit (pid {os.getpid()}, "
          f"tokens {args.tokens}, loop {args.loop}, http {args.http})", file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, loop=args.loop, http=args.http,
                log_level="warning", access_log=False, lifespan="on", backlog=4096,
                timeout_keep_alive=65)


if __name__ == "__main__":
    main()
