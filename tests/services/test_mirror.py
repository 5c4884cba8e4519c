from __future__ import annotations

from backoffice.adapters.fake import FakeBlobs, FakeSheet
from backoffice.services.mirror import STATE_KEY, Source, sync


class Drive:
    def __init__(self) -> None:
        self.versions = {"sheet-1": "1", "doc-1": "7"}
        self.exports: list[str] = []

    def revision(self, file_id: str) -> str:
        return self.versions[file_id]

    def export_text(self, file_id: str) -> bytes:
        self.exports.append(file_id)
        return f"text of {file_id} v{self.versions[file_id]}".encode()


SOURCES = [Source("registry.csv", "sheet-1", "sheet"), Source("rules.toml", "doc-1", "doc")]


def test_only_changed_files_are_copied() -> None:
    drive, blobs = Drive(), FakeBlobs()
    sheet = FakeSheet([["item_id", "name"], ["A", "Licence, main"]])
    first = sync(drive, sheet, blobs, SOURCES)
    assert [m.changed for m in first] == [True, True]
    assert blobs.get("registry.csv").body == b'item_id,name\nA,"Licence, main"\n'  # type: ignore[union-attr]
    puts = blobs.faults.calls["put"]
    again = sync(drive, sheet, blobs, SOURCES)
    assert [m.changed for m in again] == [False, False]
    assert blobs.faults.calls["put"] == puts and sheet.faults.calls["read"] == 1
    drive.versions["doc-1"] = "8"
    third = sync(drive, sheet, blobs, SOURCES)
    assert [m.changed for m in third] == [False, True]
    assert blobs.get("rules.toml").body == b"text of doc-1 v8"  # type: ignore[union-attr]
    assert STATE_KEY in blobs.objects


def test_a_lost_copy_is_restored_even_when_the_version_is_unchanged() -> None:
    drive, blobs = Drive(), FakeBlobs()
    sheet = FakeSheet([["item_id"], ["A"]])
    sync(drive, sheet, blobs, SOURCES)
    del blobs.objects["rules.toml"]
    assert [m.changed for m in sync(drive, sheet, blobs, SOURCES)] == [False, True]
