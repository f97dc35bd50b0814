"""The threads page of examples/react-v2 (react-core 1.74's useThreads against the runtime's v2
thread endpoints) in Debian's chromium: two users signed in with JWTs (copilotkit-auth), the
page sending each one's token through the CopilotKit provider's headers, threads in SQLite.

A user's thread is listed again after the runtime process restarts; another user's list never
shows it."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import jwt
import pytest

from copilotkit_runtime import Runtime, load_settings
from copilotkit_runtime.testing.fake_llm import FakeLLMServer
from copilotkit_runtime.testing.server import ServedRuntime, serve_runtime

from .browser_session import Browser
from .conftest import EXAMPLES, _missing, _serve_static_on

SECRET = "browser-threads-test-secret-of-enough-length"


def token(sub: str) -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time()) + 86_400}, SECRET, algorithm="HS256")


def signed_in_runtime(fake_llm: FakeLLMServer, app_ports: dict[str, int], db: Path) -> Runtime:
    """The example config with JWT sign-in and the SQLite store (what survives a restart)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "COPILOTKIT_"))}
    env["EXAMPLE_LLM_BASE_URL"] = fake_llm.openai_url
    env["COPILOTKIT_SERVER__CORS_ORIGINS"] = json.dumps(
        [f"http://127.0.0.1:{port}" for port in app_ports.values()])
    env["COPILOTKIT_AUTH__JWT__SECRET"] = SECRET
    env["COPILOTKIT_STORE__TYPE"] = "sqlite"
    env["COPILOTKIT_STORE__SQLITE__PATH"] = str(db)
    return Runtime(load_settings(EXAMPLES / "agents" / "copilotkit.toml", env=env))


def page_on(runtime: ServedRuntime, app_ports: dict[str, int]) -> Browser:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    return Browser(_serve_static_on("react-v2", app_ports["react-v2"]), runtime, suggestions=False)


def test_thread_history_after_a_restart_and_never_another_users(
        tmp_path: Path, fake_llm: FakeLLMServer, app_ports: dict[str, int]) -> None:
    db = tmp_path / "threads.sqlite3"
    alice, bob = token(f"alice-{uuid.uuid4().hex[:6]}"), token(f"bob-{uuid.uuid4().hex[:6]}")
    text = "Remember me after a restart"
    with serve_runtime(signed_in_runtime(fake_llm, app_ports, db)) as served:
        first = page_on(served, app_ports).run("threads_chat", hash="#threads",
                                               query={"token": alice}, text=text)
    assert first["before"] == []
    assert first["reply"].startswith(f"You said: {text}")
    assert first["threads"] == [text]  # named after its first message
    # listed without a reload: the app fetched the list again when the run ended
    lists = [n for key, n in first["requests"].items() if key.startswith("GET ") and key.endswith("/threads")]
    assert lists and lists[0] >= 2, first["requests"]  # on open, then after the run(s) (3 seen: the connect on open is one too)

    # a new runtime process state: nothing in memory, only the SQLite file
    with serve_runtime(signed_in_runtime(fake_llm, app_ports, db)) as served:
        browser = page_on(served, app_ports)
        again = browser.run("threads_list", hash="#threads", query={"token": alice}, expect=text)
        stranger = browser.run("threads_list", hash="#threads", query={"token": bob})
    assert again["threads"] == [text]
    assert stranger["threads"] == []
