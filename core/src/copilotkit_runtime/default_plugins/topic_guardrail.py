"""Topic allow/deny lists, applied locally with no vendor key.

The shape is CopilotKit's ``cloud.guardrails.inputValidationRules {allowList, denyList}``. A
topic matches the user's last message when every word of the topic appears in it as a word
(case-insensitive, ignoring a plural ``s``). A denied topic blocks; a non-empty allow list
blocks messages that match none of its topics.

Config::

    [guardrails.topics]
    deny_list = ["politics", "medical advice"]
    allow_list = []
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from copilotkit_runtime.guardrails import (
    Guardrail,
    GuardrailDecision,
    GuardrailOptions,
    GuardrailRules,
)
from copilotkit_runtime.hookspecs import hookimpl
from copilotkit_runtime.providers import RunRequest

_WORD = re.compile(r"[\w']+")


def _words(text: str) -> set[str]:
    out = set()
    for word in _WORD.findall(text.lower()):
        out.add(word)
        if len(word) > 3 and word.endswith("s"):
            out.add(word[:-1])
    return out


def topic_matches(topic: str, text_words: set[str]) -> bool:
    topic_words = [w for w in _WORD.findall(topic.lower()) if w]
    if not topic_words:
        return False
    return all(w in text_words or (w.endswith("s") and w[:-1] in text_words) for w in topic_words)


class TopicOptions(GuardrailOptions):
    allow_list: list[str] = Field(default_factory=list)
    deny_list: list[str] = Field(default_factory=list)


class TopicGuardrail(Guardrail[TopicOptions]):
    Options = TopicOptions

    @classmethod
    def from_rules(cls, rules: GuardrailRules) -> TopicGuardrail:
        return cls("request rules", TopicOptions(allow_list=rules.allow_list,
                                                 deny_list=rules.deny_list))

    def decide(self, text: str) -> GuardrailDecision | None:
        options = self.options
        words = _words(text)
        for topic in options.deny_list:
            if topic_matches(topic, words):
                return GuardrailDecision(f"The topic '{topic}' is not allowed here.", self.name)
        if options.allow_list and not any(topic_matches(t, words) for t in options.allow_list):
            allowed = ", ".join(f"'{t}'" for t in options.allow_list)
            return GuardrailDecision(f"This conversation is limited to these topics: {allowed}.",
                                     self.name)
        return None

    async def check_input(self, request: RunRequest) -> GuardrailDecision | None:
        text = request.last_user_text()
        return self.decide(text) if text else None


@hookimpl(trylast=True)
def register_guardrails(registry: Any) -> None:
    registry.add("topics", TopicGuardrail)
