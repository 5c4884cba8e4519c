"""The documents an owner edits (rules, voice, settings): TOML, often exported from Google Docs."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Sequence
from typing import Any

from backoffice.core.problems import Problem

# Docs export turns straight quotes into typographic ones and spaces into non-breaking ones;
# TOML would reject both, so they are mapped back before parsing.
_TRANSLATION = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u00a0": " ",
        "\u202f": " ",
        "\u2007": " ",
        "\u2009": " ",
        "\u200a": " ",
        "\u2002": " ",
        "\u2003": " ",
        "\u3000": " ",
        "\u200b": None,
        "\ufeff": None,
    }
)
_HEADER = re.compile(r"^\s*\[\[?[^\]\"'=]+\]\]?\s*(#.*)?$")
_POSITION = re.compile(r"\(at line (\d+), column \d+\)")


class DocumentError(ValueError):
    """A document the owner must fix; says which file, which line, and what was expected."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        self.file = file
        self.line = line
        self.message = message
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {message}")

    @property
    def errors(self) -> tuple[DocumentError, ...]:
        """Every problem this error stands for (one, unless it is a DocumentErrors)."""
        return (self,)

    def problems(self) -> list[Problem]:
        return [Problem(e.file, e.line, None, None, e.message) for e in self.errors]


class DocumentErrors(DocumentError):
    """Several problems in one document, found in one pass: `check` lists them all."""

    def __init__(self, found: Sequence[DocumentError]) -> None:
        first = found[0]
        super().__init__(first.file, first.line, first.message)
        self.found = tuple(found)

    @property
    def errors(self) -> tuple[DocumentError, ...]:
        return self.found

    def __str__(self) -> str:
        return "; ".join(ValueError.__str__(error) for error in self.found)


def problems_of(*loads: Callable[[], object]) -> list[Problem]:
    """Run each loader and collect every problem they find, instead of stopping at the first
    document that has one (`check` shows them all in one run)."""
    found: list[Problem] = []
    for load in loads:
        try:
            load()
        except DocumentError as error:
            found += error.problems()
    return found


def raise_all(found: Sequence[DocumentError]) -> None:
    """Raise what was found: nothing, one error, or all of them together."""
    if len(found) == 1:
        raise found[0]
    if found:
        raise DocumentErrors(found)


def decode(body: bytes, file: str) -> str:
    """A document's bytes as text. Bytes that are not UTF-8 name the line they are on and say
    how to save the file, instead of guessing an encoding (a wrong guess changes names)."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = body.count(b"\n", 0, error.start) + 1
        found = body[error.start : error.start + 1].hex()
        raise DocumentError(
            file,
            line,
            f"byte 0x{found} is not UTF-8 text; save the file as UTF-8 "
            "(in a spreadsheet: CSV UTF-8)",
        ) from None


# --- where keys and sections are (TOML parsers keep no positions for values) --------------------


def line_of(text: str, key: str, start: int = 0) -> int | None:
    """The first line after line `start` that sets `key`."""
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for number, line in enumerate(text.splitlines()[start:], start=start + 1):
        if pattern.match(line):
            return number
    return None


def section_line(text: str, section: str) -> int | None:
    """The line of a `[section]` header (`[chains.default]`, spaces ignored)."""
    wanted = f"[{section}]"
    for number, line in enumerate(text.splitlines(), start=1):
        if line.split("#", 1)[0].strip().replace(" ", "") == wanted:
            return number
    return None


def key_line(text: str, section: str, key: str) -> int | None:
    """The line setting `key` inside `[section]` (or the section's line when the key is not
    written there), so an error points where the owner has to look."""
    start = section_line(text, section)
    if start is None:
        return line_of(text, key)
    lines = text.splitlines()
    end = next((n for n in range(start, len(lines)) if _HEADER.match(lines[n])), len(lines))
    found = line_of("\n".join(lines[:end]), key, start)
    return found or start


def normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_TRANSLATION)


def load_toml(text: str, file: str) -> dict[str, Any]:
    try:
        return tomllib.loads(normalise(text))
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = _POSITION.search(message)
        line = int(match.group(1)) if match else None
        plain = _POSITION.sub("", message).strip().rstrip(".")
        raise DocumentError(
            file, line, f'{plain} (text values need quotes, e.g. key = "value")'
        ) from None
