"""Entry point ``auth``: registers the middleware types ``api_key`` and ``jwt``.

Each turns itself on when its section is configured::

    [auth.api_key]
    keys = ["${COPILOTKIT_API_KEY}"]

    [auth.jwt]
    secret = "${JWT_SECRET}"
"""

from __future__ import annotations

from typing import Any

from copilotkit_runtime import hookimpl

from .api_key import ApiKeyAuth
from .jwt_auth import JwtAuth


@hookimpl
def register_middleware(registry: Any) -> None:
    # API keys first: with both configured, the JWT's user is the principal (the owner).
    registry.add("api_key", ApiKeyAuth)
    registry.add("jwt", JwtAuth)
