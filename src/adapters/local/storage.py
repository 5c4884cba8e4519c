"""The workspace folder as blob storage, and the owner's CSV file as the sheet."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import tempfile
from pathlib import Path, PurePosixPath

from backoffice.core.sheet import column_index, normalise_header
from backoffice.ports import Blob


def write_atomically(path: Path, body: bytes) -> None:
    """Readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(body)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class FolderBlobs:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        relative = PurePosixPath(key)
        if not key or relative.is_absolute() or ".." in relative.parts:
            raise ValueError(f"blob key {key!r} must be a relative path inside the workspace")
        return self.root.joinpath(*relative.parts)

    def get(self, key: str) -> Blob | None:
        try:
            body = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        return Blob(body, _version(body))

    def put(self, key: str, body: bytes) -> str:
        write_atomically(self._path(key), body)
        return _version(body)


def _version(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:16]


class CsvSheet:
    """The owner's CSV as the Sheet port. Every other cell is written back exactly as it was;
    values are plain text (the CSV is the RAW sheet, so '=1+1' stays text)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def read(self) -> list[list[str]]:
        text = self.path.read_text(encoding="utf-8-sig")
        return [row for row in csv.reader(io.StringIO(text))]

    def update_cell(self, row_id: str, column: str, value: str) -> None:
        rows = self.read()
        index = column_index(rows[0] if rows else [], column)
        for row in rows[1:]:
            if row and row[0] == row_id:
                row.extend([""] * (index + 1 - len(row)))
                row[index] = value
                self._write(rows)
                return
        raise KeyError(f"no row with id {row_id!r} in {self.path.name}")

    def append(self, values: dict[str, str]) -> None:
        rows = self.read()
        header = [normalise_header(name) for name in rows[0]]
        by_name = {normalise_header(name): value for name, value in values.items()}
        unknown = [name for name in by_name if name not in header]
        if unknown:
            raise KeyError(f"{self.path.name} has no column {unknown[0]!r}")
        rows.append([by_name.get(name, "") for name in header])
        self._write(rows)

    def _write(self, rows: list[list[str]]) -> None:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        write_atomically(self.path, out.getvalue().encode("utf-8"))
