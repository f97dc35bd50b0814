"""The Python agent server of the other sides of ``bench/agent_paths.py``: the graph of
``bench/agent_graph.py`` served the way CopilotKit's docs deploy a self-hosted LangGraph agent,
in its own environment (``bench/agent_sdk/.venv``, pinned by ``requirements.txt``).

* ``--agent copilotkit``: the ``copilotkit`` SDK's ``LangGraphAGUIAgent`` on
  ``add_langgraph_fastapi_endpoint`` (what the TypeScript runtime 1.10.6's ``LangGraphHttpAgent``
  calls in CopilotKit's 1.10 docs). The SDK's older ``add_fastapi_endpoint`` +
  ``CopilotKitRemoteEndpoint`` cannot run a LangGraph agent any more: its ``LangGraphAgent`` is
  gone from the SDK and ``LangGraphAGUIAgent`` has no ``execute`` for that protocol.
* ``--agent ag-ui``: ``ag_ui_langgraph.LangGraphAgent`` on the same endpoint (what the
  TypeScript runtime 1.75's ``HttpAgent`` calls).

uvicorn, one process, uvloop + httptools (both come with ``uvicorn[standard]``), no access log:
served the same way as our side.

    bench/agent_sdk/.venv/bin/python bench/agent_sdk/server.py PORT --agent copilotkit|ag-ui
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvicorn
from ag_ui_langgraph import add_langgraph_fastapi_endpoint
from agent_graph import graph
from fastapi import FastAPI


def build(kind: str) -> FastAPI:
    if kind == "copilotkit":
        from copilotkit import LangGraphAGUIAgent as Agent
    else:
        from ag_ui_langgraph import LangGraphAgent as Agent
    app = FastAPI()
    add_langgraph_fastapi_endpoint(app, Agent(name="bench", description="bench chat graph",
                                              graph=graph), "/agent")

    @app.get("/bench/info")
    def info() -> dict[str, object]:
        return {"runtime": f"python agent server ({kind})", "pid": os.getpid()}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--agent", choices=["copilotkit", "ag-ui"], required=True)
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.WARNING)
    uvicorn.run(build(args.agent), host="127.0.0.1", port=args.port, loop="uvloop",
                http="httptools", log_level="warning", access_log=False, backlog=4096,
                timeout_keep_alive=65)


if __name__ == "__main__":
    main()
