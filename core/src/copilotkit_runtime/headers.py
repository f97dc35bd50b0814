"""Which request headers reach providers (``RunRequest.headers``), and which POSTs a browser
could send from another site without asking first (CSRF).

Forwarding: ``[server] forward_headers`` is an allowlist (``"x-*"`` matches a prefix). Proxy,
hop-by-hop and tracing headers and ``cookie`` are never forwarded through a pattern, only
when named exactly. ``[server] provider_headers`` are set on every request and win over
incoming headers of the same name (case-insensitive).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["SIMPLE_CONTENT_TYPES", "forwarded_headers", "is_simple_cross_site_post"]

#: forwarded only when named exactly in ``forward_headers``
_DENIED_EXACT = frozenset({
    "cookie", "host", "connection", "keep-alive", "proxy-authorization", "proxy-authenticate",
    "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "content-length",
    "forwarded", "via", "x-real-ip", "x-request-id", "x-client-ip", "true-client-ip",
    "cf-connecting-ip",
})
_DENIED_PREFIXES = ("x-forwarded-", "x-amz-", "x-azure-", "x-fastly-", "x-vercel-",
                    "x-middleware-", "x-copilotcloud-", "x-envoy-", "x-b3-", "cf-", "sec-")


def _denied(name: str) -> bool:
    return name in _DENIED_EXACT or name.startswith(_DENIED_PREFIXES)


def forwarded_headers(incoming: Iterable[tuple[str, str]], allow: Iterable[str],
                      fixed: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers a provider gets: ``incoming`` ones that ``allow`` lets through (lower-case
    names), then ``fixed`` ones over them."""
    exact = {a.lower() for a in allow if not a.endswith("*")}
    prefixes = tuple(a.lower()[:-1] for a in allow if a.endswith("*"))
    out: dict[str, str] = {}
    for name, value in incoming:
        name = name.lower()
        if name in exact or (name.startswith(prefixes) and prefixes and not _denied(name)):
            out[name] = value
    for name, value in (fixed or {}).items():
        out[name.lower()] = value
    return out


#: content types a page on another site can POST without a CORS preflight
SIMPLE_CONTENT_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded",
                                  "multipart/form-data"})


def is_simple_cross_site_post(headers: Mapping[str, str]) -> bool:
    """Whether a request could have come from a form or a ``no-cors`` fetch on any site: a
    "simple" content type (or none) and no header a browser sends cross-origin only after a
    preflight (``authorization``, any ``x-*``: the real clients always send one, or JSON)."""
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type and content_type not in SIMPLE_CONTENT_TYPES:
        return False
    return not any(name.lower() == "authorization" or name.lower().startswith("x-")
                   for name in headers)
