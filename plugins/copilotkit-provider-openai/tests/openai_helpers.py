from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from copilotkit_runtime import hookimpl
from copilotkit_runtime.actions import Action
from copilotkit_runtime.testing import ServedRuntime, make_runtime, serve_runtime
from copilotkit_runtime.testing.fake_llm import FakeLLMServer

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))

SECRET = "sk-test-secret-0123456789abcdef"


def lookup_order(order_id: int) -> dict[str, Any]:
    """Look up an order by its number."""
    return {"order": order_id, "status": "shipped"}


async def convert_currency(amount: float, currency: str = "EUR") -> str:
    """Convert an amount of dollars."""
    await asyncio.sleep(0)
    return f"{amount * 0.9:.2f} {currency}"


def explode(reason: str) -> str:
    """Always fails."""
    raise ValueError(f"exploded: {reason}")


ACTIONS = SimpleNamespace(register_actions=hookimpl(lambda registry: [
    registry.add("lookup_order", Action.from_function(lookup_order)),
    registry.add("convert_currency", Action.from_function(convert_currency)),
    registry.add("explode", Action.from_function(explode)),
]))


@pytest.fixture(scope="session")
def llm() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def fake(llm: FakeLLMServer) -> FakeLLMServer:
    llm.reset()
    return llm


def chat_runtime(fake: FakeLLMServer, tmp_path: Path, **options: Any) -> Any:
    agent = {"provider": "openai", "model": "fake-gpt", "base_url": fake.openai_url,
             "api_key": SECRET, "max_retry_wait": 2, **options}
    return make_runtime({"agents": {"chat": agent}}, plugins={"shop": ACTIONS}, tmp_path=tmp_path, load_entry_points=True)


@pytest.fixture
def served(fake: FakeLLMServer, tmp_path: Path) -> Iterator[ServedRuntime]:
    with serve_runtime(chat_runtime(fake, tmp_path)) as server:
        yield server


def run_body(text: str | None = "hello", *, messages: list[dict[str, Any]] | None = None,
             tools: list[dict[str, Any]] | None = None, thread_id: str | None = None,
             **extra: Any) -> dict[str, Any]:
    if messages is None:
        messages = [{"id": str(uuid.uuid4()), "role": "user", "content": text}]
    return {"threadId": thread_id or str(uuid.uuid4()), "runId": str(uuid.uuid4()),
            "messages": messages, "tools": tools or [], "context": [], "state": {},
            "forwardedProps": {}, **extra}


def sse_events(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]


def agui_run(served: ServedRuntime, body: dict[str, Any], agent: str = "chat",
             route: str = "run") -> list[dict[str, Any]]:
    response = httpx.post(f"{served.url}/agent/{agent}/{route}", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return sse_events(response.text)
