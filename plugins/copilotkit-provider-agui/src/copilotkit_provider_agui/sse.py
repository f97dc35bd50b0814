"""A small, strict Server-Sent Events reader: the ``data`` of each event, as bytes.

Lines are split on ``\\n`` (a ``\\r`` before it is dropped). ``data:`` lines of one event are
joined with ``\\n``; comments (``:``) and the ``event``, ``id`` and ``retry`` fields are
skipped (AG-UI servers put the event type in the JSON). An event bigger than ``max_event_bytes``
is an :class:`SSEError` rather than unbounded memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator


class SSEError(Exception):
    """The byte stream is not a usable SSE stream."""


async def iter_sse_data(chunks: AsyncIterable[bytes], *,
                        max_event_bytes: int = 8 * 1024 * 1024) -> AsyncIterator[bytes]:
    pending = b""
    data: list[bytes] = []
    size = 0
    async for chunk in chunks:
        if pending:
            chunk = pending + chunk
        lines = chunk.split(b"\n")
        pending = lines.pop()
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data:
                    yield data[0] if len(data) == 1 else b"\n".join(data)
                    data = []
                    size = 0
                continue
            if line.startswith(b"data:"):
                value = line[5:]
                if value.startswith(b" "):
                    value = value[1:]
                size += len(value)
                if size > max_event_bytes:
                    raise SSEError(f"an event is larger than {max_event_bytes} bytes")
                data.append(value)
            # comments, event:, id:, retry: and unknown fields are ignored (as the spec says)
        if len(pending) > max_event_bytes:
            raise SSEError(f"a line is longer than {max_event_bytes} bytes")
    if pending.rstrip(b"\r").startswith(b"data:"):
        value = pending.rstrip(b"\r")[5:]
        data.append(value[1:] if value.startswith(b" ") else value)
    if data:
        # The stream ended without the blank line that closes the last event: deliver it
        # anyway; whether the run was complete is the caller's to judge.
        yield b"\n".join(data)
