"""The translator's ops → GraphQL incremental delivery bytes (multipart/mixed), or one JSON document.

The format is the one graphql-yoga sends and urql merges (graphql-js 17.0.0-alpha.2): the first
part carries ``data`` with the ``@stream``-ed lists empty and the ``@defer``-red fragments left
out; every later part carries ``incremental`` entries: ``{"items": [...], "path": [..., index]}``
for a stream item (the path ends with the item's index) and ``{"data": {...}, "path": [...]}``
for a deferred fragment. The last part has ``"hasNext": false``; the body ends with ``-----``.
See ``graphql-incremental-delivery.md`` and ``transcripts-v1/`` in the reference folder.

What is sent when follows the client's document (its :class:`~.plan.SelectionPlan`), not a
fixed text: a message goes out as soon as every field it selects without ``@defer``/``@stream``
is known (at its start for the CopilotKit client, which streams ``content``/``arguments`` and
defers ``status``), its chunks follow as stream items, its deferred fragments when it ends, and
the response's deferred fragments (``status``) when the run ends. A document that asks for
something only known at the end outside ``@defer``/``@stream`` (or a client that does not accept
``multipart/mixed``) gets the whole result as one JSON document instead (:class:`BufferedEncoder`),
which the spec allows.

Each batch of ops becomes at most one part: one write per batch of ready events.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import Any

from .plan import K_LIST, K_TYPENAME, Deferred, FieldPlan, SelectionPlan, project, project_complete
from .translate import OP_CHUNK, OP_DONE, OP_MESSAGE, OP_MESSAGE_END, OP_META, OutMessage

CONTENT_TYPE = 'multipart/mixed; boundary="-"'
_PART_HEAD = b"\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: "
_FIRST = b"\r\n---"
_TERMINATOR = b"--\r\n"
_CHUNK_FIELDS = frozenset({"content", "arguments"})
_AVAILABLE_AT_START = frozenset({"threadId", "runId", "extensions"})

dumps = json.JSONEncoder(separators=(",", ":"), default=str).encode
_encode_str = json.encoder.encode_basestring_ascii


def part(body: str) -> bytes:
    data = body.encode("utf-8")
    return b"%s%d\r\n\r\n%s\r\n---" % (_PART_HEAD, len(data), data)


@dataclass(slots=True)
class ResponsePlan:
    """How to answer one ``generateCopilotResponse`` document."""

    #: the mutation's root fields: (response key, is __typename)
    root: list[tuple[str, bool]]
    key: str
    response: SelectionPlan
    live: bool


def build_response_plan(root_plan: SelectionPlan) -> ResponsePlan | str:
    """From the plan of the mutation's selection set; a message when the document can't be run."""
    generate = [f for f in root_plan.fields if f.name == "generateCopilotResponse"]
    others = [f for f in root_plan.fields if f.name not in ("generateCopilotResponse", "__typename")]
    if len(generate) != 1 or others:
        return ("A generateCopilotResponse mutation must select generateCopilotResponse exactly "
                "once, and nothing else.")
    field = generate[0]
    assert field.sub is not None
    response = field.sub["CopilotResponse"]
    live = all(
        f.kind == K_TYPENAME or f.name in _AVAILABLE_AT_START
        or (f.name in ("messages", "metaEvents") and f.stream is not None and f.stream[0] == 0)
        for f in response.fields
    )
    root = [(f.key, f.kind == K_TYPENAME) for f in root_plan.fields]
    return ResponsePlan(root, field.key, response, live)


def _readiness(plan: SelectionPlan) -> tuple[bool, int, list[FieldPlan]]:
    """For a message type: (needs the end, chunks needed first, streamed chunk fields)."""
    cached = plan.cache.get("readiness")
    if cached is not None:
        return cached
    needs_end, min_chunks, streamed = False, 0, []
    for f in plan.fields:
        if f.name == "status":
            needs_end = True
        elif f.name in _CHUNK_FIELDS and f.kind == K_LIST:
            if f.stream is None:
                needs_end = True
            else:
                min_chunks = max(min_chunks, f.stream[0])
                streamed.append(f)
    result = (needs_end, min_chunks, streamed)
    plan.cache["readiness"] = result
    return result


def _label(label: str | None) -> str:
    return "" if label is None else ',"label":' + _encode_str(label)


def deferred_entries(work: list[Deferred]) -> list[str]:
    """Incremental entries for deferred fragments (and the ones nested in them)."""
    entries = []
    while work:
        path, label, plan, value = work.pop(0)
        data = project(plan, value, path=path, deferred=work)
        entries.append('{"data":' + dumps(data) + ',"path":' + dumps(path) + _label(label) + "}")
        for d in plan.deferred:
            work.append((path, d.label, d.plan, value))
    return entries


class _Stream:
    """One ``@stream``-ed list of the response (``messages`` or ``metaEvents`` under one key)."""

    __slots__ = ("field", "is_messages", "label", "next_index", "path", "pending", "slot")

    def __init__(self, root_key: str, field: FieldPlan) -> None:
        self.field = field
        self.is_messages = field.name == "messages"
        self.path = [root_key, field.key]
        self.label = _label(field.stream[1] if field.stream else None)
        self.pending: deque[Any] = deque()
        self.next_index = 0
        self.slot = 0


class _ItemState:
    """Where one message stands in one stream."""

    __slots__ = ("chunk_paths", "deferred", "path", "sent", "sent_chunks")

    def __init__(self) -> None:
        self.sent = False
        self.sent_chunks = 0
        self.chunk_paths: list[tuple[str, str]] = []
        self.deferred: list[Any] = []
        self.path: list[Any] = []


class MultipartEncoder:
    """Live incremental delivery for one response (``plan.live`` must be true)."""

    def __init__(self, plan: ResponsePlan, root_value: dict[str, Any]) -> None:
        self.plan = plan
        self.root_value = root_value
        self.streams = [_Stream(plan.key, f) for f in plan.response.fields
                        if f.name in ("messages", "metaEvents")]
        self.message_streams = [s for s in self.streams if s.is_messages]
        for slot, stream in enumerate(self.message_streams):
            stream.slot = slot
        self.meta_streams = [s for s in self.streams if not s.is_messages]
        self.finished = False

    def start(self) -> bytes:
        work: list[Deferred] = []
        data = self._root_data(project(self.plan.response, self.root_value, full=False,
                                       path=[self.plan.key], deferred=work))
        out = _FIRST + part('{"data":' + dumps(data) + ',"hasNext":true}')
        if work:
            out += part('{"incremental":[' + ",".join(deferred_entries(work)) + '],"hasNext":true}')
        return out

    def _root_data(self, response: dict[str, Any] | None) -> dict[str, Any]:
        return {key: ("Mutation" if is_typename else response) for key, is_typename in self.plan.root}

    def encode(self, ops: list[tuple[Any, ...]]) -> bytes:
        """The part for a batch of ops (empty bytes if nothing to send); after ``OP_DONE`` the
        last part and the closing delimiter."""
        entries: list[str] = []
        for op in ops:
            kind = op[0]
            if kind == OP_CHUNK:
                msg: OutMessage = op[1]
                if msg.enc is None:
                    continue
                for stream, state in zip(self.message_streams, msg.enc, strict=True):
                    if state.chunk_paths:
                        self._send_chunks(state, msg, entries)
                    elif not state.sent:
                        self._flush(stream, entries)
            elif kind == OP_MESSAGE:
                msg = op[1]
                self.root_value["messages"].append(msg.fields)
                msg.enc = [_ItemState() for _ in self.message_streams]
                for stream in self.message_streams:
                    stream.pending.append(msg)
                    self._flush(stream, entries)
            elif kind == OP_MESSAGE_END:
                msg = op[1]
                if msg.enc is None:
                    continue
                for stream, state in zip(self.message_streams, msg.enc, strict=True):
                    if not state.sent:
                        self._flush(stream, entries)
                        continue
                    if state.chunk_paths:
                        self._send_chunks(state, msg, entries)
                    if state.deferred:
                        work: list[Deferred] = [(state.path, d.label, d.plan, msg.fields)
                                                for d in state.deferred]
                        entries.extend(deferred_entries(work))
                        state.deferred = []
            elif kind == OP_META:
                self.root_value["metaEvents"].append(op[1])
                for stream in self.meta_streams:
                    stream.pending.append(op[1])
                    self._flush(stream, entries)
            elif kind == OP_DONE:
                self.root_value["status"] = op[1]
                return self._finish(entries)
        if not entries:
            return b""
        return part('{"incremental":[' + ",".join(entries) + '],"hasNext":true}')

    @staticmethod
    def _send_chunks(state: _ItemState, msg: OutMessage, entries: list[str]) -> None:
        chunks = msg.chunks
        assert chunks is not None
        end = len(chunks)
        for index in range(state.sent_chunks, end):
            encoded = _encode_str(chunks[index])
            for head, tail in state.chunk_paths:
                entries.append('{"items":[' + encoded + '],"path":' + head + str(index) + tail)
        state.sent_chunks = end

    def _flush(self, stream: _Stream, entries: list[str]) -> None:
        """Send the stream's waiting items, in order, as far as they are ready."""
        pending = stream.pending
        while pending:
            item = pending[0]
            if stream.is_messages:
                if not self._send_message(stream, item, entries):
                    return
            else:
                self._send_complete(stream, item, entries)
            pending.popleft()
            stream.next_index += 1

    def _send_message(self, stream: _Stream, msg: OutMessage, entries: list[str]) -> bool:
        sub = stream.field.sub
        assert sub is not None
        plan = sub[msg.typename]
        state: _ItemState = msg.enc[stream.slot]
        complete = msg.fields["status"] is not None
        needs_end, min_chunks, streamed = _readiness(plan)
        if not complete and (needs_end or len(msg.chunks or ()) < min_chunks):
            return False
        path = [*stream.path, stream.next_index]
        work: list[Deferred] = []
        item = project(plan, msg.fields, full=complete, path=path, deferred=work)
        entries.append('{"items":[' + dumps(item) + '],"path":' + dumps(path) + stream.label + "}")
        state.sent = True
        state.path = path
        if complete:
            work.extend((path, d.label, d.plan, msg.fields) for d in plan.deferred)
        else:
            state.deferred = list(plan.deferred)
            head = dumps(path)[:-1] + ","
            for f in streamed:
                assert f.stream is not None
                state.chunk_paths.append((head + _encode_str(f.key) + ",",
                                          "]" + _label(f.stream[1]) + "}"))
            state.sent_chunks = min(min_chunks, len(msg.chunks or ()))
        if work:
            entries.extend(deferred_entries(work))
        if state.chunk_paths and len(msg.chunks or ()) > state.sent_chunks:
            self._send_chunks(state, msg, entries)
        return True

    def _send_complete(self, stream: _Stream, value: dict[str, Any], entries: list[str]) -> None:
        sub = stream.field.sub
        assert sub is not None
        plan = sub[value["__typename"]]
        path = [*stream.path, stream.next_index]
        work: list[Deferred] = []
        item = project(plan, value, path=path, deferred=work)
        entries.append('{"items":[' + dumps(item) + '],"path":' + dumps(path) + stream.label + "}")
        work.extend((path, d.label, d.plan, value) for d in plan.deferred)
        if work:
            entries.extend(deferred_entries(work))

    def _finish(self, entries: list[str]) -> bytes:
        for stream in self.streams:
            self._flush(stream, entries)
        work: list[Deferred] = [([self.plan.key], d.label, d.plan, self.root_value)
                                for d in self.plan.response.deferred]
        entries.extend(deferred_entries(work))
        self.finished = True
        if entries:
            body = '{"incremental":[' + ",".join(entries) + '],"hasNext":false}'
        else:
            body = '{"hasNext":false}'
        return part(body) + _TERMINATOR


class BufferedEncoder:
    """The whole result as one JSON document, produced when the run ends."""

    def __init__(self, plan: ResponsePlan, root_value: dict[str, Any]) -> None:
        self.plan = plan
        self.root_value = root_value
        self.finished = False

    def feed(self, ops: list[tuple[Any, ...]]) -> None:
        for op in ops:
            kind = op[0]
            if kind == OP_MESSAGE:
                self.root_value["messages"].append(op[1].fields)
            elif kind == OP_META:
                self.root_value["metaEvents"].append(op[1])
            elif kind == OP_DONE:
                self.root_value["status"] = op[1]
                self.finished = True

    def result(self) -> bytes:
        response = project_complete(self.plan.response, self.root_value)
        data = {key: ("Mutation" if is_typename else response) for key, is_typename in self.plan.root}
        return dumps({"data": data}).encode("utf-8")
