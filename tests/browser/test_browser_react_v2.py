"""examples/react-v2 (react-core 1.74, AG-UI over REST + SSE, the default transport) in Debian's chromium against the runtime."""

from __future__ import annotations

from copilotkit_runtime.testing.fake_llm import FakeLLMServer, Turn

from .browser_session import Browser


def test_llm_reply_streams_into_the_chat(react_v2: Browser, fake_llm: FakeLLMServer) -> None:
    data = react_v2.run("chat")
    assert data["reply"].startswith("You said: hello from the browser")
    assert fake_llm.requests[-1]["stream"] is True


def test_frontend_action_runs_in_the_browser(react_v2: Browser) -> None:
    data = react_v2.run("frontend_action")
    assert data["background"] == "rgb(173, 216, 230)"  # lightblue, set by the action's handler
    assert "the background is now lightblue" in data["reply"]


def test_answer_uses_the_backend_action(react_v2: Browser, fake_llm: FakeLLMServer) -> None:
    data = react_v2.run("backend_action")
    assert "shipped" in data["reply"] and "tomorrow" in data["reply"]
    tool_results = [m for m in fake_llm.requests[-1]["messages"] if m["role"] == "tool"]
    assert tool_results and '"shipped"' in tool_results[-1]["content"]


def test_suggestions_are_shown_and_sent(react_v2: Browser) -> None:
    # react-ui 1.74's own buttons loop (/suggest + /connect every few ms): the app renders its
    # own through RenderSuggestionsList (the workaround), and the page settles
    data = react_v2.run("suggestions")
    assert data["suggestions"][0] == "Tell me more 1"
    assert data["reply"] == "You said: example"
    suggests = sum(n for key, n in data["requests"].items() if key.endswith("/suggest"))
    connects = sum(n for key, n in data["requests"].items() if key.endswith("/connect"))
    assert 1 <= suggests <= 8 and connects <= 8, data["requests"]  # 4 and 3 measured; looping: dozens


def test_textarea_completion_is_shown_and_accepted(react_v2: Browser, fake_llm: FakeLLMServer) -> None:
    # <BaseCopilotTextarea> with the app's completion function: a run of the `completer` agent
    fake_llm.script(Turn(text=" and I would like a refund."))
    data = react_v2.run("textarea")
    assert data["shown"] == "My order is late and I would like a refund."
    assert data["accepted"] == "My order is late and I would like a refund.!"
    asked = [m for body in fake_llm.requests for m in body["messages"] if m["role"] == "user"]
    assert any("Text before the cursor:\nMy order is late" in m["content"] for m in asked)
    assert data["requests"].get("POST /api/copilotkit/agent/completer/run", 0) >= 1, data["requests"]


def test_stop_button_ends_the_run_and_closes_the_upstream(react_v2: Browser,
                                                          fake_llm: FakeLLMServer) -> None:
    fake_llm.script(Turn(text=" ".join(f"word{i}" for i in range(200)), chunk_delay=0.1))
    data = react_v2.run("stop")
    assert "word3" in data["partial"] and "word199" not in data["partial"]
    assert fake_llm.wait_for(lambda llm: llm.closed_early >= 1)


def test_planner_state_and_interrupt(react_v2: Browser) -> None:
    data = react_v2.run("planner", hash="#planner")
    assert data["steps"] == ["buy milk", "bake bread", "call mum"]
    assert data["statusBefore"] == "waiting for approval"
    assert data["question"] == "Run these steps?"
    assert data["reply"] == "Done: ran all 3 steps."
