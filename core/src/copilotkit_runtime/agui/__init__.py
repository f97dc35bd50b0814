"""AG-UI "v2" protocol: the REST + SSE contract of ``@copilotkit/runtime`` >= 1.50.

Both mounting modes are served at the same base URL, so every client generation works whatever
its transport setting (``rest``, ``single`` or ``auto``):

* multi-route: ``GET {base}/info``, ``POST {base}/agent/{id}/run``, ``.../connect``,
  ``.../stop/{threadId}``;
* single-route: ``POST {base}`` with ``{"method": "info" | "agent/run" | "agent/connect" |
  "agent/stop", "params": {...}, "body": {...}}``.

Runs started here are *detached*: a client that goes away does not cancel its run (it finishes
and is stored, and ``/connect`` replays it, following it live while it still runs), which is
what AG-UI clients expect when a page reloads. ``/stop`` ends a run early.
"""

from __future__ import annotations

from .endpoints import AguiCall, info
from .service import ROUTES, AguiService, Route

__all__ = ["ROUTES", "AguiCall", "AguiService", "Route", "info"]
