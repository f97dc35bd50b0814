"""Both middleware types pass the core's MiddlewareContract: an allowed request reaches the
agent with a principal, a refused one is a client error on every protocol."""

from __future__ import annotations

import time

import jwt
import pytest
from copilotkit_auth.api_key import ApiKeyAuth, ApiKeyOptions
from copilotkit_auth.jwt_auth import JwtAuth, JwtOptions

from copilotkit_runtime.testing import MiddlewareContract

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


class TestApiKeyContract(MiddlewareContract):
    def allowed_headers(self) -> dict[str, str]:
        return {"x-api-key": "key-one"}

    def refused_headers(self) -> dict[str, str]:
        return {"x-api-key": "key-two"}

    @pytest.fixture
    def middleware(self) -> ApiKeyAuth:
        return ApiKeyAuth(ApiKeyOptions(keys=["key-one"]))


class TestJwtContract(MiddlewareContract):
    def _token(self, secret: str) -> str:
        now = int(time.time())
        return jwt.encode({"sub": "ada", "iat": now, "exp": now + 600}, secret, algorithm="HS256")

    def allowed_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._token(SECRET)}"}

    def refused_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._token(SECRET + '-but-another')}"}

    @pytest.fixture
    def middleware(self) -> JwtAuth:
        return JwtAuth(JwtOptions(secret=SECRET))
