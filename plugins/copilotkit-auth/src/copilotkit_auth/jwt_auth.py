"""``[auth.jwt]``: requests must carry a valid JWT bearer token (``Authorization: Bearer``).

One of ``secret`` (HS256), ``public_key`` (RS256/ES256: PEM text or a file) or ``jwks_file``
(a JSON Web Key Set file, keys picked by ``kid``). ``exp`` is required and checked; ``iss`` and
``aud`` when configured. ``user_claim`` (default ``sub``) names the claim that is the user id:
the owner of the threads the user starts.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jwt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from copilotkit_runtime.errors import ConfigError, UnauthorizedError
from copilotkit_runtime.middleware import Principal, RequestContext, RequestMiddleware

log = logging.getLogger("copilotkit_auth")

_SYMMETRIC = {"HS256", "HS384", "HS512"}
_ASYMMETRIC = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
               "EdDSA"}


class JwtOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: str | None = Field(None, description="HMAC secret (HS256); use ${JWT_SECRET}")
    public_key: str | None = Field(None, description="PEM public key, or the path of a PEM file")
    jwks_file: str | None = Field(None, description="path of a JWKS (JSON Web Key Set) file")
    algorithms: list[str] | None = Field(
        None, description="accepted algorithms (default: HS256 with a secret, RS256 and ES256 "
        "with a public key or JWKS)")
    iss: str | None = Field(None, description="required issuer")
    aud: str | list[str] | None = Field(None, description="required audience (one of)")
    user_claim: str = Field("sub", min_length=1, description="the claim that is the user id")
    leeway_seconds: float = Field(30.0, ge=0, description="clock skew allowed on exp/nbf/iat")
    header: str = Field("authorization", description="the header with 'Bearer <token>'")

    @model_validator(mode="after")
    def _one_key(self) -> JwtOptions:
        given = [k for k in ("secret", "public_key", "jwks_file") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("set exactly one of secret, public_key, jwks_file"
                             + (f" (got {', '.join(given)})" if given else ""))
        allowed = _SYMMETRIC if self.secret else _ASYMMETRIC
        for algorithm in self.algorithms or []:
            if algorithm not in allowed:
                raise ValueError(f"algorithm '{algorithm}' cannot be used with "
                                 f"{given[0]} (use one of {', '.join(sorted(allowed))})")
        return self


class JwtAuth(RequestMiddleware):
    auth_section = "jwt"
    authenticates_users = True

    def __init__(self, options: JwtOptions, config_dir: Path | None = None) -> None:
        self.options = options
        base = config_dir or Path.cwd()
        self.algorithms = options.algorithms or (["HS256"] if options.secret else ["RS256", "ES256"])
        self._key: Any = None
        self._jwks: dict[str | None, Any] = {}
        if options.secret:
            self._key = options.secret
            if len(options.secret.encode()) < 32:
                log.warning("[auth.jwt] secret is shorter than 32 bytes: easy to guess offline "
                            "from one token")
        elif options.public_key:
            text = options.public_key
            if "-----BEGIN" not in text:
                text = self._read(base, text, "public_key")
            try:
                self._key = _load_pem(text)
            except ValueError as exc:
                raise ConfigError(f"auth.jwt.public_key: not a PEM public key: {exc}") from exc
        else:
            assert options.jwks_file is not None
            raw = self._read(base, options.jwks_file, "jwks_file")
            try:
                keys = jwt.PyJWKSet.from_json(raw).keys
            except (jwt.PyJWKError, jwt.PyJWKSetError, ValueError) as exc:
                raise ConfigError(f"auth.jwt.jwks_file: not a usable JWKS: {exc}") from exc
            self._jwks = {key.key_id: key.key for key in keys}

    @staticmethod
    def _read(base: Path, value: str, key: str) -> str:
        path = Path(value).expanduser()
        path = path if path.is_absolute() else base / path
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"auth.jwt.{key}: cannot read {path}: {exc}") from exc

    @classmethod
    def from_settings(cls, settings: Any) -> JwtAuth | None:
        section = settings.auth.get(cls.auth_section)
        if section is None:
            return None
        return cls(JwtOptions.model_validate(section), settings.config_dir)

    def _key_for(self, token: str) -> Any:
        if self._key is not None:
            return self._key
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.DecodeError as exc:
            raise UnauthorizedError(f"Invalid token: {exc}") from None
        if kid in self._jwks:
            return self._jwks[kid]
        if kid is None and len(self._jwks) == 1:
            return next(iter(self._jwks.values()))
        raise UnauthorizedError("Invalid token: no key of the JWKS matches its 'kid'.")

    async def authenticate(self, context: RequestContext) -> Principal:
        options = self.options
        value = context.headers.get(options.header)
        scheme, _, token = (value or "").partition(" ")
        token = token.strip()
        if not value or scheme.lower() != "bearer" or not token:
            raise UnauthorizedError(f"Missing bearer token: send '{options.header}: Bearer "
                                    "<JWT>'.")
        required = ["exp"] + (["iss"] if options.iss else []) + (["aud"] if options.aud else [])
        try:
            claims = jwt.decode(token, self._key_for(token), algorithms=self.algorithms,
                                audience=options.aud, issuer=options.iss,
                                leeway=options.leeway_seconds,
                                options={"require": required, "verify_aud": bool(options.aud)})
        except jwt.PyJWTError as exc:
            raise UnauthorizedError(f"Invalid token: {exc}") from None
        user = claims.get(options.user_claim)
        if isinstance(user, (int, float)) and not isinstance(user, bool):
            user = str(user)
        if not isinstance(user, str) or not user.strip():
            raise UnauthorizedError(f"Invalid token: claim '{options.user_claim}' (the user id) "
                                    "is missing or empty.")
        return Principal(id=user, kind="jwt", claims=claims)


def _load_pem(text: str) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    return load_pem_public_key(text.encode())
