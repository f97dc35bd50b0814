"""A streaming response that costs less per open stream than Starlette's.

Starlette's :class:`~starlette.responses.StreamingResponse` (on ASGI servers below spec 2.4,
uvicorn among them) watches for the client going away with an anyio task group: a second
task, a cancel scope, an event, closures and a context manager for each open stream.
:class:`EventStream` does the same with one plain asyncio task that waits for
``http.disconnect`` and then cancels the streaming: the client going away still ends the
stream at once (and so cancels a GraphQL run, whose reader it is), idle or not.

**Streaming outside the routing.** A response is sent from inside every layer that routed the
request to it (the exception middleware, FastAPI's routers and exit stacks, the route's own
wrappers): for a stream held open for minutes, those suspended frames are a few KB per
stream. When an outer layer offers a place for it in the scope (:data:`DEFERRED`, set by
:func:`streaming_outside`, which :func:`copilotkit_runtime.server.create_app` wraps around the
app's middleware), an :class:`EventStream` leaves itself there and returns; that layer then
sends it once the routing has returned, through the same (already wrapped) ``send`` and
``receive``. What the skipped layers do after a response (nothing for a stream that has
started: they only handle exceptions raised before the response starts) is not lost.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable

from starlette.responses import StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

#: the scope key of the place an outer layer offers for a stream to be sent from
DEFERRED = "copilotkit.deferred_stream"


async def streaming_outside(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Call ``app``; then send the :class:`EventStream` it left in the scope, if any."""
    deferred: list[Callable[[], Awaitable[None]]] = []
    scope[DEFERRED] = deferred
    await app(scope, receive, send)
    if deferred:
        # The routing is over: FastAPI's exit stack (closed by now) need not live as long as
        # the stream does.
        scope.pop("fastapi_middleware_astack", None)
        await deferred.pop()()


class EventStream(StreamingResponse):
    """:class:`StreamingResponse` with a lighter disconnect watcher (same behaviour)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        deferred = scope.get(DEFERRED)
        if type(deferred) is list and not deferred:
            deferred.append(functools.partial(self._send, scope, receive, send))
            return
        await self._send(scope, receive, send)

    async def _send(self, scope: Scope, receive: Receive, send: Send) -> None:
        version = scope.get("asgi", {}).get("spec_version", "2.0")
        me = asyncio.current_task()
        if scope["type"] != "http" or me is None or tuple(map(int, version.split("."))) >= (2, 4):
            await super().__call__(scope, receive, send)
            return
        gone = False

        async def watch() -> None:
            nonlocal gone
            while (await receive())["type"] != "http.disconnect":
                pass
            gone = True
            me.cancel()

        watcher = asyncio.get_running_loop().create_task(watch())
        try:
            await self.stream_response(send)
        except asyncio.CancelledError:
            # Our own cancel (the client went away) ends the stream quietly, as Starlette's
            # task group does; any other cancel goes on.
            if not gone or me.uncancel() > 0:
                raise
        finally:
            watcher.cancel()
        if self.background is not None:
            await self.background()
