"""In-memory blobs and sheet."""

from __future__ import annotations

from attrs import define, field

from backoffice.adapters.fake.faults import Faults
from backoffice.core.sheet import column_index, normalise_header
from backoffice.ports import Blob


@define
class FakeBlobs:
    objects: dict[str, Blob] = field(factory=dict)
    faults: Faults = field(factory=Faults)
    _versions: int = 0

    def get(self, key: str) -> Blob | None:
        self.faults.hit("get")
        return self.objects.get(key)

    def put(self, key: str, body: bytes) -> str:
        self.faults.hit("put")
        self._versions += 1
        self.objects[key] = Blob(bytes(body), str(self._versions))
        return str(self._versions)


@define
class FakeSheet:
    """A sheet as Google shows it: a header row, then rows whose first cell is the row's id."""

    rows: list[list[str]]
    faults: Faults = field(factory=Faults)

    def read(self) -> list[list[str]]:
        self.faults.hit("read")
        return [list(row) for row in self.rows]

    def update_cell(self, row_id: str, column: str, value: str) -> None:
        self.faults.hit("update_cell")
        index = column_index(self.rows[0] if self.rows else [], column)
        for row in self.rows[1:]:
            if row and row[0] == row_id:
                row.extend([""] * (index + 1 - len(row)))
                row[index] = value
                return
        raise KeyError(f"no row with id {row_id!r} in the sheet")

    def append(self, values: dict[str, str]) -> None:
        self.faults.hit("append")
        header = [normalise_header(name) for name in self.rows[0]]
        unknown = [name for name in values if normalise_header(name) not in header]
        if unknown:
            raise KeyError(f"the sheet has no column {unknown[0]!r}")
        by_name = {normalise_header(name): value for name, value in values.items()}
        self.rows.append([by_name.get(name, "") for name in header])
