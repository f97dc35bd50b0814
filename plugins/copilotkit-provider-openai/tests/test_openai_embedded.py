"""``copilotkit-runtime serve`` with no config and OPENAI_API_KEY set: an LLM chat agent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from openai_helpers import SECRET, run_body, sse_events

from copilotkit_runtime.testing.fake_llm import FakeLLMServer
from copilotkit_runtime.testing.server import free_port


def test_serve_with_a_key_in_the_environment_serves_an_llm_default_agent(
        fake: FakeLLMServer, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COPILOTKIT_", "OPENAI_"))}
    env.update(OPENAI_API_KEY=SECRET, OPENAI_BASE_URL=fake.openai_url)
    proc = subprocess.Popen([sys.executable, "-m", "copilotkit_runtime.cli", "serve", "--port",
                             str(port)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}/api/copilotkit"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert SECRET not in health.text
        info = httpx.get(base + "/info").json()
        assert info["agents"]["default"]["className"] == "openai" and info["suggestions"] is True
        reply = httpx.post(base + "/agent/default/run", json=run_body("hi there"), timeout=30)
        deltas = [e["delta"] for e in sse_events(reply.text) if e["type"] == "TEXT_MESSAGE_CONTENT"]
        assert "".join(deltas) == "You said: hi there"
        assert fake.requests[-1]["model"] == "gpt-4o-mini"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert "agents: default [openai: gpt-4o-mini]" in err
    assert "the default agent is an LLM chat agent" in err
    assert SECRET not in err, err
