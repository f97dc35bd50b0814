"""LLM chat through the real frontends' clients: ``@copilotkit/runtime-client-gql`` 1.10.6 (v1,
GraphQL) and ``@copilotkit/core`` 1.75 (v2, AG-UI), the real ``openai`` SDK inside the runtime,
a fake OpenAI server at the edge."""

from __future__ import annotations

import json
import socket
import sys
import uuid
from typing import Any

from node_client import generate_step, requires_node, run_client
from openai_helpers import REPO

from copilotkit_runtime.testing.fake_llm import FakeLLMServer, Turn

sys.path.insert(0, str(REPO))
from tests.agui.conftest import run_v2_client

COLOR_ACTION = {"name": "setColor", "description": "Set the page color",
                "parameters": {"type": "object", "properties": {"color": {"type": "string"}},
                               "required": ["color"]}}


def only(result: dict[str, Any], typename: str) -> list[dict[str, Any]]:
    return [m for m in result["messages"] if m["__typename"] == typename]


@requires_node
def test_v1_chat_goes_to_the_llm_agent_without_an_agent_session(served: Any, fake: FakeLLMServer) -> None:
    result = run_client(served.url, [generate_step("Hello there", system="Be brief.")])["result"]
    assert result["closed"] and not result["gqlErrors"], result
    assert result["status"]["__typename"] == "SuccessResponseStatus"
    [text] = only(result, "TextMessageOutput")
    assert text["content"] == "You said: Hello there" and text["contentChunks"] == 4
    assert text["status"]["code"] == "Success"
    sent = fake.requests[-1]["messages"]
    assert sent[1] == {"role": "system", "content": "Be brief."}  # the client's own system message


@requires_node
def test_v1_frontend_action_and_backend_action(served: Any, fake: FakeLLMServer) -> None:
    result = run_client(served.url, [generate_step("setColor blue", actions=[COLOR_ACTION])])["result"]
    [call] = only(result, "ActionExecutionMessageOutput")
    assert call["name"] == "setColor" and json.loads(call["arguments"]) == {"color": "blue"}
    assert call["argumentsChunks"] > 1 and call["status"]["code"] == "Success"
    assert [m["type"] for m in result["reactCore"]] == ["ActionExecutionMessage"]

    fake.script(Turn(tool_calls=[("lookup_order", {"order_id": 9})]), Turn(text="Order 9 shipped."))
    result = run_client(served.url, [generate_step("where is order 9")])["result"]
    kinds = [m["__typename"] for m in result["messages"]]
    assert kinds == ["ActionExecutionMessageOutput", "ResultMessageOutput", "TextMessageOutput"]
    result_message = only(result, "ResultMessageOutput")[0]
    assert json.loads(result_message["result"]) == {"order": 9, "status": "shipped"}
    assert result_message["actionName"] == "lookup_order"
    assert only(result, "TextMessageOutput")[0]["content"] == "Order 9 shipped."


@requires_node
def test_v1_textarea_completion_and_suggestions(served: Any, fake: FakeLLMServer) -> None:
    # <CopilotTextarea>: its own instructions as a system message, requestType TextareaCompletion.
    fake.script(Turn(text=" jumps over the lazy dog."))
    step = generate_step("The quick brown fox", system="Complete the user's text.",
                         raw={"metadata": {"requestType": "TextareaCompletion"}},
                         forwardedParameters={"maxTokens": 20, "stop": ["\n"], "temperature": 0.3})
    result = run_client(served.url, [step])["result"]
    assert only(result, "TextMessageOutput")[0]["content"] == " jumps over the lazy dog."
    sent = fake.requests[-1]
    assert "max_tokens" in sent, sent
    assert (sent["max_tokens"], sent["stop"], sent["temperature"]) == (20, ["\n"], 0.3)

    # useCopilotChatSuggestions (react-core's extract): a forced function call.
    suggestions = {"name": "extract", "description": "Suggest what the user could say next",
                   "parameters": {"type": "object", "properties": {"suggestions": {
                       "type": "array", "items": {"type": "object", "properties": {
                           "title": {"type": "string"}, "message": {"type": "string"}}}}}}}
    step = generate_step("Suggest what the user could say next", actions=[suggestions],
                         raw={"metadata": {"requestType": "Task"}},
                         forwardedParameters={"toolChoice": "function",
                                              "toolChoiceFunctionName": "extract"})
    result = run_client(served.url, [step])["result"]
    [call] = only(result, "ActionExecutionMessageOutput")
    parsed = json.loads(call["arguments"])
    assert call["name"] == "extract" and len(parsed["suggestions"]) == 2
    assert fake.requests[-1]["tool_choice"] == {"type": "function", "function": {"name": "extract"}}


@requires_node
def test_v1_a_failing_model_is_a_failed_response_status(served: Any, fake: FakeLLMServer) -> None:
    fake.script(Turn(status=401))
    result = run_client(served.url, [generate_step("hi")])["result"]
    assert result["closed"] and result["status"]["__typename"] == "FailedResponseStatus"
    assert "HTTP 401" in json.dumps(result["status"])


def test_v1_client_disconnect_closes_the_upstream_stream(served: Any, fake: FakeLLMServer) -> None:
    fake.script(Turn(text=" ".join(["word"] * 300), chunk_delay=0.05))
    body = json.dumps({"operationName": "generateCopilotResponse",
                       "query": GENERATE.read_text(), "variables": {"data": {
                           "threadId": str(uuid.uuid4()), "frontend": {"actions": []},
                           "messages": [{"id": "m1", "createdAt": "2026-01-01T00:00:00Z",
                                         "textMessage": {"role": "user", "content": "talk"}}],
                           "metadata": {"requestType": "Chat"}}, "properties": {}}}).encode()
    with socket.create_connection(("127.0.0.1", served.port)) as sock:
        sock.sendall(b"POST " + served.runtime.settings.server.base_path.encode()
                     + b" HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
                     b"accept: multipart/mixed\r\ncontent-length: " + str(len(body)).encode()
                     + b"\r\n\r\n" + body)
        received = b""
        while b"word" not in received:
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
    # The socket is closed mid-stream: the runtime cancels the run and closes the upstream.
    assert fake.wait_for(lambda f: f.closed_early == 1, timeout=10)
    assert fake.completed == 0


GENERATE = REPO / "tests" / "graphql" / "fixtures" / "generate-copilot-response.graphql"


def v2(served: Any, steps: list[dict[str, Any]], **scenario: Any) -> dict[str, Any]:
    return run_v2_client({"url": served.url, "agent": "default", "threadId": str(uuid.uuid4()),
                          "steps": steps, **scenario})


def test_v2_chat_frontend_tool_and_backend_action(served: Any, fake: FakeLLMServer) -> None:
    out = v2(served, [{"op": "run", "text": "hello"}])
    assert "default" in out["agents"] and not out["errors"], out
    [step] = out["steps"]
    assert step["messages"][-1]["role"] == "assistant"
    assert step["messages"][-1]["content"] == "You said: hello"

    # The model calls the page's setColor tool; the client runs it and follows up by itself.
    out = v2(served, [{"op": "run", "text": "please setColor green"}])
    assert out["toolCalls"] == [{"color": "green"}], out
    roles = [m["role"] for m in out["steps"][0]["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert out["steps"][0]["messages"][-1]["content"] == "The action returned: color set to green"

    fake.script(Turn(tool_calls=[("lookup_order", {"order_id": 5})]),
                Turn(tool_calls=[("convert_currency", {"amount": 20, "currency": "GBP"})]),
                Turn(text="Order 5 shipped and costs 18.00 GBP."))
    out = v2(served, [{"op": "run", "text": "order 5 in pounds?"}])
    messages = out["steps"][0]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant", "tool",
                                             "assistant"]
    assert messages[4]["content"] == "18.00 GBP"
    assert messages[-1]["content"] == "Order 5 shipped and costs 18.00 GBP."


def test_v2_dynamic_suggestions_use_the_stateless_suggest_route(served: Any, fake: FakeLLMServer) -> None:
    out = v2(served, [{"op": "run", "text": "hello"}, {"op": "suggest"}])
    suggestions = out["steps"][1]["suggestions"]
    assert len(suggestions) == 2 and all(s["title"] and s["message"] for s in suggestions), out
    forced = fake.requests[-1]
    assert forced["tool_choice"] == {"type": "function", "function": {"name": "copilotkitSuggest"}}
    # The suggestion run did not join the conversation.
    assert [m["role"] for m in out["steps"][1]["messages"]] == ["user", "assistant"]
