"""The AG-UI thread endpoints: a user's thread list, a thread's messages, history and state,
rename, archive, delete and clear (``/info.threadEndpoints``).

Every endpoint acts for the request's principal only: another owner's thread is answered
``404 Thread not found``, exactly as an unknown id. Reached over multi-route paths
(``GET {base}/threads?agentId=A``) or through the single-route ``resource/request`` envelope.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

from starlette.responses import JSONResponse, Response

from ..errors import StoreError, ThreadNotFoundError
from ..stores import InvalidCursorError, ThreadInfo
from ..threads import owner_of
from . import errors
from .endpoints import AguiCall, resolve_agent, thread_not_found

#: most threads one page may hold (``limit``), and the default
MAX_PAGE, DEFAULT_PAGE = 100, 50
#: longest name a rename accepts
MAX_NAME = 200


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def thread_json(info: ThreadInfo) -> dict[str, Any]:
    return {"id": info.thread_id, "name": info.name, "agentId": info.agent,
            "organizationId": "", "createdById": info.owner, "archived": info.archived,
            "createdAt": _iso(info.created_at), "updatedAt": _iso(info.updated_at)}


_not_found = thread_not_found


def _unavailable() -> JSONResponse:
    return errors.error_response("Threads not available",
                                 "This server's store does not keep threads per user.", 404)


def _store_failed(what: str, exc: StoreError) -> JSONResponse:
    return errors.server_error(what, exc.message)


async def _owned(call: AguiCall) -> ThreadInfo | JSONResponse:
    """The thread of the path, if it is the caller's; else the 404 to answer."""
    thread_id = call.params["threadId"]
    engine = call.runtime.engine
    if not engine.keeps_owners:
        return _unavailable()
    try:
        info = await engine.thread_info(thread_id, owner_of(call.context.principal))
    except ThreadNotFoundError:
        return _not_found(thread_id)
    except StoreError as exc:
        return _store_failed("Failed to read thread", exc)
    return info if info is not None else _not_found(thread_id)


def _flatten_tool_calls(message: dict[str, Any]) -> dict[str, Any]:
    calls = message.get("toolCalls")
    if not calls:
        return message
    flat = []
    for call in calls:
        function = call.get("function") or {}
        args: Any = function.get("arguments", "")
        with contextlib.suppress(ValueError):
            args = json.loads(args) if isinstance(args, str) and args else args
        flat.append({"id": call.get("id"), "name": function.get("name"), "args": args})
    return {**message, "toolCalls": flat}


# -- endpoints ---------------------------------------------------------------------------------

async def list_endpoint(call: AguiCall) -> Response:
    runtime = call.runtime
    if not runtime.engine.keeps_owners:
        return _unavailable()
    query = call.query
    agent = None
    agent_id = query.get("agentId")
    if agent_id:
        agent = resolve_agent(runtime, agent_id)
        if agent is None:
            return errors.agent_not_found(agent_id)
    raw_limit = query.get("limit", str(DEFAULT_PAGE))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_PAGE:
        return errors.error_response("Invalid limit",
                                     f"limit must be a whole number from 1 to {MAX_PAGE}")
    include_archived = query.get("includeArchived", "false").lower() in ("true", "1")
    try:
        page = await runtime.store.list_threads(
            owner_of(call.context.principal), agent=agent, limit=int(raw_limit),
            cursor=query.get("cursor") or None, include_archived=include_archived)
    except InvalidCursorError as exc:
        return errors.error_response("Invalid cursor", str(exc))
    except StoreError as exc:
        return _store_failed("Failed to list threads", exc)
    return JSONResponse({"threads": [thread_json(info) for info in page.threads],
                         "nextCursor": page.next_cursor})


async def get_endpoint(call: AguiCall) -> Response:
    info = await _owned(call)
    return info if isinstance(info, JSONResponse) else JSONResponse(thread_json(info))


async def messages_endpoint(call: AguiCall) -> Response:
    info = await _owned(call)
    if isinstance(info, JSONResponse):
        return info
    try:
        snapshot = await call.runtime.engine.load_thread(info.agent, info.thread_id, info.owner)
    except StoreError as exc:
        return _store_failed("Failed to read thread", exc)
    return JSONResponse({"messages": [_flatten_tool_calls(m) for m in snapshot.messages]})


async def events_endpoint(call: AguiCall) -> Response:
    info = await _owned(call)
    if isinstance(info, JSONResponse):
        return info
    try:
        history = await call.runtime.engine.thread_events(info.thread_id)
    except StoreError as exc:
        return _store_failed("Failed to read thread", exc)
    return JSONResponse({"events": [stored.event for stored in history]})


async def state_endpoint(call: AguiCall) -> Response:
    info = await _owned(call)
    if isinstance(info, JSONResponse):
        return info
    try:
        snapshot = await call.runtime.engine.load_thread(info.agent, info.thread_id, info.owner)
    except StoreError as exc:
        return _store_failed("Failed to read thread", exc)
    return JSONResponse({"state": snapshot.state if snapshot.exists else None})


def _changes(body: Any) -> dict[str, Any] | JSONResponse:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        return errors.invalid_body("the body must be a JSON object")
    unknown = set(body) - {"agentId", "name", "archived"}
    if unknown:
        return errors.invalid_body(f"unknown field(s): {', '.join(sorted(unknown))}")
    changes: dict[str, Any] = {}
    if "name" in body:
        name = body["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
            return errors.invalid_body(f"name must be a non-empty string of at most {MAX_NAME} "
                                       "characters")
        changes["name"] = " ".join(name.split())
    if "archived" in body:
        if not isinstance(body["archived"], bool):
            return errors.invalid_body("archived must be true or false")
        changes["archived"] = body["archived"]
    if not changes:
        return errors.invalid_body("nothing to change: give name and/or archived")
    return changes


async def _update(call: AguiCall, changes: dict[str, Any]) -> Response:
    info = await _owned(call)
    if isinstance(info, JSONResponse):
        return info
    try:
        updated = await call.runtime.store.update_thread_info(info.thread_id, **changes)
    except StoreError as exc:
        return _store_failed("Failed to update thread", exc)
    if updated is None:  # deleted in between
        return _not_found(info.thread_id)
    return JSONResponse(thread_json(updated))


async def patch_endpoint(call: AguiCall) -> Response:
    changes = _changes(call.body)
    if isinstance(changes, JSONResponse):
        return changes
    return await _update(call, changes)


async def archive_endpoint(call: AguiCall) -> Response:
    return await _update(call, {"archived": True})


async def delete_endpoint(call: AguiCall) -> Response:
    info = await _owned(call)
    if isinstance(info, JSONResponse):
        return info
    try:
        deleted = await call.runtime.engine.delete_thread(info.thread_id)
    except StoreError as exc:
        return _store_failed("Failed to delete thread", exc)
    if not deleted:
        return errors.thread_busy(f"Thread '{info.thread_id}' has a run in progress: stop it "
                                  "before deleting the thread.")
    return Response(status_code=204)


async def clear_endpoint(call: AguiCall) -> Response:
    """Delete every thread of the caller (of ``agentId`` only, when the body names one);
    threads with a run in progress are left, and listed in ``busy``."""
    runtime = call.runtime
    if not runtime.engine.keeps_owners:
        return _unavailable()
    body = call.body if isinstance(call.body, dict) else {}
    agent = None
    if body.get("agentId"):
        agent = resolve_agent(runtime, str(body["agentId"]))
        if agent is None:
            return errors.agent_not_found(str(body["agentId"]))
    owner = owner_of(call.context.principal)
    deleted, busy = 0, []
    cursor = None
    try:
        while True:
            page = await runtime.store.list_threads(owner, agent=agent, limit=MAX_PAGE,
                                                    cursor=cursor, include_archived=True)
            for info in page.threads:
                if await runtime.engine.delete_thread(info.thread_id):
                    deleted += 1
                else:
                    busy.append(info.thread_id)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    except StoreError as exc:
        return _store_failed("Failed to clear threads", exc)
    return JSONResponse({"deleted": deleted, "busy": busy})
