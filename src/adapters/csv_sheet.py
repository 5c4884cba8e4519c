"""The owner's sheet as a CSV file in any blob store: the workspace folder, or an S3 bucket."""

from __future__ import annotations

import csv
import io

from backoffice.core.sheet import column_index, normalise_header
from backoffice.ports import Blobs


class CsvSheet:
    """The Sheet port over one CSV blob. Every other cell is written back exactly as it was;
    values are plain text (the CSV is the RAW sheet, so '=1+1' stays text)."""

    def __init__(self, blobs: Blobs, key: str) -> None:
        self.blobs = blobs
        self.key = key

    def read(self) -> list[list[str]]:
        blob = self.blobs.get(self.key)
        if blob is None:
            raise FileNotFoundError(f"{self.key} is missing")
        return list(csv.reader(io.StringIO(blob.body.decode("utf-8-sig"))))

    def update_cell(self, row_id: str, column: str, value: str) -> None:
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
        csv.writer(out, lineterminator="\n").writerows(rows)
        self.blobs.put(self.key, out.getvalue().encode("utf-8"))
