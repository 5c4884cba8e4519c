"""The owner's sheet as a CSV file in any blob store: the workspace folder, or an S3 bucket."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

from backoffice.core.sheet import column_index, neutralised, normalise_header, unmarked
from backoffice.core.text import printable
from backoffice.ports import Blobs


class CsvSheet:
    """The Sheet port over one CSV blob. Every other cell is written back exactly as it was;
    values are plain text: one a spreadsheet would run as a formula is written with a leading
    apostrophe (the sheet's reader takes it off again). A write reads, changes and writes the
    whole file, so writers that may overlap (threads of `serve`, a `run` beside it) share a
    `lock`."""

    def __init__(
        self,
        blobs: Blobs,
        key: str,
        lock: Callable[[], AbstractContextManager[object]] = nullcontext,
    ) -> None:
        self.blobs = blobs
        self.key = key
        self.lock = lock

    def read(self) -> list[list[str]]:
        blob = self.blobs.get(self.key)
        if blob is None:
            raise FileNotFoundError(f"{self.key} is missing")
        rows = csv.reader(io.StringIO(blob.body.decode("utf-8-sig")))
        return [[unmarked(cell) for cell in row] for row in rows]

    def update_cell(self, row_id: str, column: str, value: str) -> None:
        with self.lock():
            self._update_cell(row_id, column, value)

    def _update_cell(self, row_id: str, column: str, value: str) -> None:
        rows = self.read()
        index = column_index(rows[0] if rows else [], column)
        for row in rows[1:]:
            if row and row[0] == row_id:
                row.extend([""] * (index + 1 - len(row)))
                row[index] = value
                self._write(rows)
                return
        raise KeyError(f"no row with id {row_id!r} in {self.key}")

    def append(self, values: dict[str, str]) -> None:
        with self.lock():
            self._append(values)

    def _append(self, values: dict[str, str]) -> None:
        rows = self.read()
        header = [normalise_header(name) for name in rows[0]]
        by_name = {normalise_header(name): value for name, value in values.items()}
        unknown = [name for name in by_name if name not in header]
        if unknown:
            raise KeyError(f"{self.key} has no column {unknown[0]!r}")
        rows.append([by_name.get(name, "") for name in header])
        self._write(rows)

    def _write(self, rows: list[list[str]]) -> None:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(
            [neutralised(printable(cell)) for cell in row] for row in rows
        )
        self.blobs.put(self.key, out.getvalue().encode("utf-8"))
