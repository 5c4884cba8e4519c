"""Every adapter of a port, built fresh for each test. The contract suites run against all of
them, so a fake cannot drift from the embedded backend (and, later, from AWS under moto)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from backoffice.adapters.fake import FakeBlobs, FakeScheduler, FakeSheet, FakeTables
from backoffice.adapters.local.scheduling import LocalScheduler
from backoffice.adapters.local.storage import CsvSheet, FolderBlobs
from backoffice.adapters.local.tables import SqliteTables
from backoffice.ports import TableSchema

SCHEMAS = (TableSchema("ew-pings", "item_id", "chain_index"), TableSchema("t2", "p", "s"))
SHEET = [
    ["Item ID", "Name", "Expires On", "Notes"],
    ["A", "Licence", "2026-12-01", "x"],
    ["B", "Lease"],
    ["C", "Permit", "2027-01-01", "=1+1", "extra"],
]

Factory = Callable[[Path], Any]


def _csv_sheet(tmp: Path) -> CsvSheet:
    import csv

    path = tmp / "registry.csv"
    with path.open("w", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(SHEET)
    return CsvSheet(path)


TABLES: dict[str, Factory] = {
    "fake": lambda tmp: FakeTables(SCHEMAS),
    "local": lambda tmp: SqliteTables(tmp / "state.db", SCHEMAS),
}
BLOBS: dict[str, Factory] = {"fake": lambda tmp: FakeBlobs(), "local": FolderBlobs}
SHEETS: dict[str, Factory] = {
    "fake": lambda tmp: FakeSheet([list(row) for row in SHEET]),
    "local": _csv_sheet,
}
SCHEDULERS: dict[str, Factory] = {
    "fake": lambda tmp: FakeScheduler(),
    "local": lambda tmp: LocalScheduler(tmp / "state.db"),
}


def _fixture(factories: dict[str, Factory]) -> Any:
    @pytest.fixture(params=sorted(factories))
    def build(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
        adapter = factories[request.param](tmp_path)
        yield adapter
        close = getattr(adapter, "close", None)
        if close:
            close()

    return build


tables = _fixture(TABLES)
blobs = _fixture(BLOBS)
sheet = _fixture(SHEETS)
scheduler = _fixture(SCHEDULERS)
