"""Who the run is for, as headers a remote service can read.

Three sources, later ones winning:

1. headers the runtime forwards from the client's request (the runtime's forwarding policy
   decides which reach providers; ``forward_headers`` picks among them);
2. ``properties["authorization"]`` (``<CopilotKit properties={{authorization}}>``) as
   ``Authorization: Bearer ...``, as the TypeScript runtime does for remote endpoints;
3. the agent's own ``headers`` from the config (``"${TOKEN}"`` comes from the environment),
   which always win over anything a client sent;

plus, with ``principal_header``, the authenticated principal's id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from copilotkit_runtime import RunRequest

#: Never passed on, whatever a configuration lists: they describe one hop, not the run.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length", "content-type", "accept",
    "accept-encoding",
})


def incoming_headers(request: RunRequest) -> Mapping[str, str]:
    """The client's headers the runtime lets providers see (empty when it forwards none)."""
    for source in (getattr(request, "forwarded_headers", None),
                   getattr(request, "headers", None),
                   request.metadata.get("forwarded_headers"),
                   request.metadata.get("headers")):
        if isinstance(source, Mapping) and source:
            return source
    return {}


def principal_id(principal: Any) -> str | None:
    """A printable id for ``principal``: a string, or its ``id``/``sub``/``subject``."""
    if principal is None:
        return None
    if isinstance(principal, str):
        return principal
    for key in ("id", "sub", "subject", "user_id"):
        value = principal.get(key) if isinstance(principal, Mapping) else getattr(principal, key, None)
        if value is not None:
            return str(value)
    return None


def remote_headers(request: RunRequest, *, static: Mapping[str, str], forward: Iterable[str],
                   principal_header: str | None, bearer_from_properties: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    wanted = {name.lower() for name in forward}
    if wanted:
        for name, value in incoming_headers(request).items():
            lower = name.lower()
            if lower in wanted and lower not in HOP_BY_HOP:
                out[lower] = value
    if bearer_from_properties:
        token = request.properties.get("authorization")
        if isinstance(token, str) and token:
            out["authorization"] = token if " " in token else f"Bearer {token}"
    if principal_header:
        pid = principal_id(request.principal)
        if pid is not None:
            out[principal_header.lower()] = pid
    for name, value in static.items():
        out[name.lower()] = value
    return out
