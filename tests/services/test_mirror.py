from __future__ import annotations

import pytest

from backoffice.adapters.fake import FakeBlobs, FakeSheet
from backoffice.ports import DriveFile
from backoffice.services.mirror import STATE_KEY, Source, sync, sync_folder


class Drive:
    def __init__(self) -> None:
        self.versions = {"sheet-1": "1", "doc-1": "7"}
        self.exports: list[str] = []

    def revision(self, file_id: str) -> str:
        return self.versions[file_id]

    def export_text(self, file_id: str) -> bytes:
        self.exports.append(file_id)
        return f"text of {file_id} v{self.versions[file_id]}".encode()

    def list_folder(self, folder_id: str) -> list[DriveFile]:
        return [
            DriveFile("img1", "launch.png", "image/png", self.versions.get("img1", "md5a")),
            DriveFile("doc9", "Captions", "application/vnd.google-apps.document", ""),
        ]

    def download(self, file_id: str) -> bytes:
        self.exports.append(file_id)
        return b"\x89PNG" + self.versions.get(file_id, "md5a").encode()


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


def test_folder_images_are_copied_when_their_checksum_changes() -> None:
    drive, blobs = Drive(), FakeBlobs()
    assert [(m.key, m.changed) for m in sync_folder(drive, blobs, "folder", "images")] == [
        ("images/launch.png", True)
    ]
    assert sync_folder(drive, blobs, "folder", "images")[0].changed is False
    drive.versions["img1"] = "md5b"
    assert sync_folder(drive, blobs, "folder", "images")[0].changed is True
    assert blobs.get("images/launch.png").body == b"\x89PNGmd5b"  # type: ignore[union-attr]
    assert drive.exports == ["img1", "img1"]


def test_a_write_to_the_sheet_reaches_the_copy_at_once_and_a_failed_one_changes_nothing() -> None:
    from backoffice.adapters.fake.faults import InjectedFault
    from backoffice.services.mirror import WrittenThrough

    google = FakeSheet([["appt_id", "starts_at"], ["A1", "2026-12-02 14:00"]])
    blobs = FakeBlobs()
    blobs.put("appointments.csv", b"appt_id,starts_at\nA1,2026-12-02 14:00\n")
    sheet = WrittenThrough(google, blobs, "appointments.csv")
    sheet.update_cell("A1", "starts_at", "2026-12-03 10:00")
    sheet.append({"appt_id": "A2", "starts_at": "2026-12-04 09:00"})
    copy = blobs.get("appointments.csv")
    assert copy is not None and copy.body == (
        b"appt_id,starts_at\nA1,2026-12-03 10:00\nA2,2026-12-04 09:00\n"
    )
    google.faults.fail_next("update_cell")
    with pytest.raises(InjectedFault):
        sheet.update_cell("A1", "starts_at", "2026-12-05 10:00")
    assert blobs.get("appointments.csv") == copy
    assert sheet.read() == google.read()
