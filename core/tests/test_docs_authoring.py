"""docs/authoring.md stays true: its curl examples run against a real runtime, and every
name it promises from copilotkit_runtime.testing exists."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import copilotkit_runtime.testing as testing
from copilotkit_runtime.testing import RuntimeClient, make_runtime, parse_sse, scripted_plugin

pytestmark = pytest.mark.anyio

DOC = (Path(__file__).parents[2] / "docs" / "authoring.md").read_text()


def curl_bodies() -> list[tuple[str, dict[str, Any]]]:
    """(path, JSON body) of every ``curl ... -d '...'`` in the page."""
    out = []
    for command in re.findall(r"^curl .*?(?=^curl |^```)", DOC, flags=re.S | re.M):
        body = re.search(r"-d '(.*?)'", command, flags=re.S)
        if body is None:
            continue
        path = re.search(r"http://localhost:8000(\S*)", command)
        assert path is not None, command
        out.append((path.group(1), json.loads(body.group(1))))
    return out


async def test_the_curl_examples_work(tmp_path: Path) -> None:
    bodies = curl_bodies()
    assert len(bodies) == 3, bodies
    runtime = make_runtime({"agents": {"echo": {"provider": "scripted", "mode": "say"}}},
                           plugins={"scripted": scripted_plugin}, tmp_path=tmp_path)
    async with RuntimeClient(runtime) as client:
        run_path, run_body = bodies[0]
        response = await client.http.post(run_path, json=run_body,
                                          headers={"accept": "text/event-stream"})
        events = parse_sse(response.text)
        assert events[-1]["type"] == "RUN_FINISHED"
        assert any(e.get("delta") == "hi" for e in events)
        single = await client.single_route("agent/run", {"agentId": "echo"},
                                           {**run_body, "threadId": "t2"})
        assert parse_sse(single.text)[-1]["type"] == "RUN_FINISHED"
        stream_path, document = bodies[1]
        streamed = await client.http.post(stream_path, json=document,
                                          headers={"accept": "multipart/mixed"})
        assert streamed.status_code == 200
        assert streamed.headers["content-type"].startswith("multipart/mixed")
        assert '"content":["hi"]' in streamed.text, streamed.text
        assert '"status":{"code":"Success"}' in streamed.text, streamed.text
        agents_path, query = bodies[2]
        answer = (await client.http.post(agents_path, json=query)).json()
        assert answer["data"]["availableAgents"]["agents"][0]["name"] == "echo"


def test_every_testing_name_the_page_uses_exists() -> None:
    section = DOC[DOC.index("## Testing: `copilotkit_runtime.testing`"):]
    promised = {"ProviderContract", "StoreContract", "GuardrailContract", "MiddlewareContract",
                "make_provider", "provider_context", "make_runtime", "RuntimeClient",
                "serve_runtime", "ScriptedProvider", "scripted_plugin", "run_request",
                "collect_events"}
    for name in promised:
        assert f"`{name}" in section, f"{name} is not documented"
        assert hasattr(testing, name), f"copilotkit_runtime.testing.{name} is gone"
