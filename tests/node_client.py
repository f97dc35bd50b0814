"""Run the real CopilotKit GraphQL client (``tests/node/client.mjs``) against a live server.

``run_client(url, scenario)`` feeds a scenario (see the header of ``client.mjs``) to the Node
script and returns what the client assembled. Tests that use it carry ``requires_node``: they
skip, saying what to run, when Node or ``tests/node/node_modules`` is missing.

Other packages' tests can reuse it::

    sys.path.insert(0, str(REPO / "tests"))
    from node_client import requires_node, run_client
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).parent / "node"
CLIENT = NODE_DIR / "client.mjs"
INSTALL_HINT = "npm ci --prefix tests/node"


def node_missing_reason() -> str | None:
    """Why the Node client cannot run here, or None."""
    if shutil.which("node") is None:
        return "Node.js is not installed (the compatibility tests need Node 20+)"
    if not (NODE_DIR / "node_modules" / "@copilotkit" / "runtime-client-gql").is_dir():
        return f"the Node client is not installed: run `{INSTALL_HINT}`"
    return None


requires_node = pytest.mark.skipif(node_missing_reason() is not None,
                                   reason=node_missing_reason() or "")


class NodeClientError(RuntimeError):
    pass


def run_client(url: str, scenario: dict[str, Any] | list[dict[str, Any]], *,
               headers: dict[str, str] | None = None, timeout: float = 60.0) -> dict[str, Any]:
    """Run ``scenario`` (a dict with ``steps``, or just the list of steps) against ``url``.

    Returns ``{"results": [...]}`` as printed by ``client.mjs``; a single step scenario also
    gets its result as ``result``.
    """
    reason = node_missing_reason()
    if reason is not None:
        raise NodeClientError(reason)
    body: dict[str, Any] = {"steps": scenario} if isinstance(scenario, list) else dict(scenario)
    body.setdefault("url", url)
    if headers:
        body["headers"] = headers
    proc = subprocess.run(["node", str(CLIENT)], input=json.dumps(body), capture_output=True,
                          text=True, timeout=timeout, cwd=NODE_DIR, check=False)
    if proc.returncode != 0:
        raise NodeClientError(f"client.mjs exited with {proc.returncode}:\n{proc.stderr}")
    try:
        out: dict[str, Any] = json.loads(proc.stdout)
    except ValueError as exc:
        raise NodeClientError(f"client.mjs printed no JSON: {proc.stdout[:500]!r}\n{proc.stderr}") from exc
    if len(out.get("results", ())) == 1:
        out["result"] = out["results"][0]
    return out


def generate_step(text: str | None = None, **fields: Any) -> dict[str, Any]:
    """A ``generate`` step with one user message (plus any other step fields)."""
    step: dict[str, Any] = {"op": "generate", **fields}
    if text is not None:
        step.setdefault("messages", []).append({"role": "user", "content": text})
    return step
