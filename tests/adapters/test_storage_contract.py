from __future__ import annotations

import os
from pathlib import Path

import pytest

from backoffice.ports import Blobs, Sheet


def test_blobs_round_trip_with_versions(blobs: Blobs) -> None:
    assert blobs.get("registry.csv") is None
    v1 = blobs.put("registry.csv", b"a,b\n")
    stored = blobs.get("registry.csv")
    assert stored is not None and (stored.body, stored.version) == (b"a,b\n", v1)
    v2 = blobs.put("registry.csv", b"a,b\n1,2\n")
    assert v2 != v1 and blobs.get("registry.csv").version == v2  # type: ignore[union-attr]
    blobs.put("docs/voice.toml", b"x")
    assert blobs.get("docs/voice.toml").body == b"x"  # type: ignore[union-attr]


def test_sheet_reads_header_first(sheet: Sheet) -> None:
    rows = sheet.read()
    assert rows[0] == ["Item ID", "Name", "Expires On", "Notes"]
    assert rows[2] == ["B", "Lease"]  # ragged rows stay ragged


def test_update_cell_touches_only_that_cell(sheet: Sheet) -> None:
    before = sheet.read()
    sheet.update_cell("C", "expires_on", "2028-01-01")
    after = sheet.read()
    assert after[3][2] == "2028-01-01"
    assert after[3][3] == "=1+1"  # a formula-looking value stays text
    after[3][2] = before[3][2]
    assert after == before
    sheet.update_cell("B", "Notes", "=HYPERLINK()")
    assert sheet.read()[2] == ["B", "Lease", "", "=HYPERLINK()"]


def test_unknown_rows_and_columns_are_clear_errors(sheet: Sheet) -> None:
    with pytest.raises(KeyError, match="no row"):
        sheet.update_cell("Z", "name", "x")
    with pytest.raises(KeyError, match="no column"):
        sheet.update_cell("A", "colour", "x")


def test_append_maps_names_to_columns(sheet: Sheet) -> None:
    sheet.append({"item_id": "D", "Expires On": "2027-05-05"})
    assert sheet.read()[-1] == ["D", "", "2027-05-05", ""]
    with pytest.raises(KeyError):
        sheet.append({"colour": "red"})


def test_a_folder_put_returns_its_own_version_when_another_write_follows_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writers of one key: the version each put returns is the file it wrote, so a
    reader holding it sees the other's write as a change."""
    from backoffice.adapters.local import storage

    blobs = storage.FolderBlobs(tmp_path)
    replace = os.replace
    racing = [b"the other writer's bytes"]

    def replaced_then_overwritten(source: str, target: Path) -> None:
        replace(source, target)
        if racing:
            storage.write_atomically(Path(target), racing.pop())

    monkeypatch.setattr(storage.os, "replace", replaced_then_overwritten)
    mine = blobs.put("sheet.csv", b"my bytes")
    current = blobs.get("sheet.csv")
    assert current is not None and current.body == b"the other writer's bytes"
    assert mine != current.version
