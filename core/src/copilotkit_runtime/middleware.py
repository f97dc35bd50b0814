"""Request middleware: authentication and before/after hooks around each protocol request.

Register instances with the ``register_middleware`` hook. They run, in registration order, for
every request to the protocol endpoints (not ``/health``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request


@dataclass
class RequestContext:
    """What middleware sees of a request, and where it leaves what it learned."""

    request: Request
    protocol: str
    principal: Any = None
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> Any:
        return self.request.headers


class RequestMiddleware:
    """Override what you need. Raise :class:`~copilotkit_runtime.errors.UnauthorizedError` to
    refuse a request (it is answered with 401 or the status you give)."""

    async def authenticate(self, context: RequestContext) -> Any:
        """Return a principal (any object) or ``None``; it is set on ``context.principal`` and
        reaches providers as ``RunRequest.principal``."""
        return None

    async def before_request(self, context: RequestContext) -> None:
        """Called after authentication, before the protocol handles the request."""

    async def after_request(self, context: RequestContext, status_code: int) -> None:
        """Called when the response has been produced (streams: when they start)."""
