"""The SQLite store keeps threads across a real process restart."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import asyncio, json, sys
    from copilotkit_runtime.testing import make_runtime, run_request, collect_events

    async def main(mode, folder, thread_id):
        runtime = make_runtime({"store": {"type": "sqlite", "sqlite": {"path": folder + "/t.db"}},
                                "agents": {"demo": {"provider": "demo", "chunk_delay": 0}}},
                               load_entry_points=False)
        await runtime.startup()
        try:
            if mode == "write":
                events = await collect_events(runtime.engine.stream(
                    run_request("demo", "remember me", thread_id=thread_id, state={"color": "teal"})))
                print(json.dumps({"last": events[-1].type.value}))
            else:
                snap = await runtime.engine.load_thread("demo", thread_id)
                history = await runtime.store.get_events(thread_id)
                print(json.dumps({"exists": snap.exists, "state": snap.state,
                                  "messages": snap.messages, "history": len(history)}))
        finally:
            await runtime.shutdown()

    asyncio.run(main(*sys.argv[1:]))
""")


def run(mode: str, folder: Path, thread_id: str) -> dict:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode, str(folder), thread_id],
                         capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_thread_survives_a_process_restart(tmp_path: Path) -> None:
    assert run("write", tmp_path, "thread-1") == {"last": "RUN_FINISHED"}
    read = run("read", tmp_path, "thread-1")
    assert read["exists"] is True
    assert read["state"] == {"color": "teal", "turns": 1, "last_message": "remember me"}
    assert [m["role"] for m in read["messages"]] == ["user", "assistant"]
    assert read["messages"][1]["content"] == "You said: remember me"
    assert read["history"] > 3
    assert run("read", tmp_path, "other-thread")["exists"] is False
