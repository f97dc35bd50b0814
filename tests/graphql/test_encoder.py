"""The incremental encoder: the client's document decides the shape; urql's merge gets the result.

``merge`` below does what urql 5 does with the old incremental format (items written at the index
their path ends with, deferred data merged at its path), so these tests check what a client
assembles, not just the bytes.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from graphql.execution.values import get_variable_values
from incremental_merge import merge, parts

from copilotkit_runtime.config import LimitSettings
from copilotkit_runtime.events import (
    COPILOTKIT_INTERRUPT_EVENT,
    INTERRUPT_EVENT,
    CustomEvent,
    RunErrorEvent,
    RunFinishedEvent,
    StateSnapshotEvent,
    StepStartedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    text_message,
    tool_call,
)
from copilotkit_runtime.graphql import get_schema
from copilotkit_runtime.graphql.documents import DocumentCache
from copilotkit_runtime.graphql.encoder import (
    BufferedEncoder,
    MultipartEncoder,
    ResponsePlan,
    build_response_plan,
)
from copilotkit_runtime.graphql.plan import Planner
from copilotkit_runtime.graphql.translate import Translator

CLIENT_DOCUMENT = (Path(__file__).parent / "fixtures" / "generate-copilot-response.graphql").read_text()
DATA = {"metadata": {}, "messages": [], "frontend": {"actions": []}}
NOW = "2026-11-22T02:09:29.570Z"


def response_plan(query: str, variables: dict[str, Any] | None = None) -> ResponsePlan:
    schema = get_schema()
    prepared = DocumentCache(schema, LimitSettings()).get(query)
    assert not prepared.errors, prepared.errors
    operation = prepared.operation(None)
    assert not isinstance(operation, str)
    coerced = get_variable_values(schema, operation.variable_definitions, {"data": DATA, **(variables or {})})
    assert not isinstance(coerced, list), coerced
    root = Planner(schema, prepared.fragments, coerced).plan(schema.mutation_type, [operation.selection_set])
    plan = build_response_plan(root)
    assert not isinstance(plan, str)
    return plan


def root_value() -> dict[str, Any]:
    return {"__typename": "CopilotResponse", "threadId": "t1", "runId": None, "extensions": None,
            "messages": [], "metaEvents": [], "status": None}


def translator(**kwargs: Any) -> Translator:
    ids = iter(range(1000))
    return Translator(thread_id="t1", run_id="r1", agent_name="agent", clock=lambda: NOW,
                      make_id=lambda: f"ck-{next(ids)}", **kwargs)


def encode(plan: ResponsePlan, batches: list[list[Any]], **kwargs: Any) -> tuple[bytes, dict[str, Any]]:
    """(multipart body, buffered result) for the same events."""
    live_t, buffered_t = translator(**kwargs), translator(**kwargs)
    live = MultipartEncoder(plan, root_value())
    buffered = BufferedEncoder(plan, root_value())
    body = live.start()
    for batch in batches:
        body += live.encode(live_t.feed(batch))
        buffered.feed(buffered_t.feed(copy.deepcopy(batch)))
    assert live.finished and buffered.finished
    return body, json.loads(buffered.result())


def finished() -> RunFinishedEvent:
    return RunFinishedEvent(thread_id="t1", run_id="r1")


CHAT = [[TextMessageStartEvent(message_id="m1", role="assistant"),
         TextMessageContentEvent(message_id="m1", delta="Echo: hi.")],
        [TextMessageContentEvent(message_id="m1", delta=" token1")],
        [TextMessageContentEvent(message_id="m1", delta=" token\u00e9\"2")],
        [TextMessageEndEvent(message_id="m1"), finished()]]


def test_chat_is_framed_like_the_reference() -> None:
    body, _ = encode(response_plan(CLIENT_DOCUMENT), CHAT, emit_state=False)
    payloads = parts(body)
    assert payloads[0] == {"data": {"generateCopilotResponse": {
        "threadId": "t1", "runId": None, "extensions": None, "messages": [], "metaEvents": [],
        "__typename": "CopilotResponse"}}, "hasNext": True}
    item, first_chunk = payloads[1]["incremental"]
    assert item == {"items": [{"__typename": "TextMessageOutput", "id": "m1", "createdAt": NOW,
                               "content": [], "role": "assistant", "parentMessageId": None}],
                    "path": ["generateCopilotResponse", "messages", 0]}
    assert first_chunk == {"items": ["Echo: hi."], "path": ["generateCopilotResponse", "messages", 0, "content", 0]}
    assert payloads[2]["incremental"] == [{"items": [" token1"], "path": ["generateCopilotResponse", "messages", 0, "content", 1]}]
    assert payloads[3]["incremental"][0]["items"] == [" token\u00e9\"2"]
    assert payloads[-1] == {"incremental": [
        {"data": {"status": {"code": "Success", "__typename": "SuccessMessageStatus"},
                  "__typename": "TextMessageOutput"}, "path": ["generateCopilotResponse", "messages", 0]},
        {"data": {"status": {"code": "Success", "__typename": "SuccessResponseStatus"},
                  "__typename": "CopilotResponse"}, "path": ["generateCopilotResponse"]},
    ], "hasNext": False}


def scenarios() -> dict[str, list[Any]]:
    return {
        "chat": [e for batch in CHAT for e in batch],
        "action": [*tool_call("setColor", ['{"c":', '"red"}'], tool_call_id="tc1"), finished()],
        "agent": [StepStartedEvent(step_name="a"), StateSnapshotEvent(snapshot={"n": 1}),
                  *text_message(["x", "y"], "m1"), StateSnapshotEvent(snapshot={"n": 2}), finished()],
        "interrupts": [CustomEvent(name=INTERRUPT_EVENT, value={"q": 1}),
                       CustomEvent(name=COPILOTKIT_INTERRUPT_EVENT, value={
                           "value": "ok?", "messages": [{"id": "q", "role": "assistant", "content": "ok?"}]}),
                       finished()],
        "failure": [*text_message(["a", "b"], "m1")[:2], TextMessageEndEvent(message_id="m1"),
                    RunErrorEvent(message="boom", code="AGENT_ERROR")],
    }


@pytest.mark.parametrize("name", sorted(scenarios()))
@pytest.mark.parametrize("batching", ["one-by-one", "all-at-once"])
def test_the_merged_stream_equals_the_whole_result(name: str, batching: str) -> None:
    events = scenarios()[name]
    batches = [[e] for e in events] if batching == "one-by-one" else [events]
    body, whole = encode(response_plan(CLIENT_DOCUMENT), batches, emit_state=True)
    assert merge(parts(body)) == whole
    response = whole["data"]["generateCopilotResponse"]
    assert response["status"]["code"] in ("Success", "Failed")
    assert all(m["status"]["code"] in ("Success", "Failed") for m in response["messages"])


def test_deferred_statuses_of_interrupt_messages_have_their_full_path() -> None:
    body, _ = encode(response_plan(CLIENT_DOCUMENT), [scenarios()["interrupts"]])
    entries = [e for p in parts(body)[1:] for e in p.get("incremental", ())]
    paths = [e["path"] for e in entries if "data" in e]
    assert ["generateCopilotResponse", "metaEvents", 1, "data", "messages", 0] in paths


ALIASED = """
mutation Gen($data: GenerateCopilotResponseInput!, $withRun: Boolean!) {
  reply: generateCopilotResponse(data: $data) {
    thread: threadId
    runId @include(if: $withRun)
    ... Status @defer(label: "status")
    msgs: messages @stream {
      kind: __typename
      ...Text
    }
  }
}
fragment Status on CopilotResponse { status { ... on BaseResponseStatus { code } } }
fragment Text on TextMessageOutput {
  words: content @stream
  state: status { ... on SuccessMessageStatus { code } }
}
"""


def test_aliases_fragments_labels_and_skip_are_honoured() -> None:
    plan = response_plan(ALIASED.replace("state: status { ... on SuccessMessageStatus { code } }", ""),
                         {"withRun": False})
    body, whole = encode(plan, [[e] for e in scenarios()["chat"]], emit_state=False)
    payloads = parts(body)
    assert payloads[0]["data"] == {"reply": {"thread": "t1", "msgs": []}}
    entries = [e for p in payloads[1:] for e in p.get("incremental", ())]
    assert entries[0] == {"items": [{"kind": "TextMessageOutput", "words": []}], "path": ["reply", "msgs", 0]}
    assert entries[1] == {"items": ["Echo: hi."], "path": ["reply", "msgs", 0, "words", 0]}
    assert entries[-1] == {"data": {"status": {"code": "Success"}}, "path": ["reply"], "label": "status"}
    assert merge(payloads) == whole == {"data": {"reply": {
        "thread": "t1", "msgs": [{"kind": "TextMessageOutput", "words": ["Echo: hi.", " token1", ' token\u00e9"2']}],
        "status": {"code": "Success"}}}}
    with_run = response_plan(ALIASED, {"withRun": True})
    assert [f.key for f in with_run.response.fields] == ["thread", "runId", "msgs"]


def test_a_message_status_outside_defer_sends_the_message_when_it_ends() -> None:
    plan = response_plan(ALIASED, {"withRun": False})
    assert plan.live  # the response still streams; only the message waits
    payloads = parts(encode(plan, [[e] for e in scenarios()["chat"]], emit_state=False)[0])
    entries = [e for p in payloads[1:] for e in p.get("incremental", ())]
    assert entries[0] == {"items": [{"kind": "TextMessageOutput",
                                     "words": ["Echo: hi.", " token1", ' token\u00e9"2'],
                                     "state": {"code": "Success"}}], "path": ["reply", "msgs", 0]}


def test_content_without_stream_waits_for_the_end_of_its_message() -> None:
    document = CLIENT_DOCUMENT.replace("content @stream", "content", 1)
    body, whole = encode(response_plan(document), CHAT, emit_state=False)
    payloads = parts(body)
    assert [p.get("incremental") for p in payloads[1:-1]] == []  # nothing until the message ended
    assert payloads[-1]["incremental"][0]["items"][0]["content"] == ["Echo: hi.", " token1", ' token\u00e9"2']
    assert merge(payloads) == whole


def test_an_initial_count_holds_the_item_until_it_has_that_many_chunks() -> None:
    document = CLIENT_DOCUMENT.replace("content @stream", "content @stream(initialCount: 2)", 1)
    payloads = parts(encode(response_plan(document), CHAT, emit_state=False)[0])
    first_item = payloads[1]["incremental"][0]
    assert first_item["items"][0]["content"] == ["Echo: hi.", " token1"]
    assert payloads[2]["incremental"][0]["path"][-1] == 2


def test_a_document_without_defer_and_stream_is_answered_in_one_piece() -> None:
    document = CLIENT_DOCUMENT.replace(" @defer", "").replace(" @stream", "")
    assert response_plan(document).live is False
    message_stream_with_initial_count = CLIENT_DOCUMENT.replace("messages @stream", "messages @stream(initialCount: 1)")
    assert response_plan(message_stream_with_initial_count).live is False
