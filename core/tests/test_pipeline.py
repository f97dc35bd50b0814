"""One request pipeline (issue 11): authenticate → before_request → handler → after_request runs
for every protocol route alike, and a refusal has the shape of the protocol that was asked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from copilotkit_runtime import RequestContext, RequestMiddleware, hookimpl
from copilotkit_runtime.errors import UnauthorizedError
from copilotkit_runtime.testing import RuntimeClient, make_runtime, scripted_plugin

pytestmark = pytest.mark.anyio


class Recorder(RequestMiddleware):
    """Records each phase; refuses requests carrying ``x-refuse``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, Any]] = []

    def _key(self, context: RequestContext) -> tuple[str, str]:
        return context.request.method, context.request.url.path

    async def authenticate(self, context: RequestContext) -> Any:
        self.calls.append((*self._key(context), "authenticate", context.protocol))
        if "x-refuse" in context.headers:
            raise UnauthorizedError("no entry")
        return None

    async def before_request(self, context: RequestContext) -> None:
        self.calls.append((*self._key(context), "before", context.protocol))

    async def after_request(self, context: RequestContext, status_code: int) -> None:
        self.calls.append((*self._key(context), "after", status_code))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[RuntimeClient]:
    recorder = Recorder()
    plugin = SimpleNamespace(register_middleware=hookimpl(lambda registry: registry.add("rec", recorder)))
    runtime = make_runtime({"agents": {"agent": {"provider": "scripted"}}},
                           plugins={"scripted": scripted_plugin, "rec": plugin}, tmp_path=tmp_path)
    async with RuntimeClient(runtime) as client:
        client.recorder = recorder  # type: ignore[attr-defined]
        yield client


def requests(client: RuntimeClient) -> list[tuple[str, str, dict[str, Any]]]:
    base = client.base_path
    return [
        ("GET", base, {"params": {"query": "{ hello }"}}),                       # GraphQL by GET
        ("POST", base, {"json": {"query": "{ hello }"}}),                        # GraphQL
        ("GET", f"{base}/info", {}),                                             # AG-UI info
        ("POST", f"{base}/agent/agent/run", {"json": client.run_body("hi")}),    # AG-UI run
        ("POST", f"{base}/agent/agent/stop/t-1", {"json": {}}),                  # AG-UI stop
        ("POST", base, {"json": {"method": "info"}}),                            # single route
    ]


async def test_every_route_meets_every_phase_in_order(client: RuntimeClient) -> None:
    recorder: Recorder = client.recorder  # type: ignore[attr-defined]
    for method, path, kwargs in requests(client):
        recorder.calls.clear()
        response = await client.http.request(method, path, **kwargs)
        assert response.status_code == 200, (path, response.text)
        phases = [(c[2], c[3]) for c in recorder.calls]
        assert [p for p, _ in phases] == ["authenticate", "before", "after"], (method, path, phases)
        assert phases[2][1] == 200
        protocol = phases[0][1]
        graphql = "query" in (kwargs.get("json") or kwargs.get("params") or {})
        assert (protocol == "graphql") is graphql, (method, path, protocol)


async def test_a_refusal_speaks_the_protocol_asked_and_after_request_sees_it(
        client: RuntimeClient) -> None:
    recorder: Recorder = client.recorder  # type: ignore[attr-defined]
    for method, path, kwargs in requests(client):
        recorder.calls.clear()
        response = await client.http.request(method, path, headers={"x-refuse": "1"}, **kwargs)
        assert response.status_code == 401, (method, path, response.status_code)
        body = response.json()
        if "query" in (kwargs.get("json") or kwargs.get("params") or {}):
            assert body["errors"][0]["message"] == "no entry", body           # GraphQL-shaped
        else:
            assert "errors" not in body and body["message"] == "no entry", body  # AG-UI JSON
        assert [c[2] for c in recorder.calls] == ["authenticate", "after"]
        assert recorder.calls[-1][3] == 401
    assert client.runtime.providers["agent"].requests == []  # type: ignore[attr-defined]


async def test_a_new_agui_route_is_one_entry_in_the_table(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """One Route added to agui.service.ROUTES is served multi-route and single-route, through
    the pipeline, and listed in /openapi.json: no other file changes."""
    from starlette.responses import JSONResponse

    from copilotkit_runtime.agui import service

    async def echo_endpoint(call: Any) -> JSONResponse:
        return JSONResponse({"threadId": call.params["threadId"], "body": call.body})

    route = service.Route("threads/echo", "POST", "/threads/{threadId}/echo", echo_endpoint,
                          body="optional")
    monkeypatch.setattr(service, "ROUTES", (*service.ROUTES, route))
    recorder = Recorder()
    plugin = SimpleNamespace(register_middleware=hookimpl(lambda registry: registry.add("rec", recorder)))
    runtime = make_runtime({"agents": {"agent": {"provider": "scripted"}}},
                           plugins={"scripted": scripted_plugin, "rec": plugin}, tmp_path=tmp_path)
    async with RuntimeClient(runtime) as client:
        base = client.base_path
        multi = await client.http.post(f"{base}/threads/t-9/echo", json={"x": 1})
        single = await client.single_route("threads/echo", {"threadId": "t-9"}, {"x": 2})
        refused = await client.http.post(f"{base}/threads/t-9/echo", headers={"x-refuse": "1"})
        document = (await client.http.get(f"{base}/openapi.json")).json()
    assert multi.json() == {"threadId": "t-9", "body": {"x": 1}}
    assert single.json() == {"threadId": "t-9", "body": {"x": 2}}
    assert refused.status_code == 401 and refused.json()["message"] == "no entry"
    echo_calls = [c[2] for c in recorder.calls if c[1].endswith("/echo")]
    assert echo_calls == ["authenticate", "before", "after", "authenticate", "after"]
    assert "post" in document["paths"][f"{base}/threads/{{threadId}}/echo"]
