"""Test setup: keep CrewAI away from the network and from the real home directory.

These variables are set before anything imports CrewAI (pytest imports this file first):
CrewAI writes credentials and settings under ``$HOME`` at import time, and its storage under
``CREWAI_STORAGE_DIR``; both go to a throwaway directory.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_SANDBOX = Path(tempfile.mkdtemp(prefix="copilotkit-crewai-tests-"))
os.environ.update({
    "HOME": str(_SANDBOX / "home"),
    "XDG_DATA_HOME": str(_SANDBOX / "home" / ".local" / "share"),
    "XDG_CONFIG_HOME": str(_SANDBOX / "home" / ".config"),
    "CREWAI_STORAGE_DIR": str(_SANDBOX / "crewai-storage"),
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_TRACKING": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_DISABLE_VERSION_CHECK": "true",
    "CREWAI_TESTING": "true",
    "OTEL_SDK_DISABLED": "true",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "OPENAI_API_KEY": "fake-key-for-tests",
    # A placeholder until a test starts its fake server; nothing may reach a real host.
    "FAKE_LLM_BASE_URL": "http://127.0.0.1:9/v1",
})
(_SANDBOX / "home").mkdir(parents=True, exist_ok=True)

import pytest  # noqa: E402
from fakellm import FakeLLM, Responder, serve_fake_llm  # noqa: E402

SANDBOX = _SANDBOX


@pytest.fixture
def sandbox() -> Path:
    return SANDBOX


@pytest.fixture
def fake_llm_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``start(responder)`` serves a fake model and points FAKE_LLM_BASE_URL at it."""
    servers: list[Any] = []

    def start(responder: Responder) -> FakeLLM:
        cm = serve_fake_llm(responder)
        fake = cm.__enter__()
        servers.append(cm)
        monkeypatch.setenv("FAKE_LLM_BASE_URL", fake.base_url)
        return fake

    yield start
    for cm in reversed(servers):
        cm.__exit__(None, None, None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import shutil

    shutil.rmtree(SANDBOX, ignore_errors=True)
