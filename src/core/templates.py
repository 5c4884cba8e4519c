"""A safe renderer for the voice doc's `{field}` placeholders.

Only plain names are substituted: no attribute access, indexing, conversions or format specs,
so an owner's template can never reach into the program. `{{` and `}}` are literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TemplateError(ValueError):
    """A template that cannot be rendered; the message says which placeholder and why."""


@lru_cache(maxsize=256)
def _scan(template: str) -> tuple[tuple[str, str], ...]:
    """Split into ("text", ...) and ("field", name) parts, or raise on malformed braces. Each
    template is scanned once: a tick renders the same few for thousands of messages."""
    parts: list[tuple[str, str]] = []
    text: list[str] = []
    index = 0
    while index < len(template):
        char = template[index]
        if char == "{" and template.startswith("{{", index):
            text.append("{")
            index += 2
        elif char == "}" and template.startswith("}}", index):
            text.append("}")
            index += 2
        elif char == "{":
            end = template.find("}", index)
            if end == -1:
                raise TemplateError(f"a '{{' at position {index} is never closed")
            name = template[index + 1 : end].strip()
            if not _NAME.match(name):
                raise TemplateError(
                    f"{{{name}}} is not a plain placeholder name; write names like {{item_name}}"
                )
            parts.append(("text", "".join(text)))
            text = []
            parts.append(("field", name))
            index = end + 1
        elif char == "}":
            raise TemplateError(
                f"a '}}' at position {index} has no opening '{{' (write }}}} for a brace)"
            )
        else:
            text.append(char)
            index += 1
    parts.append(("text", "".join(text)))
    return tuple(parts)


def placeholders(template: str) -> frozenset[str]:
    return frozenset(value for kind, value in _scan(template) if kind == "field")


def check(template: str, known: Iterable[str]) -> list[str]:
    known_names = sorted(set(known))
    try:
        used = placeholders(template)
    except TemplateError as error:
        return [str(error)]
    return [
        f"unknown placeholder {{{name}}}; known: {', '.join(known_names)}"
        for name in sorted(used - set(known_names))
    ]


def render(template: str, fields: Mapping[str, str]) -> str:
    out: list[str] = []
    for kind, value in _scan(template):
        if kind == "text":
            out.append(value)
        elif value in fields:
            out.append(str(fields[value]))
        else:
            raise TemplateError(f"unknown placeholder {{{value}}}")
    return "".join(out)
