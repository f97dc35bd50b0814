"""Many generateCopilotResponse streams at once over real HTTP, each assembled and checked.

Nested ``@stream`` inside ``@stream`` with ``@defer`` is where graphql-core has had deadlocks
(graphql-core#260); our encoder does not execute the document per item, and this shows that
hundreds of interleaved streams all complete with the right content.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from incremental_merge import merge, parts

from copilotkit_runtime.testing import ServedRuntime, make_runtime, scripted_plugin, serve_runtime

GENERATE = (Path(__file__).parent / "fixtures" / "generate-copilot-response.graphql").read_text()
ACCEPT = "application/graphql-response+json, application/json, multipart/mixed"
STREAMS = 200
CHUNKS = 40


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRuntime]:
    runtime = make_runtime({"agents": {
        "many": {"provider": "scripted", "chunks": CHUNKS, "delay": 0.001},
        "stateful": {"provider": "scripted", "mode": "count"},
    }}, plugins={"scripted": scripted_plugin}, tmp_path=tmp_path_factory.mktemp("load"), load_entry_points=True)
    with serve_runtime(runtime) as server:
        yield server


def body_for(agent: str, thread: str) -> dict[str, Any]:
    return {"operationName": "generateCopilotResponse", "query": GENERATE, "variables": {"properties": {}, "data": {
        "frontend": {"actions": [], "url": "http://localhost"}, "threadId": thread, "runId": None,
        "extensions": {}, "metaEvents": [], "metadata": {"requestType": "Chat"},
        "agentSession": {"agentName": agent}, "agentStates": [], "forwardedParameters": {},
        "context": [],
        "messages": [{"id": str(uuid.uuid4()), "createdAt": "2026-11-22T02:09:29.494Z",
                      "textMessage": {"content": "go", "role": "user"}}]}}}


async def one_stream(client: httpx.AsyncClient, url: str, agent: str) -> dict[str, Any]:
    thread = str(uuid.uuid4())
    response = await client.post(url, json=body_for(agent, thread), headers={"accept": ACCEPT})
    assert response.status_code == 200
    assert response.headers["content-type"] == 'multipart/mixed; boundary="-"'
    result = merge(parts(response.content))["data"]["generateCopilotResponse"]
    assert result["threadId"] == thread
    return result


@pytest.mark.slow
def test_many_concurrent_streams_all_complete_correctly(served: ServedRuntime) -> None:
    async def main() -> list[dict[str, Any]]:
        limits = httpx.Limits(max_connections=STREAMS, max_keepalive_connections=STREAMS)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:
            agents = ["many" if i % 4 else "stateful" for i in range(STREAMS)]
            return await asyncio.gather(*(one_stream(client, served.url, a) for a in agents))

    results = asyncio.run(main())
    expected = "".join(f"w{i} " for i in range(CHUNKS))
    for i, result in enumerate(results):
        assert result["status"] == {"code": "Success", "__typename": "SuccessResponseStatus"}
        texts = [m for m in result["messages"] if m["__typename"] == "TextMessageOutput"]
        assert all(m["status"]["code"] == "Success" for m in result["messages"])
        if i % 4:
            [text] = texts
            assert "".join(text["content"]) == expected
            assert len(text["content"]) == CHUNKS
        else:
            assert "".join(texts[0]["content"]) == "Count is 1."
            last_state = [m for m in result["messages"] if m["__typename"] == "AgentStateMessageOutput"][-1]
            assert json.loads(last_state["state"]) == {"count": 1, "status": "done"}
    assert not served.runtime.engine.active_runs
