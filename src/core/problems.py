"""A problem found in something the owner edits: reported, never fatal to the rest."""

from __future__ import annotations

from typing import Any

from attrs import frozen


@frozen
class Problem:
    """One thing wrong with one place in one file, in words the owner can act on."""

    file: str
    line: int | None
    column: str | None
    value: str | None
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "value": self.value,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        column = f" [{self.column}]" if self.column else ""
        value = f" {self.value!r}" if self.value else ""
        return f"{where}{column}{value}: {self.message}"
