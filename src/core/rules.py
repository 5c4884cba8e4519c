"""The rules doc's common shape: a group of named sections (`[chains.<name>]`, `[services.<name>]`,
`[plans.<name>]`) where `default` holds every key and the others inherit what they leave out.

A system names its group and its keys; every problem in every section is reported with its line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from attrs import frozen

from backoffice.core.documents import DocumentError, key_line, section_line
from backoffice.core.sheet import is_email, is_slack_user

Check = Callable[[Any], str | None]  # None when the value is fine, else what was expected
DEFAULT = "default"


@frozen
class Key:
    name: str
    check: Check
    default: Any = None  # used when `default` itself leaves the key out; None: required


def whole_number(minimum: int = 0) -> Check:
    def checked(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            return f"a whole number of at least {minimum}, without quotes"
        return None

    return checked


def recipient(value: Any) -> str | None:
    if isinstance(value, str) and (is_email(value) or is_slack_user(value)):
        return None
    return "an email address or a Slack member id, in quotes"


def inherited_sections(
    doc: Mapping[str, Any], text: str, file: str, group: str, keys: Sequence[Key]
) -> tuple[dict[str, dict[str, Any]], list[DocumentError]]:
    """Every `[group.<name>]` section merged over `[group.default]`, checked key by key.

    Sections with a problem are left out of the result (their problems are returned), so the
    caller can decide whether one broken section stops everything."""
    sections = doc.get(group)
    if not isinstance(sections, Mapping) or DEFAULT not in sections:
        return {}, [DocumentError(file, None, f"expected a [{group}.{DEFAULT}] section")]
    base = {key.name: key.default for key in keys if key.default is not None}
    merged: dict[str, dict[str, Any]] = {}
    errors: list[DocumentError] = []
    for name in [DEFAULT, *sorted(set(sections) - {DEFAULT})]:
        found = _section(sections[name], text, file, f"{group}.{name}", keys)
        errors += found
        values = {**base, **(sections[name] if isinstance(sections[name], Mapping) else {})}
        missing = [key.name for key in keys if key.name not in values]
        if missing:
            line = section_line(text, f"{group}.{name}")
            errors.append(DocumentError(file, line, f"[{group}.{name}] is missing {_and(missing)}"))
        elif not found:
            merged[name] = values
        if name == DEFAULT:
            base = values
    return merged, errors


def _section(
    values: Any, text: str, file: str, where: str, keys: Sequence[Key]
) -> list[DocumentError]:
    if not isinstance(values, Mapping):
        return [DocumentError(file, section_line(text, where), f"[{where}] must be a section")]
    known = {key.name: key for key in keys}
    errors = []
    for name, value in values.items():
        line = key_line(text, where, name)
        if name not in known:
            expected = ", ".join(known)
            errors.append(
                DocumentError(file, line, f"unknown key {name!r} in [{where}]; known: {expected}")
            )
            continue
        problem = known[name].check(value)
        if problem:
            errors.append(
                DocumentError(file, line, f"{name} in [{where}] must be {problem}, got {value!r}")
            )
    return errors


def _and(names: Sequence[str]) -> str:
    return ", ".join(names)


def unknown_sections(
    doc: Mapping[str, Any], text: str, file: str, known: Sequence[str]
) -> list[DocumentError]:
    """Top-level sections the system does not read: usually a typo the owner wants to hear of."""
    return [
        DocumentError(
            file,
            section_line(text, name) or key_line(text, name, name),
            f"unknown section {name!r}; expected {', '.join(f'[{k}]' for k in known)}",
        )
        for name in sorted(set(doc) - set(known))
    ]
