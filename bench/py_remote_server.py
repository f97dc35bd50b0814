"""Our side of ``bench_remote.py``: this runtime with one ``agui`` agent, ``remote``, pointing
at the benchmark's remote AG-UI server, served as in production (uvicorn, one process, uvloop
and httptools, the default memory store). Only the built-in plugins and the AG-UI provider are
loaded.

    python bench/py_remote_server.py PORT REMOTE_URL
"""

from __future__ import annotations

import sys

import uvicorn

from copilotkit_provider_agui import plugin as agui_plugin
from copilotkit_runtime.cli import tune_gc
from copilotkit_runtime.config import load_settings
from copilotkit_runtime.runtime import Runtime
from copilotkit_runtime.server import create_app


def main() -> None:
    port, remote = int(sys.argv[1]), sys.argv[2]
    settings = load_settings(None, env={}, overrides={
        "log_level": "warning",
        "agents": {"remote": {"provider": "agui", "url": remote, "description": "remote agent"}},
    })
    runtime = Runtime(settings, plugins={"agui": agui_plugin}, load_entry_points=False, environ={})
    app = create_app(runtime)
    tune_gc()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", loop="uvloop",
                http="httptools", access_log=False)


if __name__ == "__main__":
    main()
