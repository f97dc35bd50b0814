"""API keys, RS256/ES256 public keys and JWKS files, and configuration errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from copilotkit_runtime.errors import ConfigError
from copilotkit_runtime.testing import make_runtime, serve_runtime

DEMO = {"demo": {"provider": "demo", "chunk_delay": 0}}


def claims(sub: str = "user-1", **extra: Any) -> dict[str, Any]:
    return {"sub": sub, "exp": int(time.time()) + 86_400, **extra}


def run_body(thread_id: str) -> dict[str, Any]:
    return {"threadId": thread_id, "runId": f"r-{thread_id}", "state": {}, "tools": [],
            "context": [], "forwardedProps": {},
            "messages": [{"id": f"m-{thread_id}", "role": "user", "content": "hello"}]}


def test_api_keys_authenticate_and_each_key_owns_its_threads(tmp_path: Path) -> None:
    runtime = make_runtime({"agents": DEMO, "auth": {"api_key": {"keys": ["key-one", "key-two"]}}},
                           tmp_path=tmp_path, load_entry_points=True)
    with serve_runtime(runtime) as served:
        assert httpx.get(f"{served.url}/info").status_code == 401
        wrong = httpx.get(f"{served.url}/info", headers={"x-api-key": "key-three"})
        assert wrong.status_code == 401 and wrong.json()["message"] == "Invalid API key."
        one, two = {"x-api-key": "key-one"}, {"x-api-key": "key-two"}
        ran = httpx.post(f"{served.url}/agent/demo/run", json=run_body("k1"), headers=one)
        assert ran.status_code == 200
        assert [t["id"] for t in httpx.get(f"{served.url}/threads", headers=one).json()["threads"]] == ["k1"]
        assert httpx.get(f"{served.url}/threads", headers=two).json()["threads"] == []
        assert httpx.get(f"{served.url}/threads/k1/messages", headers=two).status_code == 404
        owner = httpx.get(f"{served.url}/threads/k1", headers=one).json()["createdById"]
        assert owner.startswith("api-key:") and "key-one" not in owner


def test_api_key_in_the_authorization_header(tmp_path: Path) -> None:
    runtime = make_runtime({"agents": DEMO, "auth": {"api_key": {"keys": ["k"], "header": "Authorization"}}},
                           tmp_path=tmp_path, load_entry_points=True)
    with serve_runtime(runtime) as served:
        assert httpx.get(f"{served.url}/info", headers={"authorization": "Bearer k"}).status_code == 200
        assert httpx.get(f"{served.url}/info", headers={"authorization": "k"}).status_code == 401


def _pem(key: Any) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _hs256(body: dict[str, Any], secret: bytes) -> str:
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + _b64(
        json.dumps(body).encode())
    return head + "." + _b64(hmac.new(secret, head.encode(), hashlib.sha256).digest())


def test_rs256_with_a_public_key_file_refuses_hs256_signed_with_that_key(tmp_path: Path) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "jwt.pem").write_text(_pem(private))
    runtime = make_runtime({"agents": DEMO, "auth": {"jwt": {"public_key": "jwt.pem"}}},
                           tmp_path=tmp_path, load_entry_points=True)
    good = jwt.encode(claims(), private, algorithm="RS256")
    with serve_runtime(runtime) as served:
        assert httpx.get(f"{served.url}/info", headers={"authorization": f"Bearer {good}"}).status_code == 200
        # The classic confusion: an HS256 token whose "secret" is the public key text.
        forged = _hs256(claims(), _pem(private).encode())
        assert httpx.get(f"{served.url}/info", headers={"authorization": f"Bearer {forged}"}).status_code == 401
        unsigned = jwt.encode(claims(), None, algorithm="none")
        assert httpx.get(f"{served.url}/info", headers={"authorization": f"Bearer {unsigned}"}).status_code == 401


def test_a_jwks_file_picks_the_key_by_kid(tmp_path: Path) -> None:
    first, second = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    keys = []
    for kid, key in (("one", first), ("two", second)):
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        keys.append({**jwk, "kid": kid, "use": "sig", "alg": "ES256"})
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": keys}))
    runtime = make_runtime({"agents": DEMO, "auth": {"jwt": {"jwks_file": "jwks.json",
                                                             "user_claim": "email"}}},
                           tmp_path=tmp_path, load_entry_points=True)
    with serve_runtime(runtime) as served:
        for kid, key in (("one", first), ("two", second)):
            token = jwt.encode(claims(email=f"{kid}@example.com"), key, algorithm="ES256",
                               headers={"kid": kid})
            ok = httpx.post(f"{served.url}/agent/demo/run", json=run_body(f"jwks-{kid}"),
                            headers={"authorization": f"Bearer {token}"})
            assert ok.status_code == 200
            listed = httpx.get(f"{served.url}/threads", headers={"authorization": f"Bearer {token}"})
            assert [t["createdById"] for t in listed.json()["threads"]] == [f"{kid}@example.com"]
        wrong_kid = jwt.encode(claims(email="x@example.com"), first, algorithm="ES256",
                               headers={"kid": "two"})
        assert httpx.get(f"{served.url}/info", headers={"authorization": f"Bearer {wrong_kid}"}).status_code == 401


@pytest.mark.parametrize("auth, message", [
    ({"jwt": {}}, "exactly one of secret, public_key, jwks_file"),
    ({"jwt": {"secret": "s" * 32, "public_key": "k.pem"}}, "exactly one of"),
    ({"jwt": {"secret": "s" * 32, "algorithms": ["RS256"]}}, "cannot be used with secret"),
    ({"jwt": {"public_key": "missing.pem"}}, "cannot read"),
    ({"jwt": {"secret": "s" * 32, "colour": "red"}}, "auth.jwt.colour: unknown key"),
    ({"api_key": {"keys": []}}, "auth.api_key.keys"),
    ({"api_key": {"keys": [""]}}, "is empty"),
    ({"oauth": {"issuer": "x"}}, "pip install copilotkit-auth"),
])
def test_bad_auth_configuration_stops_start_up_with_the_key(tmp_path: Path, auth: dict[str, Any],
                                                            message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_runtime({"agents": DEMO, "auth": auth}, tmp_path=tmp_path, load_entry_points=True)
    assert message in caught.value.message


def test_an_unset_secret_variable_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "copilotkit.toml").write_text('[auth.jwt]\nsecret = "${JWT_SECRET}"\n')
    from copilotkit_runtime.config import load_settings

    with pytest.raises(ConfigError, match="JWT_SECRET is not set"):
        load_settings(tmp_path / "copilotkit.toml", env={})
