"""The voice doc: the words of every message, one `[section]` per move with its parts (subject,
body, sms...), written as templates with `{field}` placeholders.

Every error names its line. A system says which sections and parts it needs and which
placeholders exist; `read_voice` keeps the good sections and reports the broken ones, so a broken
template can stop only the messages that use it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from attrs import frozen

from backoffice.core.documents import DocumentError, key_line, load_toml, raise_all, section_line
from backoffice.core.templates import check, render

VOICE_FILE = "voice.toml"


@frozen
class Voice:
    sections: Mapping[str, Mapping[str, str]]

    def template(self, section: str, part: str) -> str:
        try:
            return self.sections[section][part]
        except KeyError:
            raise KeyError(f"the voice has no usable [{section}] {part}") from None

    def render(self, section: str, part: str, fields: Mapping[str, str]) -> str:
        return render(self.template(section, part), fields).strip()


def read_voice(
    text: str,
    parts: Mapping[str, Sequence[str]],
    fields: Collection[str],
    file: str = VOICE_FILE,
) -> tuple[Voice, list[DocumentError]]:
    """The sections that are whole and correct, and an error for every problem in the others."""
    doc = load_toml(text, file)
    sections: dict[str, dict[str, str]] = {}
    errors: list[DocumentError] = []
    for section, wanted in parts.items():
        found = _section(doc, text, file, section, wanted, fields)
        if isinstance(found, list):
            errors += found
        else:
            sections[section] = found
    return Voice(sections), errors


def load_voice(
    text: str,
    parts: Mapping[str, Sequence[str]],
    fields: Collection[str],
    file: str = VOICE_FILE,
) -> Voice:
    """The whole voice, or DocumentError(s) naming every problem."""
    voice, errors = read_voice(text, parts, fields, file)
    raise_all(errors)
    return voice


def _section(
    doc: Mapping[str, object],
    text: str,
    file: str,
    section: str,
    wanted: Sequence[str],
    fields: Collection[str],
) -> dict[str, str] | list[DocumentError]:
    values: object = doc
    for name in section.split("."):  # [steps.welcome] is a section within a section
        values = values.get(name) if isinstance(values, Mapping) else None
    if not isinstance(values, Mapping):
        needs = " and ".join(wanted)
        return [DocumentError(file, None, f"expected a [{section}] section with {needs}")]
    templates: dict[str, str] = {}
    errors: list[DocumentError] = []
    for part in wanted:
        value = values.get(part)
        line = key_line(text, section, part)
        if not isinstance(value, str) or not value.strip():
            line = section_line(text, section)
            errors.append(DocumentError(file, line, f"[{section}] needs a {part} in quotes"))
            continue
        errors += [
            DocumentError(file, line, f"[{section}] {part}: {e}") for e in check(value, fields)
        ]
        templates[part] = value
    return errors or templates
