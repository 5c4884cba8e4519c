"""The social inbox's rules doc: the topics (`[topics.<name>]`: keywords, team, backup), the
teams' Slack channels (`[teams.<name>]`), the SLA targets (`[sla]`), and the top-level
`urgent_words`, `dedupe_window_hours` and `default_team`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import frozen

from backoffice.core.documents import DocumentError, key_line, load_toml, raise_all, section_line
from backoffice.core.rules import whole_number

RULES_FILE = "rules.toml"
OTHER = "other"  # the topic of a message no topic's keywords match
TOP_KEYS = ("urgent_words", "dedupe_window_hours", "default_team", "whatsapp_templates")
SECTIONS = ("topics", "teams", "sla")


@frozen
class Topic:
    name: str
    keywords: tuple[str, ...]
    team: str
    backup: str = ""  # the teammate a breached thread of this topic goes to first


@frozen
class Rules:
    topics: Mapping[str, Topic]  # always holds `other`
    team_channels: Mapping[str, str]  # team -> Slack channel for its notices
    urgent_minutes: int
    normal_minutes: int
    urgent_words: tuple[str, ...]
    dedupe_window_hours: int
    default_team: str
    whatsapp_templates: tuple[str, ...] = ()  # approved templates, for replies after 24 hours

    @property
    def teams(self) -> frozenset[str]:
        return frozenset(t.team for t in self.topics.values()) | frozenset(self.team_channels)

    def sla_minutes(self, urgency: str) -> int:
        return self.urgent_minutes if urgency == "urgent" else self.normal_minutes


def _words(value: Any) -> str | None:
    ok = isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
    return None if ok else 'a list of words in quotes, like ["refund", "invoice"]'


def load_rules(text: str, file: str = RULES_FILE) -> Rules:
    """Every topic and setting checked; every problem reported with its line."""
    doc = load_toml(text, file)
    errors: list[DocumentError] = []
    for name in sorted(set(doc) - set(SECTIONS) - set(TOP_KEYS)):
        where = _first_mention(text, name)
        known = ", ".join([*(f"[{s}]" for s in SECTIONS), *TOP_KEYS])
        errors.append(
            DocumentError(file, where, f"unknown key or section {name!r}; known: {known}")
        )
    urgent = _top(doc, text, file, "urgent_words", [], _words, errors)
    window = _top(doc, text, file, "dedupe_window_hours", 72, whole_number(1), errors)
    default_team = _top(doc, text, file, "default_team", "", _team_name, errors)
    templates = _top(doc, text, file, "whatsapp_templates", [], _words, errors)
    topics = _topics(doc.get("topics", {}), text, file, errors)
    channels = _channels(doc.get("teams", {}), text, file, errors)
    urgent_minutes, normal_minutes = _sla(doc.get("sla", {}), text, file, errors)
    if OTHER not in topics:
        team = default_team or next((t.team for t in topics.values()), "")
        if not team:
            errors.append(DocumentError(file, None, "name a [topics.other] team or default_team"))
        topics[OTHER] = Topic(OTHER, (), team)
    raise_all(errors)
    return Rules(
        topics,
        channels,
        urgent_minutes,
        normal_minutes,
        tuple(urgent),
        window,
        default_team,
        tuple(templates),
    )


def _first_mention(text: str, name: str) -> int | None:
    """The line of `[name]`, `[name.something]` or `name = ...`."""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith((f"[{name}]", f"[{name}.")) or stripped.startswith(f"{name} "):
            return number
    return None


def _top(
    doc: Mapping[str, Any],
    text: str,
    file: str,
    key: str,
    default: Any,
    check: Any,
    errors: list[DocumentError],
) -> Any:
    value = doc.get(key, default)
    problem = check(value)
    if problem:
        errors.append(DocumentError(file, key_line(text, "", key), f"{key} must be {problem}"))
        return default
    return value


def _team_name(value: Any) -> str | None:
    return None if isinstance(value, str) else "a team name in quotes"


TOPIC_KEYS = frozenset({"keywords", "team", "backup"})


def _topics(raw: Any, text: str, file: str, errors: list[DocumentError]) -> dict[str, Topic]:
    if not isinstance(raw, Mapping):
        errors.append(DocumentError(file, section_line(text, "topics"), "[topics] is no section"))
        return {}
    topics = {}
    for name, values in raw.items():
        where = f"topics.{name}"
        line = section_line(text, where)
        if not isinstance(values, Mapping):
            errors.append(DocumentError(file, line, f"[{where}] must be a section"))
            continue
        found = len(errors)
        for key in sorted(set(values) - TOPIC_KEYS):
            at = key_line(text, where, key) or line
            known = ", ".join(sorted(TOPIC_KEYS))
            errors.append(
                DocumentError(file, at, f"unknown key {key!r} in [{where}]; known: {known}")
            )
        keywords = values.get("keywords", [])
        if _words(keywords):
            at = key_line(text, where, "keywords") or line
            errors.append(
                DocumentError(file, at, f"keywords in [{where}] must be {_words(keywords)}")
            )
        team = str(values.get("team") or "")
        if not team.strip():
            errors.append(
                DocumentError(file, line, f'[{where}] needs a team, like team = "support"')
            )
        backup = values.get("backup", "")
        if len(errors) == found:
            words = tuple(k.strip().casefold() for k in keywords)
            topics[name] = Topic(name, words, team.strip(), str(backup).strip())
    return topics


def _channels(raw: Any, text: str, file: str, errors: list[DocumentError]) -> dict[str, str]:
    channels = {}
    for name, values in raw.items() if isinstance(raw, Mapping) else ():
        channel = values.get("channel") if isinstance(values, Mapping) else None
        if not isinstance(channel, str) or not channel.strip():
            where = f"teams.{name}"
            message = f'[{where}] needs the Slack channel of its notices, like channel = "C0123"'
            errors.append(DocumentError(file, section_line(text, where), message))
            continue
        channels[name] = channel.strip()
    return channels


def _sla(raw: Any, text: str, file: str, errors: list[DocumentError]) -> tuple[int, int]:
    values = raw if isinstance(raw, Mapping) else {}
    for key in sorted(set(values) - {"urgent_minutes", "normal_minutes"}):
        message = f"unknown key {key!r} in [sla]; known: urgent_minutes, normal_minutes"
        errors.append(DocumentError(file, key_line(text, "sla", key), message))
    found = []
    for key, default in (("urgent_minutes", 30), ("normal_minutes", 240)):
        value = values.get(key, default)
        problem = whole_number(1)(value)
        if problem:
            errors.append(
                DocumentError(file, key_line(text, "sla", key), f"{key} must be {problem}")
            )
            value = default
        found.append(value)
    return found[0], found[1]
