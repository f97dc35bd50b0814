"""Threads live in the configured LangGraph checkpointer; load_thread reads them."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from ag_ui.core import ResumeEntry
from lg_helpers import TODO_GRAPH, Client, build_runtime, user

from copilotkit_runtime.testing.server import free_port

pytestmark = pytest.mark.anyio


def todo_agent(**options: object) -> dict[str, object]:
    return {"todo_agent": {"provider": "langgraph", "graph": TODO_GRAPH, **options}}


async def test_a_sqlite_thread_survives_a_restart(tmp_path: Path) -> None:
    agents = todo_agent(checkpointer={"type": "sqlite", "path": "threads/{agent}.db"})
    first = build_runtime(agents, tmp_path)
    await first.startup()
    client = Client(first, "todo_agent")
    await client.send("add buy milk")
    await client.send("delete buy milk")  # leaves an interrupt pending in the checkpoint
    await first.shutdown()
    assert (tmp_path / "threads" / "todo_agent.db").is_file()

    # A new runtime (new provider, new engine, empty state store) on the same file.
    second = build_runtime(agents, tmp_path)
    await second.startup()
    try:
        snapshot = await second.engine.load_thread("todo_agent", client.thread_id)
        assert snapshot.exists
        assert snapshot.state["todos"] == [{"id": "todo-1", "title": "buy milk", "done": False}]
        assert [m["role"] for m in snapshot.messages] == ["user", "assistant", "user"]
        assert snapshot.messages[1]["content"].startswith("Added buy milk.")
        assert snapshot.node_name == "confirm_delete"

        # The client knows only the thread id: the state and history come from the checkpoint.
        again = Client(second, "todo_agent", thread_id=client.thread_id)
        turn = await again.send()
        [pending] = turn.last.outcome.interrupts
        resumed = await again.send(resume=[ResumeEntry(interrupt_id=pending.id, status="resolved",
                                                       payload="yes")])
        assert resumed.text == "Deleted buy milk. You have 0 todos: none."
        fresh = Client(second, "todo_agent", thread_id=client.thread_id)
        turn = await fresh.send("add call mom")
        assert turn.state["todos"] == [{"id": "todo-1", "title": "call mom", "done": False}]
        assert len(turn.messages) == 6
    finally:
        await second.shutdown()


async def test_sqlite_default_file_is_per_agent_in_the_data_dir(runtimes, tmp_path: Path) -> None:
    runtime = await runtimes(todo_agent(checkpointer="sqlite"))
    await Client(runtime, "todo_agent").send("add buy milk")
    assert (runtime.settings.data_path / "langgraph" / "todo_agent.sqlite").is_file()


@pytest.mark.parametrize("checkpointer", ["auto", "memory", "sqlite"])
async def test_load_thread_of_an_unknown_thread(runtimes, checkpointer: str) -> None:
    runtime = await runtimes(todo_agent(checkpointer=checkpointer))
    snapshot = await runtime.engine.load_thread("todo_agent", "never-seen")
    assert snapshot.exists is False
    assert (snapshot.state, snapshot.messages) == ({}, [])


async def test_load_thread_returns_the_checkpoint_as_agui_messages(runtimes) -> None:
    runtime = await runtimes(todo_agent(checkpointer="memory"))
    client = Client(runtime, "todo_agent", tools=[])
    await client.send("add buy milk")
    snapshot = await runtime.engine.load_thread("todo_agent", client.thread_id)
    assert snapshot.exists and snapshot.node_name == "__end__"
    assert snapshot.state == {"copilotkit": {"actions": [], "context": []},
                              "todos": [{"id": "todo-1", "title": "buy milk", "done": False}]}
    assert snapshot.messages[0] == {"id": client.messages[0].id, "role": "user",
                                    "content": "add buy milk"}
    assert snapshot.messages[1]["role"] == "assistant"


async def test_threads_of_two_agents_do_not_mix(runtimes) -> None:
    runtime = await runtimes({
        "a": {"provider": "langgraph", "graph": TODO_GRAPH, "checkpointer": "sqlite"},
        "b": {"provider": "langgraph", "graph": TODO_GRAPH, "checkpointer": "sqlite"},
    })
    await Client(runtime, "a", thread_id="shared").send("add buy milk")
    b = Client(runtime, "b", thread_id="shared")
    b.messages.append(user("add call mom"))
    turn = await b.send()
    assert turn.state["todos"] == [{"id": "todo-1", "title": "call mom", "done": False}]


def _pg_bin() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return candidates[0].parent if candidates else None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server on a free local port (skips without the binaries)."""
    pg_bin = _pg_bin()
    if pg_bin is None:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    pytest.importorskip("langgraph.checkpoint.postgres.aio",
                        reason="extra not installed: pip install 'copilotkit-provider-langgraph[postgres]'")
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL")
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user")
        as_user = ["runuser", "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="lg-pg-"))
    if as_user:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    data = folder / "data"
    port = free_port()

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=120)

    run(str(pg_bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    run(str(pg_bin / "pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "log"), "-o",
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        run(str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


async def test_a_postgres_thread_survives_a_restart(tmp_path: Path, postgres_url: str) -> None:
    agents = todo_agent(checkpointer={"type": "postgres", "url": postgres_url})
    first = build_runtime(agents, tmp_path)
    await first.startup()
    client = Client(first, "todo_agent")
    await client.send("add buy milk")
    await first.shutdown()

    second = build_runtime(agents, tmp_path)
    await second.startup()
    try:
        snapshot = await second.engine.load_thread("todo_agent", client.thread_id)
        assert snapshot.exists
        assert snapshot.state["todos"] == [{"id": "todo-1", "title": "buy milk", "done": False}]
        turn = await Client(second, "todo_agent", thread_id=client.thread_id).send("add call mom")
        assert [t["title"] for t in turn.state["todos"]] == ["buy milk", "call mom"]
    finally:
        await second.shutdown()
