"""Two users with JWTs through the real npm clients: @copilotkit/core 1.75 (chat, reload, the
thread list of useThreads, its mutations; multi-route and single-route) and
@copilotkit/runtime-client-gql 1.10.6 (chat, loadAgentState)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest

from copilotkit_runtime.stores import ThreadInfo
from copilotkit_runtime.testing import make_runtime, serve_runtime

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))
from node_client import generate_step, node_missing_reason, run_client  # noqa: E402

V2_DIR = REPO / "tests" / "node-v2"
SECRET = "npm-clients-test-secret-of-enough-length"


def bearer(sub: str) -> dict[str, str]:
    token = jwt.encode({"sub": sub, "exp": int(time.time()) + 86_400}, SECRET, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


def v2(scenario: dict[str, Any]) -> dict[str, Any]:
    if shutil.which("node") is None or not (V2_DIR / "node_modules" / "@copilotkit" / "core").is_dir():
        pytest.skip("npm packages missing: run `npm ci --prefix tests/node-v2`")
    done = subprocess.run(["node", "client.mjs", json.dumps(scenario)], cwd=V2_DIR,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def served() -> Any:
    runtime = make_runtime({"agents": {"demo": {"provider": "demo", "chunk_delay": 0}},
                            "default_agent": "demo", "auth": {"jwt": {"secret": SECRET}}}, load_entry_points=True)
    with serve_runtime(runtime) as served:
        yield served


@pytest.mark.parametrize("transport", ["rest", "single"])
def test_v2_each_user_sees_their_threads_and_never_the_others(served: Any, transport: str) -> None:
    alice, bob = bearer(f"alice-{transport}"), bearer(f"bob-{transport}")
    thread = f"t-{uuid.uuid4().hex}"
    base = {"url": served.url, "transport": transport, "agent": "demo", "threadId": thread}
    chat = v2({**base, "headers": alice, "steps": [
        {"op": "run", "text": "Alice plans a trip"},
        {"op": "connect"},
        {"op": "threads"},
        {"op": "threads-mutate", "action": "rename", "threadId": thread, "name": "Trip"},
        {"op": "threads"},
    ]})
    assert chat["errors"] == [] and chat["transport"] == transport
    ran, reloaded, listed, renamed, relisted = chat["steps"]
    assert ran["messages"][-1]["role"] == "assistant"
    assert [m["content"] for m in reloaded["messages"] if m["role"] == "user"] == ["Alice plans a trip"]
    assert [t["id"] for t in listed["threads"]] == [thread] and listed["error"] is None
    assert listed["threads"][0]["name"] == "Alice plans a trip"
    assert renamed["ok"] is True and relisted["threads"][0]["name"] == "Trip"

    other = v2({**base, "headers": bob, "steps": [
        {"op": "threads"},
        {"op": "connect"},
        {"op": "threads-mutate", "action": "delete", "threadId": thread},
        {"op": "run", "text": "Bob tries to write into it"},
    ]})
    empty, connected, deleted, hijack = other["steps"]
    assert empty["threads"] == [] and empty["error"] is None
    assert connected["messages"] == []  # nothing of Alice's reaches Bob
    assert deleted["ok"] is False and "404" in deleted["error"]
    assert all("Alice" not in m.get("content", "") for m in hijack.get("messages", []))
    assert any("404" in e["message"] or "not found" in e["message"].lower() for e in other["errors"])

    # Alice still has her thread, whole; then deletes it through the client.
    after = v2({**base, "headers": alice, "steps": [
        {"op": "connect"},
        {"op": "threads-mutate", "action": "delete", "threadId": thread},
        {"op": "threads"},
    ]})
    kept, gone, none_left = after["steps"]
    assert [m["content"] for m in kept["messages"] if m["role"] == "user"] == ["Alice plans a trip"]
    assert gone["ok"] is True and none_left["threads"] == []


def test_v2_thread_list_pages_through_250_threads(served: Any) -> None:
    store = served.runtime.store

    async def create() -> None:
        for i in range(250):
            await store.claim_thread(ThreadInfo(f"many-{i:03d}", "carol", "demo",
                                                name=f"thread {i}", created_at=9000.0 + i))

    import asyncio

    asyncio.run_coroutine_threadsafe(create(), served.server_loop).result(30)
    out = v2({"url": served.url, "transport": "rest", "agent": "demo", "threadId": "unused",
              "headers": bearer("carol"), "steps": [{"op": "threads", "limit": 100, "pages": 3}]})
    listed = out["steps"][0]
    ids = [t["id"] for t in listed["threads"]]
    assert len(ids) == 250 and len(set(ids)) == 250 and listed["nextCursor"] is None
    assert ids[0] == "many-249" and ids[-1] == "many-000"


@pytest.mark.skipif(node_missing_reason() is not None, reason=node_missing_reason() or "")
def test_v1_client_chats_and_load_agent_state_obeys_ownership(served: Any) -> None:
    alice, bob = bearer("alice-v1"), bearer("bob-v1")
    thread = f"t-{uuid.uuid4().hex}"
    first = run_client(served.url, [generate_step("Alice asks over GraphQL", threadId=thread,
                                                  agent="demo")], headers=alice)["result"]
    assert first["error"] is None and first["status"]["code"].lower() == "success"
    own = run_client(served.url, [{"op": "loadAgentState", "threadId": thread,
                                   "agentName": "demo"}], headers=alice)["result"]
    assert own["data"]["loadAgentState"]["threadExists"] is True
    assert any("Alice asks over GraphQL" in json.dumps(m) for m in own["messages"])

    steps = run_client(served.url, [
        {"op": "loadAgentState", "threadId": thread, "agentName": "demo"},
        generate_step("Bob writes into it", threadId=thread, agent="demo"),
    ], headers=bob)["results"]
    theirs, hijack = steps
    assert theirs["data"]["loadAgentState"]["threadExists"] is False and theirs["messages"] == []
    assert hijack["status"]["code"].lower() == "failed"
    assert "not found" in json.dumps(hijack["status"]).lower()

    nobody = run_client(served.url, [{"op": "hello"}])["result"]
    assert nobody["data"] is None and "Bearer" in json.dumps(nobody["error"])


def test_v2_thread_list_survives_a_restart_with_sqlite(tmp_path: Path) -> None:
    config = {"agents": {"demo": {"provider": "demo", "chunk_delay": 0}},
              "auth": {"jwt": {"secret": SECRET}},
              "store": {"type": "sqlite", "sqlite": {"path": str(tmp_path / "threads.sqlite3")}}}
    thread = f"t-{uuid.uuid4().hex}"
    scenario = {"transport": "rest", "agent": "demo", "threadId": thread, "headers": bearer("dora")}
    with serve_runtime(make_runtime(config, tmp_path=tmp_path, load_entry_points=True)) as served:
        before = v2({**scenario, "url": served.url, "steps": [
            {"op": "run", "text": "Remember me after a restart"}, {"op": "threads"}]})
    assert [t["id"] for t in before["steps"][1]["threads"]] == [thread]
    with serve_runtime(make_runtime(config, tmp_path=tmp_path, load_entry_points=True)) as served:
        after = v2({**scenario, "url": served.url, "steps": [{"op": "threads"}, {"op": "connect"}]})
        stranger = v2({**scenario, "url": served.url, "headers": bearer("eve"),
                       "steps": [{"op": "threads"}]})
    listed, reloaded = after["steps"]
    assert [(t["id"], t["name"]) for t in listed["threads"]] == [(thread, "Remember me after a restart")]
    assert [m["content"] for m in reloaded["messages"] if m["role"] == "user"] == [
        "Remember me after a restart"]
    assert stranger["steps"][0]["threads"] == []
