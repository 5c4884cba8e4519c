"""The documents an owner edits (rules, voice, settings): TOML, often exported from Google Docs."""

from __future__ import annotations

import re
import tomllib
from typing import Any

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
_POSITION = re.compile(r"\(at line (\d+), column \d+\)")


class DocumentError(ValueError):
    """A document the owner must fix; says which file, which line, and what was expected."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        self.file = file
        self.line = line
        self.message = message
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {message}")


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
