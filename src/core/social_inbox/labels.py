"""The labels a new message gets: its topic from the taxonomy, its urgency, its language and a
summary for the team. The model answers in strict JSON; an answer that breaks the contract is
asked for once more, then the fallback label is used: no message waits on the model. The labels
are for teammates only; nothing the model writes ever reaches a customer."""

from __future__ import annotations

import json
import re
from collections.abc import Collection

from attrs import frozen

from backoffice.core.social_inbox.rules import OTHER, Rules

MAX_SUMMARY = 200
URGENCIES = ("urgent", "normal")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_WORD = re.compile(r"\w+", re.UNICODE)

LABEL_INSTRUCTIONS = (
    "You label one message a customer sent a small business, for the team that answers it. "
    "Answer with one JSON object and nothing else: "
    '{"topic": one of the topics listed, "urgency": "urgent" or "normal", '
    '"language": the message\'s ISO 639-1 code, "summary": at most 200 characters for the '
    "team, in English}. Never write a reply to the customer."
)


@frozen
class Label:
    topic: str
    urgency: str
    language: str
    summary: str
    source: str = "model"  # model | keywords | fallback


def label_prompt(text: str, rules: Rules) -> str:
    """The taxonomy with the words the owner gave each topic, and what makes a message urgent."""
    topics = "\n".join(
        f"- {t.name}: {', '.join(t.keywords) or 'anything no other topic covers'}"
        for t in rules.topics.values()
    )
    urgent = ", ".join(rules.urgent_words) or "nothing in particular"
    return (
        f"Topics, with words that point to them:\n{topics}\n\n"
        f"Urgent when it says: {urgent}\n\nThe message:\n{text}"
    )


def with_urgent_words(label: Label, text: str, rules: Rules) -> Label:
    """An urgent word the owner listed makes the message urgent, whatever the model said."""
    if label.urgency == "urgent" or keyword_label(text, rules).urgency != "urgent":
        return label
    return Label(label.topic, "urgent", label.language, label.summary, label.source)


def read_label(answer: str, topics: Collection[str]) -> Label | str:
    """The model's answer as a label, or why it breaks the contract."""
    try:
        data = json.loads(answer.strip())
    except ValueError:
        return "not JSON"
    if not isinstance(data, dict) or set(data) != {"topic", "urgency", "language", "summary"}:
        return "not an object with exactly topic, urgency, language and summary"
    topic, urgency, language, summary = (
        data[k] for k in ("topic", "urgency", "language", "summary")
    )
    if topic not in topics:
        return f"topic {topic!r} is not in the taxonomy"
    if urgency not in URGENCIES:
        return f"urgency {urgency!r} is not urgent or normal"
    if not isinstance(language, str) or not _LANGUAGE.match(language):
        return f"language {language!r} is not a language code"
    if not isinstance(summary, str) or len(summary) > MAX_SUMMARY:
        return "summary is not text of at most 200 characters"
    return Label(topic, urgency, language, summary.strip())


def fallback(text: str) -> Label:
    """When the model fails twice: routed by the default rule, never dropped."""
    return Label(OTHER, "normal", "und", _clipped(text), source="fallback")


def keyword_label(text: str, rules: Rules) -> Label:
    """The embedded backend's labeler, deterministic: the first topic (in the rules' order)
    one of whose keywords is a word of the message; urgent when an urgent word is."""
    words = {w.casefold() for w in _WORD.findall(text)}
    folded = text.casefold()
    topic = next(
        (t.name for t in rules.topics.values() if any(_has(k, words, folded) for k in t.keywords)),
        OTHER,
    )
    urgent = any(_has(w.casefold(), words, folded) for w in rules.urgent_words)
    return Label(topic, "urgent" if urgent else "normal", "und", _clipped(text), "keywords")


def _has(keyword: str, words: set[str], folded: str) -> bool:
    """A one-word keyword matches a whole word; a phrase matches as written."""
    return keyword in words if " " not in keyword else keyword in folded


def _clipped(text: str) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= MAX_SUMMARY else one_line[: MAX_SUMMARY - 1] + "…"
