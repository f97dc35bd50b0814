"""examples/compare in Debian's chromium: the react-v1 app (react-core 1.10.6) in two iframes of
one page, one against copilotkit-runtime, one against the TypeScript ``@copilotkit/runtime``
1.10.6 (``examples/compare/server.mjs``: an ``OpenAIAdapter`` on the same fake model, the same
backend action). Each scenario runs in both frames, and what the user sees must be the same:
the chat's messages, the action's effect, the suggestions."""

from __future__ import annotations

from typing import Any

from copilotkit_runtime.testing.fake_llm import FakeLLMServer

from .browser_session import Browser

SIDES = ["ours", "typescript"]


def both(page: Browser, scenario: str) -> tuple[dict[str, Any], dict[str, Any]]:
    data = page.run(scenario, frames=SIDES, timeout=150)
    return data["ours"], data["typescript"]


def tool_results(fake_llm: FakeLLMServer, js: bool) -> list[str]:
    """The tool results the model was sent in chat requests (not suggestion requests, a forced
    tool choice), by the TypeScript runtime's `openai` client (js) or by ours."""
    pairs = zip(list(fake_llm.requests), list(fake_llm.headers), strict=False)  # one may be arriving
    return [m["content"] for body, headers in pairs
            if (headers.get("x-stainless-lang") == "js") == js and not isinstance(body.get("tool_choice"), dict)
            for m in body["messages"] if m["role"] == "tool"]


def test_streamed_reply_is_the_same(compare_page: Browser) -> None:
    ours, theirs = both(compare_page, "chat")
    assert ours["transcript"] == theirs["transcript"]
    assert ours["transcript"][-2:] == [["copilotKitUserMessage", "hello from the browser"],
                                       ["copilotKitAssistantMessage", "You said: hello from the browser"]]


def test_frontend_action_has_the_same_effect(compare_page: Browser) -> None:
    ours, theirs = both(compare_page, "frontend_action")
    assert ours["background"] == theirs["background"] == "rgb(173, 216, 230)"  # lightblue
    assert ours["transcript"] == theirs["transcript"]
    assert ours["transcript"][-1] == ["copilotKitAssistantMessage",
                                      "The action returned: the background is now lightblue"]


def test_backend_action_answer_is_the_same(compare_page: Browser, fake_llm: FakeLLMServer) -> None:
    ours, theirs = both(compare_page, "backend_action")
    assert ours["transcript"] == theirs["transcript"]
    # the model read the same result from both runtimes (JSON.stringify's compact form)
    result = '{"order_id":1,"status":"shipped","delivery":"tomorrow"}'
    assert ours["transcript"][-1] == ["copilotKitAssistantMessage", f"The action returned: {result}"]
    assert tool_results(fake_llm, js=False) == tool_results(fake_llm, js=True) == [result]


def test_suggestions_are_the_same(compare_page: Browser) -> None:
    ours, theirs = both(compare_page, "suggestions")
    assert ours["suggestions"] == theirs["suggestions"] == ["Tell me more 1"]
    assert ours["reply"] == theirs["reply"] == "You said: example"
    assert ours["transcript"] == theirs["transcript"]
