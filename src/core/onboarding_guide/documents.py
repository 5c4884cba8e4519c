"""The onboarding guide's rules doc (`[plans.<name>]`: steps and when to flag) and voice doc
(`[steps.<id>]` per step, `[nudge]`, `[flag]`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from attrs import frozen

from backoffice.core import voice
from backoffice.core.documents import DocumentError, key_line, load_toml, raise_all
from backoffice.core.rules import Key, inherited_sections, unknown_sections, whole_number
from backoffice.core.voice import VOICE_FILE, Voice

RULES_FILE = "rules.toml"
MAX_PERSONALIZED = 2000  # characters a rewritten step may take


@frozen
class Step:
    id: str
    day: int  # days since signup when it goes out
    nudge_after_days: int | None = None  # a nudge this many days after it, if not done
    personalize: bool = False  # rewritten lightly by the model from the template and the row


@frozen
class PlanRules:
    steps: tuple[Step, ...]
    flag_after_days: int | None  # flag the owner this many days after a nudge with no done


@frozen
class Rules:
    plans: Mapping[str, PlanRules]

    def plan(self, name: str) -> PlanRules:
        return self.plans.get(name, self.plans["default"])

    @property
    def step_ids(self) -> tuple[str, ...]:
        ids = (step.id for plan in self.plans.values() for step in plan.steps)
        return tuple(dict.fromkeys(ids))


def _steps_shape(value: Any) -> str | None:
    if not isinstance(value, list) or not value or not all(isinstance(s, Mapping) for s in value):
        return 'a list of steps like [{ id = "welcome", day = 0 }]'
    return None


PLAN_KEYS = (
    Key("steps", _steps_shape),
    Key("flag_after_days", lambda v: whole_number(1)(v) if v != -1 else None, default=-1),
)
STEP_KEYS = frozenset({"id", "day", "nudge_after_days", "personalize"})


def load_rules(text: str, file: str = RULES_FILE) -> Rules:
    """Every plan merged over `[plans.default]`; each step checked, in day order, ids unique."""
    doc = load_toml(text, file)
    plans, errors = inherited_sections(doc, text, file, "plans", PLAN_KEYS)
    errors = [*unknown_sections(doc, text, file, ("plans",)), *errors]
    parsed: dict[str, PlanRules] = {}
    for name, values in plans.items():
        steps, found = _steps(values["steps"], text, file, name)
        errors += found
        flag = values["flag_after_days"]
        parsed[name] = PlanRules(steps, None if flag == -1 else flag)
    raise_all(errors)
    return Rules(parsed)


def _steps(
    raw: Sequence[Mapping[str, Any]], text: str, file: str, plan: str
) -> tuple[tuple[Step, ...], list[DocumentError]]:
    errors: list[DocumentError] = []
    steps: list[Step] = []
    where = f"[plans.{plan}]"
    seen: dict[Any, int] = {}
    for entry in raw:
        occurrence = seen[entry.get("id")] = seen.get(entry.get("id"), 0) + 1
        line = _step_line(text, plan, entry.get("id"), occurrence)
        for key in sorted(set(entry) - STEP_KEYS):
            errors.append(DocumentError(file, line, f"unknown step key {key!r} in {where}"))
        step = _step(entry, where, file, line, errors)
        if step is None:
            continue
        if any(s.id == step.id for s in steps):
            errors.append(DocumentError(file, line, f"step {step.id!r} appears twice in {where}"))
        elif steps and step.day < steps[-1].day:
            message = (
                f"step {step.id!r} (day {step.day}) comes after day {steps[-1].day} in {where}"
            )
            errors.append(DocumentError(file, line, f"{message}: write the steps in day order"))
        steps.append(step)
    return tuple(steps), errors


def _step(
    entry: Mapping[str, Any], where: str, file: str, line: int | None, errors: list[DocumentError]
) -> Step | None:
    step_id, day = entry.get("id"), entry.get("day")
    nudge, personalize = entry.get("nudge_after_days"), entry.get("personalize", False)
    if (
        not isinstance(step_id, str)
        or not step_id.strip()
        or not step_id.replace("-", "_").isidentifier()
    ):
        errors.append(DocumentError(file, line, f'a step in {where} needs an id like "welcome"'))
        return None
    problem = whole_number(0)(day) or (nudge is not None and whole_number(1)(nudge))
    if problem or not isinstance(personalize, bool):
        errors.append(
            DocumentError(
                file,
                line,
                f"step {step_id!r} in {where}: day is a whole number >= 0, nudge_after_days one "
                ">= 1, personalize true or false",
            )
        )
        return None
    return Step(step_id, int(day or 0), nudge, personalize)  # checked whole above


def _step_line(text: str, plan: str, step_id: Any, occurrence: int = 1) -> int | None:
    """The line of the `occurrence`th `id = "<step>"` inside the plan (or the plan's steps
    line)."""
    lines = text.splitlines()
    start = key_line(text, f"plans.{plan}", "steps") or 1
    for number in range(start, len(lines) + 1):
        line = lines[number - 1]
        if number > start and line.lstrip().startswith("["):
            break
        if isinstance(step_id, str) and f'"{step_id}"' in line:
            occurrence -= 1
            if occurrence == 0:
                return number
    return start


MESSAGE_FIELDS = (
    "name",
    "customer_id",
    "email",
    "plan",
    "step",
    "day",
    "days_since_signup",
    "done_link",
    "owner",
)


def voice_parts(rules: Rules) -> dict[str, tuple[str, ...]]:
    parts: dict[str, tuple[str, ...]] = {f"steps.{s}": ("subject", "body") for s in rules.step_ids}
    return {**parts, "nudge": ("subject", "body"), "flag": ("text",)}


def load_voice(text: str, rules: Rules, file: str = VOICE_FILE) -> Voice:
    voice, errors = read_voice(text, rules, file)
    raise_all(errors)
    return voice


def read_voice(
    text: str, rules: Rules, file: str = VOICE_FILE
) -> tuple[Voice, list[DocumentError]]:
    """The usable sections, and the problems of the others (their moves wait). A step or nudge
    without `{done_link}` is a problem: the customer could never say it is done, so the nudge
    and the owner's flag would follow for nothing."""
    words, errors = voice.read_voice(text, voice_parts(rules), MESSAGE_FIELDS, file)
    sections = dict(words.sections)
    for section in [s for s in sections if s.startswith("steps.") or s == "nudge"]:
        if "{done_link}" not in sections[section]["body"]:
            line = key_line(text, section, "body")
            errors.append(DocumentError(file, line, f"[{section}] body needs {{done_link}}"))
            del sections[section]
    return Voice(sections), errors
