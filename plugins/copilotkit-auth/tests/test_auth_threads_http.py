"""Two users with JWTs over real HTTP: each sees and touches only their own threads; every
protocol route refuses missing or bad credentials with the protocol's own 401."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest

from copilotkit_runtime.stores import ThreadInfo
from copilotkit_runtime.testing import make_runtime, serve_runtime

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
ISSUER, AUDIENCE = "https://issuer.test", "copilot"


def token(sub: str | None, *, secret: str = SECRET, **claims: Any) -> str:
    # A day, not minutes: the module's tokens are made when the tests are collected, and the
    # whole suite runs for longer than ten minutes before these tests use them.
    body: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 86_400,
                            **claims}
    if sub is not None:
        body["sub"] = sub
    return jwt.encode(body, secret, algorithm="HS256")


def auth(sub: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token(sub)}"}


ALICE, BOB = auth("alice"), auth("bob")


@pytest.fixture(scope="module")
def served() -> Any:
    runtime = make_runtime({
        "agents": {"demo": {"provider": "demo", "chunk_delay": 0}},
        "auth": {"jwt": {"secret": SECRET, "iss": ISSUER, "aud": AUDIENCE}},
    }, load_entry_points=True)
    with serve_runtime(runtime) as served:
        yield served


def run_input(thread_id: str, text: str) -> dict[str, Any]:
    return {"threadId": thread_id, "runId": str(uuid.uuid4()), "state": {}, "tools": [],
            "context": [], "forwardedProps": {},
            "messages": [{"id": str(uuid.uuid4()), "role": "user", "content": text}]}


def sse_events(body: str) -> list[dict[str, Any]]:
    frames = [f for f in body.split("\n\n") if f and not f.startswith(":")]
    return [json.loads(f.removeprefix("data: ")) for f in frames]


def run(served: Any, headers: dict[str, str], text: str, thread_id: str | None = None) -> str:
    thread_id = thread_id or f"t-{uuid.uuid4().hex}"
    response = httpx.post(f"{served.url}/agent/demo/run", json=run_input(thread_id, text),
                          headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert sse_events(response.text)[-1]["type"] == "RUN_FINISHED"
    return thread_id


def listing(served: Any, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = httpx.get(f"{served.url}/threads", params={"agentId": "demo", **params},
                         headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def on_server(served: Any, coro: Any) -> Any:
    return asyncio.run_coroutine_threadsafe(coro, served.server_loop).result(10)


# -- ownership -----------------------------------------------------------------------------------

def test_each_user_lists_only_their_own_threads(served: Any) -> None:
    a1 = run(served, ALICE, "What is the capital of France?")
    a2 = run(served, ALICE, "  A   very long first question that goes on and on about many things at once")
    b1 = run(served, BOB, "Bob's question")
    alice = {t["id"]: t for t in listing(served, ALICE)["threads"]}
    bob = {t["id"]: t for t in listing(served, BOB)["threads"]}
    assert {a1, a2} <= set(alice) and b1 not in alice
    assert b1 in bob and not {a1, a2} & set(bob)
    assert alice[a1]["name"] == "What is the capital of France?"
    assert alice[a2]["name"].endswith("…") and len(alice[a2]["name"]) == 60
    assert alice[a1]["agentId"] == "demo" and alice[a1]["archived"] is False
    assert alice[a1]["createdAt"].endswith("Z") and alice[a1]["updatedAt"] >= alice[a1]["createdAt"]
    ids = [t["id"] for t in listing(served, ALICE)["threads"]]
    assert ids.index(a2) < ids.index(a1)  # newest first


def test_another_users_thread_answers_exactly_like_an_unknown_one(served: Any) -> None:
    mine = run(served, ALICE, "private")
    unknown = f"t-{uuid.uuid4().hex}"
    base = served.url

    # The thread endpoints answer another's thread exactly as an unknown one.
    def attempts(thread_id: str) -> list[httpx.Response]:
        return [
            httpx.get(f"{base}/threads/{thread_id}", headers=BOB),
            httpx.get(f"{base}/threads/{thread_id}/messages", headers=BOB),
            httpx.get(f"{base}/threads/{thread_id}/events", headers=BOB),
            httpx.get(f"{base}/threads/{thread_id}/state", headers=BOB),
            httpx.patch(f"{base}/threads/{thread_id}", json={"name": "mine now"}, headers=BOB),
            httpx.post(f"{base}/threads/{thread_id}/archive", json={}, headers=BOB),
            httpx.request("DELETE", f"{base}/threads/{thread_id}", json={}, headers=BOB),
        ]

    for theirs, nothing in zip(attempts(mine), attempts(unknown), strict=True):
        assert theirs.status_code == 404, (theirs.request.url, theirs.text)
        assert theirs.json() == json.loads(nothing.text.replace(unknown, mine))
    # Running on it, connecting to it and stopping it are refused with the same 404 (an
    # unknown id would simply be a new, empty thread).
    refusals = [
        httpx.post(f"{base}/agent/demo/run", json=run_input(mine, "hijack"), headers=BOB),
        httpx.post(f"{base}/agent/demo/connect", json=run_input(mine, ""), headers=BOB),
        httpx.post(f"{base}/agent/demo/stop/{mine}", json={}, headers=BOB),
    ]
    for refused in refusals:
        assert refused.status_code == 404, (refused.request.url, refused.text)
        assert refused.json() == {"error": "Thread not found",
                                  "message": f"Thread '{mine}' was not found"}
    # Alice's thread is untouched by all of it.
    messages = httpx.get(f"{base}/threads/{mine}/messages", headers=ALICE).json()["messages"]
    assert [m["content"] for m in messages if m["role"] == "user"] == ["private"]
    assert mine in {t["id"] for t in listing(served, ALICE)["threads"]}


def test_connect_replays_only_the_owners_history(served: Any) -> None:
    mine = run(served, ALICE, "replay me")
    replay = httpx.post(f"{served.url}/agent/demo/connect", json=run_input(mine, ""), headers=ALICE)
    types = [e["type"] for e in sse_events(replay.text)]
    assert types[0] == "RUN_STARTED" and types[-1] == "RUN_FINISHED"
    events = httpx.get(f"{served.url}/threads/{mine}/events", headers=ALICE).json()["events"]
    assert [e["type"] for e in events] == types


def test_single_route_resource_requests_obey_ownership(served: Any) -> None:
    mine = run(served, ALICE, "single route")

    def resource(headers: dict[str, str], path: str, method: str = "GET",
                 body: Any = None) -> httpx.Response:
        envelope: dict[str, Any] = {"method": "resource/request",
                                    "params": {"path": path, "httpMethod": method}}
        if body is not None:
            envelope["body"] = body
        return httpx.post(served.url, json=envelope, headers=headers)

    listed = resource(ALICE, "/threads?agentId=demo&limit=100")
    assert listed.status_code == 200 and mine in {t["id"] for t in listed.json()["threads"]}
    assert mine not in {t["id"] for t in resource(BOB, "/threads?agentId=demo").json()["threads"]}
    assert resource(BOB, f"/threads/{mine}/messages").status_code == 404
    assert resource(BOB, f"/threads/{mine}", "PATCH", {"name": "x"}).status_code == 404
    renamed = resource(ALICE, f"/threads/{mine}", "PATCH", {"agentId": "demo", "name": "Renamed"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed"
    assert resource(ALICE, "/threads/nope/unknown").status_code == 404


def test_load_agent_state_obeys_ownership(served: Any) -> None:
    mine = run(served, ALICE, "state please")
    query = {"query": "query($data: LoadAgentStateInput!) { loadAgentState(data: $data) "
                      "{ threadId threadExists messages } }",
             "variables": {"data": {"threadId": mine, "agentName": "demo"}}}
    own = httpx.post(served.url, json=query, headers=ALICE).json()["data"]["loadAgentState"]
    other = httpx.post(served.url, json=query, headers=BOB).json()["data"]["loadAgentState"]
    assert own["threadExists"] is True and "state please" in own["messages"]
    assert other == {"threadId": mine, "threadExists": False, "messages": "[]"}


def test_rename_archive_unarchive_and_delete(served: Any) -> None:
    mine = run(served, ALICE, "to be renamed")
    base = served.url
    renamed = httpx.patch(f"{base}/threads/{mine}", json={"agentId": "demo", "name": " New  name "},
                          headers=ALICE)
    assert renamed.status_code == 200 and renamed.json()["name"] == "New name"
    archived = httpx.post(f"{base}/threads/{mine}/archive", json={"agentId": "demo"}, headers=ALICE)
    assert archived.status_code == 200 and archived.json()["archived"] is True
    assert mine not in {t["id"] for t in listing(served, ALICE)["threads"]}
    assert mine in {t["id"] for t in listing(served, ALICE, includeArchived="true", limit=100)["threads"]}
    back = httpx.patch(f"{base}/threads/{mine}", json={"archived": False}, headers=ALICE)
    assert back.status_code == 200 and back.json()["archived"] is False
    bad = httpx.patch(f"{base}/threads/{mine}", json={"name": ""}, headers=ALICE)
    assert bad.status_code == 400

    deleted = httpx.request("DELETE", f"{base}/threads/{mine}", json={"agentId": "demo"},
                            headers=ALICE)
    assert deleted.status_code == 204
    assert httpx.get(f"{base}/threads/{mine}/messages", headers=ALICE).status_code == 404
    store = served.runtime.store
    assert on_server(served, store.get_thread_info(mine)) is None
    assert on_server(served, store.get_thread(mine, "demo")) is None
    assert on_server(served, store.get_events(mine)) == []


def test_clear_deletes_only_the_callers_threads(served: Any) -> None:
    dave, erin = auth("dave"), auth("erin")
    for i in range(3):
        run(served, dave, f"dave {i}")
    kept = run(served, erin, "erin keeps this")
    cleared = httpx.post(f"{served.url}/threads/clear", json={}, headers=dave)
    assert cleared.status_code == 200 and cleared.json() == {"deleted": 3, "busy": []}
    assert listing(served, dave)["threads"] == []
    assert [t["id"] for t in listing(served, erin)["threads"]] == [kept]


def test_pagination_over_250_threads(served: Any) -> None:
    store = served.runtime.store
    frank = auth("frank")

    async def create() -> None:
        for i in range(250):
            await store.claim_thread(ThreadInfo(f"frank-{i:03d}", "frank", "demo",
                                                name=f"thread {i}", created_at=5000.0 + i // 3))

    on_server(served, create())
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 40} if cursor is None else {"limit": 40, "cursor": cursor}
        page = listing(served, frank, **params)
        seen += [t["id"] for t in page["threads"]]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert pages == 7 and len(seen) == 250 and len(set(seen)) == 250
    assert seen[0] == "frank-249" and seen[-1] == "frank-000"
    bad = httpx.get(f"{served.url}/threads", params={"cursor": "garbage"}, headers=frank)
    assert bad.status_code == 400 and bad.json()["error"] == "Invalid cursor"
    assert httpx.get(f"{served.url}/threads", params={"limit": 0}, headers=frank).status_code == 400


def test_info_offers_the_thread_endpoints(served: Any) -> None:
    info = httpx.get(f"{served.url}/info", headers=ALICE).json()
    offered = {"list": True, "inspect": True, "mutations": True, "realtimeMetadata": False}
    assert info["threadEndpoints"] == offered
    assert info["singleRoute"] == {"resourceOperations": True, "threadEndpoints": offered}


# -- credentials -----------------------------------------------------------------------------------

BAD_CREDENTIALS = {
    "none": {},
    "not bearer": {"authorization": f"Basic {token('alice')}"},
    "expired": {"authorization": f"Bearer {token('alice', exp=int(time.time()) - 3600)}"},
    "wrong issuer": {"authorization": f"Bearer {token('alice', iss='https://evil.test')}"},
    "wrong audience": {"authorization": f"Bearer {token('alice', aud='other')}"},
    "wrong signature": {"authorization": f"Bearer {token('alice', secret='x' * 40)}"},
    "no user claim": {"authorization": f"Bearer {token(None)}"},
    "garbage": {"authorization": "Bearer not.a.jwt"},
}


@pytest.mark.parametrize("case", sorted(BAD_CREDENTIALS))
def test_bad_credentials_are_401_on_every_protocol_route(served: Any, case: str) -> None:
    headers = BAD_CREDENTIALS[case]
    base = served.url
    agui = [
        httpx.get(f"{base}/info", headers=headers),
        httpx.post(f"{base}/agent/demo/run", json=run_input("t-x", "hi"), headers=headers),
        httpx.post(f"{base}/agent/demo/connect", json=run_input("t-x", ""), headers=headers),
        httpx.get(f"{base}/threads", headers=headers),
        httpx.post(f"{base}/threads/clear", json={}, headers=headers),
        httpx.post(base, json={"method": "info"}, headers=headers),
    ]
    for response in agui:
        assert response.status_code == 401, (response.request.url, response.text)
        body = response.json()
        assert body["error"] == "Unauthorized" and body["message"]
    graphql = httpx.post(base, json={"query": "{ hello }"}, headers=headers)
    assert graphql.status_code == 401
    error = graphql.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHORIZED" and error["message"]


def test_a_good_token_passes_and_the_error_says_what_is_wrong(served: Any) -> None:
    assert httpx.post(served.url, json={"query": "{ hello }"}, headers=ALICE).status_code == 200
    expired = httpx.get(f"{served.url}/info", headers=BAD_CREDENTIALS["expired"]).json()
    assert "expired" in expired["message"].lower()
    missing = httpx.get(f"{served.url}/info").json()
    assert "Bearer" in missing["message"]
