"""The sheet mirror lane: copy the owner's Google files into blob storage only when they changed.

The tick reads the mirror, never Google, so a Google outage delays edits instead of stopping
alerts. The versions mirrored are kept beside the copies, so an unchanged file costs one
metadata call and no download.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from attrs import frozen

from backoffice.core.sheet import neutralised
from backoffice.ports import Blobs, Drive, Sheet

STATE_KEY = "mirror-versions.json"


@frozen
class Source:
    key: str  # the blob the copy goes to, e.g. "registry.csv"
    file_id: str
    kind: str  # "sheet" (read through the Sheets API as CSV) or "doc" (exported as text)


@frozen
class Mirrored:
    key: str
    version: str
    changed: bool


def sync(drive: Drive, sheet: Sheet, blobs: Blobs, sources: Sequence[Source]) -> list[Mirrored]:
    state_blob = blobs.get(STATE_KEY)
    state: dict[str, str] = json.loads(state_blob.body) if state_blob else {}
    results = []
    for source in sources:
        version = drive.revision(source.file_id)
        if state.get(source.key) == version and blobs.get(source.key) is not None:
            results.append(Mirrored(source.key, version, changed=False))
            continue
        body = _csv(sheet.read()) if source.kind == "sheet" else drive.export_text(source.file_id)
        blobs.put(source.key, body)
        state[source.key] = version
        results.append(Mirrored(source.key, version, changed=True))
    if any(result.changed for result in results):
        blobs.put(STATE_KEY, json.dumps(state, sort_keys=True).encode("utf-8"))
    return results


def _csv(rows: list[list[str]]) -> bytes:
    """The Sheet's values as CSV; a value a spreadsheet would run as a formula is marked as text
    (the sheet's reader takes the mark off), so opening the copy runs nothing."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([neutralised(c) for c in row] for row in rows)
    return out.getvalue().encode("utf-8")


def sync_folder(drive: Drive, blobs: Blobs, folder_id: str, prefix: str) -> list[Mirrored]:
    """New or changed binary files (images for posts) of a Drive folder, copied under `prefix`
    by the name the sheet calls them. Binary files carry an md5Checksum, so an unchanged image
    is never downloaded again."""
    state_key = f"{prefix}/{STATE_KEY}"
    state_blob = blobs.get(state_key)
    state: dict[str, str] = json.loads(state_blob.body) if state_blob else {}
    results = []
    for file in drive.list_folder(folder_id):
        if not file.checksum:
            continue  # a native Doc or Sheet: not an image
        key = f"{prefix}/{file.name}"
        if state.get(key) == file.checksum:
            results.append(Mirrored(key, file.checksum, changed=False))
            continue
        blobs.put(key, drive.download(file.file_id))
        state[key] = file.checksum
        results.append(Mirrored(key, file.checksum, changed=True))
    if any(result.changed for result in results):
        blobs.put(state_key, json.dumps(state, sort_keys=True).encode("utf-8"))
    return results


class WrittenThrough:
    """The owner's sheet, with its copy in blob storage brought up to date after each write: the
    next read of the copy (a tick, a reply page, the slot picker) sees the change at once instead
    of after the next sync. Two customers cannot both pick a time the first one just took."""

    def __init__(self, sheet: Sheet, blobs: Blobs, key: str) -> None:
        self._sheet, self._blobs, self._key = sheet, blobs, key

    def read(self) -> list[list[str]]:
        return self._sheet.read()

    def update_cell(self, row_id: str, column: str, value: str) -> None:
        self._sheet.update_cell(row_id, column, value)
        self._refresh()

    def append(self, values: dict[str, str]) -> None:
        self._sheet.append(values)
        self._refresh()

    def _refresh(self) -> None:
        self._blobs.put(self._key, _csv(self._sheet.read()))
