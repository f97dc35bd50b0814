"""SQLite: a database written before threads had owners opens, is migrated and loses nothing;
the thread list survives a restart."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from copilotkit_runtime.default_plugins.sqlite_store import (
    SCHEMA_VERSION,
    SQLiteOptions,
    SQLiteStore,
)
from copilotkit_runtime.errors import StoreError
from copilotkit_runtime.testing import make_runtime, serve_runtime
from copilotkit_runtime.threads import ANONYMOUS_OWNER

# Written by the SQLite store of the release before thread owners (commit 741a6cb): threads
# legacy-0 (agents demo and other), legacy-1, legacy-2, each with one stored run.
FIXTURE = Path(__file__).parent / "fixtures" / "threads-before-owners.sqlite3"


@pytest.fixture
def old_file(tmp_path: Path) -> Path:
    path = tmp_path / "threads.sqlite3"
    shutil.copy(FIXTURE, path)
    return path


@pytest.mark.anyio
async def test_an_old_file_is_migrated_without_losing_a_thread(old_file: Path) -> None:
    assert sqlite3.connect(old_file).execute("PRAGMA user_version").fetchone()[0] == 0
    store = SQLiteStore(SQLiteOptions(path=str(old_file)))
    await store.open()
    try:
        for i in range(3):
            record = await store.get_thread(f"legacy-{i}", "demo")
            assert record is not None and record.state == {"n": i}
            assert [m["content"] for m in record.messages][1] == f"Answer {i}"
            assert len(await store.get_events(f"legacy-{i}")) == 2
        other = await store.get_thread("legacy-0", "other")
        assert other is not None and other.state == {"x": 1}
        page = await store.list_threads(ANONYMOUS_OWNER)
        assert sorted(i.thread_id for i in page.threads) == ["legacy-0", "legacy-1", "legacy-2"]
        info = await store.get_thread_info("legacy-1")
        assert info is not None
        assert (info.owner, info.agent, info.name) == (
            ANONYMOUS_OWNER, "demo", "Question number 1 about the legacy store")
        assert 0 < info.created_at <= info.updated_at
    finally:
        await store.close()
    assert sqlite3.connect(old_file).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    # Opening again is a no-op: nothing duplicated.
    again = SQLiteStore(SQLiteOptions(path=str(old_file)))
    await again.open()
    try:
        assert len((await again.list_threads(ANONYMOUS_OWNER)).threads) == 3
    finally:
        await again.close()


@pytest.mark.anyio
async def test_a_file_from_a_newer_release_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    store = SQLiteStore(SQLiteOptions(path=str(path)))
    with pytest.raises(StoreError, match="newer copilotkit-runtime"):
        await store.open()


def _run(url: str, thread_id: str, text: str) -> None:
    body = {"threadId": thread_id, "runId": str(uuid.uuid4()), "state": {}, "tools": [],
            "context": [], "forwardedProps": {},
            "messages": [{"id": str(uuid.uuid4()), "role": "user", "content": text}]}
    response = httpx.post(f"{url}/agent/demo/run", json=body, timeout=30)
    assert response.status_code == 200 and '"RUN_FINISHED"' in response.text


def _threads(url: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/threads", params={"agentId": "demo"})
    assert response.status_code == 200
    return list(response.json()["threads"])


def test_the_thread_list_survives_a_restart(old_file: Path, tmp_path: Path) -> None:
    config = {"agents": {"demo": {"provider": "demo", "chunk_delay": 0}},
              "store": {"type": "sqlite", "sqlite": {"path": str(old_file)}}}
    with serve_runtime(make_runtime(config, tmp_path=tmp_path)) as served:
        _run(served.url, "fresh-thread", "Made after the migration")
        before = _threads(served.url)
    assert {t["id"] for t in before} == {"fresh-thread", "legacy-0", "legacy-1", "legacy-2"}
    with serve_runtime(make_runtime(config, tmp_path=tmp_path)) as served:
        after = _threads(served.url)
        assert after == before
        messages = httpx.get(f"{served.url}/threads/legacy-2/messages").json()["messages"]
        assert [m["content"] for m in messages] == ["Question number 2 about the legacy store",
                                                    "Answer 2"]
