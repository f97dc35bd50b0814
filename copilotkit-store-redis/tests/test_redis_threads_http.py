"""Thread lists across two runtime instances on one Redis, over real HTTP: a user's threads
show on either instance, another user's never; a delete on one is gone on the other."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from copilotkit_runtime import Principal, RequestMiddleware, hookimpl
from copilotkit_runtime.errors import UnauthorizedError
from copilotkit_runtime.testing import make_runtime, serve_runtime


class UserHeader(RequestMiddleware):
    """The user named by ``x-user`` (a stand-in for a session lookup)."""

    authenticates_users = True

    async def authenticate(self, context: Any) -> Principal:
        user = context.headers.get("x-user")
        if not user:
            raise UnauthorizedError("x-user is required")
        return Principal(id=user)


class UserHeaderPlugin:
    @hookimpl
    def register_middleware(self, registry: Any) -> None:
        registry.add("user-header", UserHeader())


def _instance(redis_url: str, key_prefix: str) -> Any:
    return make_runtime({"agents": {"demo": {"provider": "demo", "chunk_delay": 0}},
                         "store": {"type": "redis",
                                   "redis": {"url": redis_url, "key_prefix": key_prefix}}},
                        plugins={"user-header": UserHeaderPlugin()}, load_entry_points=True)


def _run(url: str, user: str, thread_id: str, text: str) -> None:
    body = {"threadId": thread_id, "runId": str(uuid.uuid4()), "state": {}, "tools": [],
            "context": [], "forwardedProps": {},
            "messages": [{"id": str(uuid.uuid4()), "role": "user", "content": text}]}
    response = httpx.post(f"{url}/agent/demo/run", json=body, headers={"x-user": user}, timeout=30)
    assert response.status_code == 200 and '"RUN_FINISHED"' in response.text


def _ids(url: str, user: str) -> list[str]:
    response = httpx.get(f"{url}/threads", params={"agentId": "demo"}, headers={"x-user": user})
    assert response.status_code == 200, response.text
    return [t["id"] for t in response.json()["threads"]]


def test_two_instances_show_each_user_their_threads_only(redis_url: str, key_prefix: str) -> None:
    with serve_runtime(_instance(redis_url, key_prefix)) as a, \
            serve_runtime(_instance(redis_url, key_prefix)) as b:
        first, second = f"t-{uuid.uuid4().hex}", f"t-{uuid.uuid4().hex}"
        _run(a.url, "alice", first, "On instance A")
        _run(b.url, "alice", second, "On instance B")
        _run(a.url, "bob", f"t-{uuid.uuid4().hex}", "Bob's")
        assert _ids(a.url, "alice") == _ids(b.url, "alice") == [second, first]
        assert first not in _ids(b.url, "bob") and len(_ids(b.url, "bob")) == 1
        # Another user on the other instance cannot read, continue or delete it.
        assert httpx.get(f"{b.url}/threads/{first}/messages", headers={"x-user": "bob"}).status_code == 404
        body = {"threadId": first, "runId": "r", "state": {}, "tools": [], "context": [],
                "forwardedProps": {}, "messages": []}
        assert httpx.post(f"{b.url}/agent/demo/run", json=body,
                          headers={"x-user": "bob"}).status_code == 404
        messages = httpx.get(f"{b.url}/threads/{first}/messages", headers={"x-user": "alice"})
        assert [m["content"] for m in messages.json()["messages"] if m["role"] == "user"] == ["On instance A"]
        deleted = httpx.request("DELETE", f"{b.url}/threads/{first}", json={},
                                headers={"x-user": "alice"})
        assert deleted.status_code == 204
        assert _ids(a.url, "alice") == [second]
        assert httpx.get(f"{a.url}/threads/{first}/events", headers={"x-user": "alice"}).status_code == 404
