"""Request middleware: authentication and before/after hooks around each protocol request.

Register instances with the ``register_middleware`` hook. They run, in registration order, for
every request to the protocol endpoints (not ``/health``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

if TYPE_CHECKING:
    from .config import Settings


@dataclass(frozen=True)
class Principal:
    """Who made a request, as the built-in auth middleware says it.

    ``id`` is the owner of the threads the principal starts (:mod:`copilotkit_runtime.threads`);
    ``kind`` says how it was authenticated (``"jwt"``, ``"api_key"``, ...); ``claims`` are the
    token's claims (empty for an API key). Custom middleware may return any object with an
    ``id`` (or a string).
    """

    id: str
    kind: str = "custom"
    claims: Mapping[str, Any] = field(default_factory=dict)


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
    refuse a request (it is answered with 401 or the status you give).

    Register an instance, or a class with a ``from_settings(settings)`` class method that
    returns an instance, or ``None`` when the settings do not turn it on. A class that sets
    :attr:`auth_section` claims ``[auth.<that name>]``: a configured ``[auth.X]`` section no
    installed middleware claims stops the runtime at start-up.
    """

    #: the ``[auth.NAME]`` section this middleware type is configured by
    auth_section: str | None = None
    #: whether :meth:`authenticate` says who the user is (a principal for every request it
    #: lets through): the start-up line then says the server is authenticated
    authenticates_users: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestMiddleware | None:
        return cls()

    async def authenticate(self, context: RequestContext) -> Any:
        """Return a principal (any object) or ``None``; it is set on ``context.principal`` and
        reaches providers as ``RunRequest.principal``."""
        return None

    async def before_request(self, context: RequestContext) -> None:
        """Called after authentication, before the protocol handles the request."""

    async def after_request(self, context: RequestContext, status_code: int) -> None:
        """Called when the response has been produced (streams: when they start)."""
