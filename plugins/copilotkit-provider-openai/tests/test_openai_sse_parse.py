"""The plugin's server-sent-events reader (``_sse_data``) on byte streams cut at awkward places.

The chat tests cover it over real HTTP against the fake server (one event per write); these
cover what real servers and proxies do too: CRLF line ends, events split across reads, several
events in one read, comments, multi-line data, named events, no blank line at the very end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from copilotkit_provider_openai.model import _sse_data


def _collect(*pieces: bytes) -> list[str]:
    async def body() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    async def read() -> list[str]:
        response = httpx.Response(200, content=body())
        return [data.decode() async for data in _sse_data(response)]

    return asyncio.run(read())


def test_sse_events_split_and_joined_across_reads() -> None:
    stream = b'data: {"a": 1}\n\ndata: {"b": 2}\n\n: keep-alive comment\n\ndata: [DONE]\n\n'
    whole = _collect(stream)
    assert whole == ['{"a": 1}', '{"b": 2}', "[DONE]"]
    for cut in range(1, len(stream)):
        assert _collect(stream[:cut], stream[cut:]) == whole, cut
    assert _collect(*[bytes([b]) for b in stream]) == whole


def test_sse_crlf_multiline_named_events_and_unterminated_end() -> None:
    stream = (b"data: one\r\n\r\n"
              b"data:two-no-space\r\n\r\n"
              b"data: first line\r\ndata: second line\r\n\r\n"
              b"event: ping\r\ndata: skipped\r\n\r\n"
              b"event: message\ndata: kept\n\n"
              b"data: [DONE]")
    assert _collect(stream) == ["one", "two-no-space", "first line\nsecond line", "kept",
                                      "[DONE]"]


def test_sse_error_event_raises() -> None:
    with pytest.raises(ValueError, match="error event"):
        _collect(b'data: {"a": 1}\n\nevent: error\ndata: {"message": "overloaded"}\n\n')
