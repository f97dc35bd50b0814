"""The HTTP server over real HTTP: health, limits, bad input, middleware, stop route."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from copilotkit_runtime.testing import make_runtime, serve_runtime


@pytest.fixture(scope="module")
def served() -> Any:
    runtime = make_runtime({"limits": {"max_body_bytes": 10_000},
                            "server": {"cors_origins": ["http://app.test"]}},
                           load_entry_points=["testplugin"])  # its middleware refuses below
    with serve_runtime(runtime) as served:
        yield served


def test_health_reports_liveness_and_store_readiness(served: Any) -> None:
    response = httpx.get(f"{served.origin}/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["store"]["type"] == "memory" and body["store"]["ready"]
    assert response.headers["x-copilotkit-runtime-version"] == "1.10.6"


def test_an_oversized_body_is_refused_with_413(served: Any) -> None:
    response = httpx.post(served.url, content=b'{"query": "' + b"x" * 20_000 + b'"}',
                          headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "larger than the limit of 10000 bytes" in response.json()["errors"][0]["message"]


def test_malformed_json_is_a_clear_400(served: Any) -> None:
    response = httpx.post(served.url, content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["errors"][0]["message"]


def test_a_body_that_is_neither_protocol_is_a_clear_400(served: Any) -> None:
    response = httpx.post(served.url, json={"hello": 1})
    assert response.status_code == 400
    assert "neither 'query' (GraphQL) nor 'method'" in response.json()["errors"][0]["message"]


def test_request_middleware_from_a_plugin_can_refuse(served: Any) -> None:
    response = httpx.post(served.url, json={"query": "{ hello }"}, headers={"x-test-plugin-deny": "1"})
    assert response.status_code == 403
    assert response.json()["errors"][0]["message"] == "denied by the test plugin"


def test_cors_allows_the_configured_origin_only(served: Any) -> None:
    ok = httpx.options(served.url, headers={"origin": "http://app.test",
                                            "access-control-request-method": "POST"})
    assert ok.headers["access-control-allow-origin"] == "http://app.test"
    other = httpx.options(served.url, headers={"origin": "http://evil.test",
                                               "access-control-request-method": "POST"})
    assert "access-control-allow-origin" not in other.headers


def test_stop_route_reports_an_idle_thread_and_an_unknown_agent(served: Any) -> None:
    idle = httpx.post(f"{served.url}/agent/demo/stop/no-thread")
    assert idle.status_code == 200
    assert idle.json() == {"stopped": False, "message": "No active run for thread 'no-thread'."}
    unknown = httpx.post(f"{served.url}/agent/ghost/stop/t")
    assert unknown.status_code == 404 and unknown.json()["error"] == "Agent not found"


def test_get_on_the_base_path_describes_the_runtime(served: Any) -> None:
    body = httpx.get(served.url).json()
    assert body["name"] == "copilotkit-runtime" and "graphql" in body["protocols"]
    assert body["agents"] == ["demo"]


def test_health_is_503_when_the_store_is_not_ready() -> None:
    runtime = make_runtime({"store": {"type": "sqlite", "sqlite": {"path": "/proc/forbidden/x.db"}}})
    import asyncio

    from copilotkit_runtime.errors import StoreError
    from copilotkit_runtime.server import health

    with pytest.raises(StoreError, match="Cannot open the SQLite store"):
        asyncio.run(runtime.startup())
    response = asyncio.run(health(runtime))
    assert response.status_code == 503
