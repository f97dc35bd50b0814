"""Secure defaults over real HTTP: CORS, CSRF-style simple requests, introspection, the
headers providers see, and threads without authentication (one anonymous owner)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from copilotkit_runtime.headers import forwarded_headers
from copilotkit_runtime.testing import (
    ScriptedProvider,
    make_runtime,
    scripted_plugin,
    serve_runtime,
)


def seen_headers(served: Any) -> dict[str, str]:
    """The headers the last run of the ``echo`` agent was given."""
    echo = served.runtime.providers["echo"]
    assert isinstance(echo, ScriptedProvider) and echo.requests
    return dict(echo.requests[-1].headers)


def run_body(thread_id: str | None = None, text: str = "hi") -> dict[str, Any]:
    return {"threadId": thread_id or f"t-{uuid.uuid4().hex}", "runId": str(uuid.uuid4()),
            "state": {}, "tools": [], "context": [], "forwardedProps": {},
            "messages": [{"id": str(uuid.uuid4()), "role": "user", "content": text}]}


@pytest.fixture(scope="module")
def served() -> Any:
    """Default settings (no CORS configuration, no auth), plus a provider that records the
    headers it is given."""
    runtime = make_runtime({
        "agents": {"demo": {"provider": "demo", "chunk_delay": 0},
                   "echo": {"provider": "scripted"}},
        "default_agent": "demo",
        "server": {"provider_headers": {"X-Tenant": "from-config"}},
    }, plugins={"scripted": scripted_plugin})
    with serve_runtime(runtime) as served:
        yield served


def preflight(url: str, origin: str, method: str = "POST",
              headers: str = "content-type, authorization") -> httpx.Response:
    return httpx.options(url, headers={"origin": origin, "access-control-request-method": method,
                                       "access-control-request-headers": headers})


# -- CORS --------------------------------------------------------------------------------------

@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:5173",
                                    "http://localhost"])
def test_loopback_development_origins_are_allowed_with_credentials(served: Any, origin: str) -> None:
    response = preflight(served.url, origin)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    actual = httpx.get(f"{served.url}/info", headers={"origin": origin, "cookie": "session=1"})
    assert actual.headers["access-control-allow-origin"] == origin
    assert "origin" in actual.headers["vary"].lower()


@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost.evil.example",
                                    "https://localhost:3000", "null"])
def test_other_origins_get_no_cors_by_default(served: Any, origin: str) -> None:
    response = preflight(served.url, origin)
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    # (Starlette still says allow-credentials; without allow-origin a browser reads nothing.)
    actual = httpx.get(f"{served.url}/info", headers={"origin": origin, "cookie": "session=1"})
    assert "access-control-allow-origin" not in actual.headers


def test_the_thread_methods_are_allowed_by_preflight(served: Any) -> None:
    for method in ("PATCH", "DELETE"):
        response = preflight(f"{served.url}/threads/x", "http://localhost:3000", method)
        assert response.status_code == 200 and method in response.headers["access-control-allow-methods"]


def test_a_listed_origin_gets_credentials_and_an_unlisted_one_nothing() -> None:
    runtime = make_runtime({"server": {"cors_origins": ["https://app.example.com",
                                                       "https://*.preview.example.com"]}})
    with serve_runtime(runtime) as served:
        for origin in ("https://app.example.com", "https://pr-12.preview.example.com"):
            ok = preflight(served.url, origin)
            assert ok.headers["access-control-allow-origin"] == origin
            assert ok.headers["access-control-allow-credentials"] == "true"
        for origin in ("http://localhost:3000", "https://app.example.com.evil.test",
                       "https://evil.test/.preview.example.com"):
            assert "access-control-allow-origin" not in preflight(served.url, origin).headers


def test_star_means_any_origin_never_with_credentials() -> None:
    runtime = make_runtime({"server": {"cors_origins": ["*"], "cors_allow_credentials": True}})
    with serve_runtime(runtime) as served:
        response = preflight(served.url, "https://anywhere.example")
        assert response.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in response.headers
        actual = httpx.get(f"{served.url}/info", headers={"origin": "https://anywhere.example",
                                                          "cookie": "session=1"})
        assert actual.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in actual.headers


# -- CSRF-style simple requests ------------------------------------------------------------------

SIMPLE = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]


@pytest.mark.parametrize("content_type", SIMPLE)
def test_simple_graphql_and_single_route_posts_are_refused(served: Any, content_type: str) -> None:
    graphql = httpx.post(served.url, content=b'{"query": "{ hello }"}',
                         headers={"content-type": content_type})
    assert graphql.status_code == 415
    assert graphql.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    single = httpx.post(served.url, content=b'{"method": "info"}',
                        headers={"content-type": content_type})
    assert single.status_code == 415 and single.json()["error"] == "invalid_request"
    run = httpx.post(f"{served.url}/agent/demo/run", content=httpx.Request(
        "POST", "/", json=run_body()).content, headers={"content-type": content_type})
    assert run.status_code == 415
    clear = httpx.post(f"{served.url}/threads/clear", headers={"content-type": content_type})
    assert clear.status_code == 415


def test_a_post_without_content_type_is_a_simple_request_too(served: Any) -> None:
    request = httpx.Request("POST", served.url, content=b'{"query": "{ hello }"}')
    assert "content-type" not in request.headers
    with httpx.Client() as client:
        assert client.send(request).status_code == 415


def test_requests_the_real_clients_make_pass(served: Any) -> None:
    gql = httpx.post(served.url, content=b'{"query": "{ hello }"}',
                     headers={"content-type": "text/plain",
                              "x-copilotkit-runtime-client-gql-version": "1.10.6"})
    assert gql.status_code == 200 and gql.json()["data"]["hello"] == "Hello World"
    assert httpx.post(served.url, json={"query": "{ hello }"}).status_code == 200
    assert httpx.post(served.url, json={"method": "info"}).status_code == 200
    # A stop without a body (what a client sends) is not refused.
    assert httpx.post(f"{served.url}/agent/demo/stop/t-none").status_code == 200


# -- introspection -------------------------------------------------------------------------------

INTROSPECT = {"query": "{ __schema { queryType { name } } }"}


def test_introspection_is_on_in_development(served: Any) -> None:
    body = httpx.post(served.url, json=INTROSPECT).json()
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


@pytest.mark.parametrize("server", [{"introspection": False}, {"host": "0.0.0.0"}])
def test_introspection_is_off_when_configured_or_deployed(server: dict[str, Any]) -> None:
    runtime = make_runtime({"server": server})
    with serve_runtime(runtime) as served:
        body = httpx.post(served.url, json=INTROSPECT).json()
        assert body.get("data") is None and "introspection" in body["errors"][0]["message"].lower()
        assert httpx.post(served.url, json={"query": "{ hello }"}).json()["data"]["hello"]


# -- headers providers see -----------------------------------------------------------------------

def test_providers_see_allowed_headers_and_the_configured_ones_win(served: Any) -> None:
    response = httpx.post(f"{served.url}/agent/echo/run", json=run_body(), headers={
        "authorization": "Bearer abc", "x-user-locale": "fr", "x-forwarded-for": "10.0.0.1",
        "x-real-ip": "10.0.0.2", "cookie": "session=secret", "x-tenant": "from-client"})
    assert response.status_code == 200
    seen = seen_headers(served)
    assert seen["authorization"] == "Bearer abc" and seen["x-user-locale"] == "fr"
    assert seen["x-tenant"] == "from-config"
    for absent in ("x-forwarded-for", "x-real-ip", "cookie", "host", "content-length"):
        assert absent not in seen


def test_graphql_runs_get_the_same_headers(served: Any) -> None:
    runs = len(served.runtime.providers["echo"].requests)
    mutation = ("mutation($data: GenerateCopilotResponseInput!) { generateCopilotResponse(data: $data) "
                "{ threadId messages { __typename } } }")
    data = {"threadId": f"t-{uuid.uuid4().hex}", "frontend": {"actions": []},
            "metadata": {"requestType": "Chat"},
            "agentSession": {"agentName": "echo"},
            "messages": [{"id": "m1", "createdAt": "2024-01-01T00:00:00Z",
                          "textMessage": {"content": "hi", "role": "user"}}]}
    response = httpx.post(served.url, json={"query": mutation, "variables": {"data": data}},
                          headers={"x-user-locale": "de", "cookie": "a=b"})
    assert response.status_code == 200, response.text
    assert len(served.runtime.providers["echo"].requests) == runs + 1
    seen = seen_headers(served)
    assert seen["x-user-locale"] == "de"
    assert "cookie" not in seen and seen["x-tenant"] == "from-config"


def test_a_header_named_exactly_is_forwarded_even_if_denied_by_default() -> None:
    incoming = [("Cookie", "s=1"), ("X-Forwarded-For", "1.2.3.4"), ("X-App", "a"), ("Accept", "*/*")]
    assert forwarded_headers(incoming, ["x-*"]) == {"x-app": "a"}
    assert forwarded_headers(incoming, ["cookie", "x-forwarded-for"]) == {
        "cookie": "s=1", "x-forwarded-for": "1.2.3.4"}
    assert forwarded_headers(incoming, []) == {}


# -- without authentication ----------------------------------------------------------------------

def test_without_auth_everything_works_for_one_anonymous_owner(served: Any) -> None:
    assert served.runtime.authenticates is False
    thread = f"t-{uuid.uuid4().hex}"
    assert httpx.post(f"{served.url}/agent/demo/run", json=run_body(thread, "anonymous")).status_code == 200
    listed = httpx.get(f"{served.url}/threads", params={"agentId": "demo", "limit": 100}).json()
    mine = [t for t in listed["threads"] if t["id"] == thread]
    assert mine and mine[0]["name"] == "anonymous" and mine[0]["createdById"] == ""
    info = httpx.get(f"{served.url}/info").json()
    assert info["threadEndpoints"]["list"] is True
