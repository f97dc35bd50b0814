"""GraphQL documents: size capped apart from the body limit, cache bounded by bytes, big
parses off the event loop (issue 13, defect 5)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx

from copilotkit_runtime.config import LimitSettings
from copilotkit_runtime.graphql.documents import COST_PER_BYTE, PARSE_ON_LOOP_BYTES, DocumentCache
from copilotkit_runtime.graphql.schema import get_schema
from copilotkit_runtime.testing import make_runtime, serve_runtime


def big_query(i: int, size: int) -> str:
    """A valid query whose text is ``size`` bytes, nearly all of it one string literal
    (one token: the token limit does not stop it)."""
    head, tail = f'query Q{i} {{ __type(name: "', '") { name } }'
    return head + "y" * (size - len(head) - len(tail)) + tail


def test_a_document_over_max_query_bytes_is_refused_within_the_body_limit() -> None:
    runtime = make_runtime({"limits": {"max_query_bytes": 20_000, "max_body_bytes": 1_000_000}}, load_entry_points=True)
    with serve_runtime(runtime) as served:
        response = httpx.post(served.url, json={"query": big_query(0, 50_000)}, timeout=10)
        assert response.status_code == 200
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "QUERY_TOO_LARGE"
        assert "limits.max_query_bytes" in error["message"]
        small = httpx.post(served.url, json={"query": "{ __typename }"}, timeout=10)
        assert small.json() == {"data": {"__typename": "Query"}}


def test_the_cache_is_bounded_by_bytes_not_only_by_entries() -> None:
    limit = 1_500_000
    cache = DocumentCache(get_schema(), LimitSettings(document_cache_bytes=limit,
                                                      max_query_bytes=100_000))
    for i in range(12):
        query = big_query(i, 60_000)
        assert cache.get(query).errors is None
        assert cache.bytes <= limit
    assert 0 < len(cache._entries) <= limit // (60_000 * COST_PER_BYTE)
    # The most recent document is the one kept.
    assert query in cache._entries


def test_a_document_bigger_than_the_whole_cache_is_answered_but_not_kept() -> None:
    cache = DocumentCache(get_schema(), LimitSettings(document_cache_bytes=1_000))
    assert cache.get("{ __typename }").errors is None
    assert cache.get(big_query(1, 5_000)).errors is None
    assert list(cache._entries) == ["{ __typename }"]


class RecordingCache(DocumentCache):
    """Records the thread each document is prepared on."""

    threads: dict[int, int]

    def _prepare(self, query: str) -> Any:
        self.threads[len(query)] = threading.get_ident()
        return super()._prepare(query)


def test_big_documents_are_parsed_off_the_event_loop() -> None:
    cache = RecordingCache(get_schema(), LimitSettings())
    cache.threads = {}
    small, big = "{ __typename }", big_query(2, PARSE_ON_LOOP_BYTES * 4)

    async def main() -> int:
        assert (await cache.aget(small)).errors is None
        assert (await cache.aget(big)).errors is None
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert cache.threads[len(small)] == loop_thread
    assert cache.threads[len(big)] != loop_thread
