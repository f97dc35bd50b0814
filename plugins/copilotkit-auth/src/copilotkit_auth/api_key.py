"""``[auth.api_key]``: requests must carry one of the configured keys.

An API key names a client (a backend, a service), not a person: its principal's id is
``api-key:`` and a digest of the key, so each key has its own threads, and the key itself
is never stored or logged.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from copilotkit_runtime.errors import UnauthorizedError
from copilotkit_runtime.middleware import Principal, RequestContext, RequestMiddleware


class ApiKeyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[str] = Field(min_length=1, description="accepted keys (use ${ENV} references)")
    header: str = Field("x-api-key", description="the header that carries the key; "
                        "'authorization' reads 'Bearer <key>'")

    @field_validator("keys")
    @classmethod
    def _keys(cls, keys: list[str]) -> list[str]:
        if any(not key.strip() for key in keys):
            raise ValueError("an API key is empty (is its environment variable set?)")
        return keys

    @field_validator("header")
    @classmethod
    def _header(cls, header: str) -> str:
        if not header.strip():
            raise ValueError("must name a header")
        return header.strip().lower()


def key_id(key: str) -> str:
    """The principal id of ``key``: stable, and not the key."""
    return "api-key:" + hashlib.sha256(key.encode()).hexdigest()[:16]


class ApiKeyAuth(RequestMiddleware):
    auth_section = "api_key"
    authenticates_users = True

    def __init__(self, options: ApiKeyOptions) -> None:
        self.options = options
        self._keys = [(key.encode(), key_id(key)) for key in options.keys]

    @classmethod
    def from_settings(cls, settings: Any) -> ApiKeyAuth | None:
        section = settings.auth.get(cls.auth_section)
        return None if section is None else cls(ApiKeyOptions.model_validate(section))

    async def authenticate(self, context: RequestContext) -> Principal:
        header = self.options.header
        value = context.headers.get(header)
        if value is not None and header == "authorization":
            scheme, _, rest = value.partition(" ")
            value = rest.strip() if scheme.lower() == "bearer" else None
        if not value:
            raise UnauthorizedError(f"Missing API key: send it in the {header} header"
                                    + (" as 'Bearer <key>'." if header == "authorization" else "."))
        given = value.strip().encode()
        match = None
        for key, ident in self._keys:
            # Compare with every key, in constant time, whatever matches first.
            if hmac.compare_digest(given, key):
                match = ident
        if match is None:
            raise UnauthorizedError("Invalid API key.")
        return Principal(id=match, kind="api_key")
