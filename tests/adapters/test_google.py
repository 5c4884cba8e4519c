"""The Google adapters through google-api-python-client's real request building (bundled
discovery documents, offline) against scripted HTTP answers."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from googleapiclient.discovery import build
from googleapiclient.http import HttpMockSequence

from backoffice.adapters.google.calendar import GoogleCalendar
from backoffice.adapters.google.drive import GoogleDrive
from backoffice.adapters.google.errors import GoogleApiError
from backoffice.adapters.google.sheets import GoogleSheet, column_letters

VALUES = {
    "range": "'Registry'!A1:Z1000",
    "majorDimension": "ROWS",
    "values": [
        ["Item ID", "Name", "Expires On", "Notes"],
        ["A", "Licence", "2026-12-01"],
        ["B", "Lease", "2027-01-01", "=1+1"],
    ],
}


class Recording(HttpMockSequence):  # type: ignore[misc]
    """HttpMockSequence that keeps every request it answered."""

    def __init__(self, iterable: list[tuple[dict[str, str], str]]) -> None:
        super().__init__(iterable)
        self.requests: list[tuple[str, str, Any]] = []

    def request(
        self, uri: str, method: str = "GET", body: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        self.requests.append((uri, method, body))
        return super().request(uri, method, body, *args, **kwargs)


def ok(body: dict[str, Any]) -> tuple[dict[str, str], str]:
    return {"status": "200"}, json.dumps(body)


@pytest.fixture(autouse=True)
def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    import googleapiclient.http

    monkeypatch.setattr(googleapiclient.http.time, "sleep", lambda seconds: None)


def sheet(http: Recording) -> GoogleSheet:
    return GoogleSheet(
        build("sheets", "v4", http=http, static_discovery=True), "sheet-1", "Registry"
    )


def test_read_returns_ragged_rows() -> None:
    http = Recording([ok(VALUES)])
    assert sheet(http).read() == VALUES["values"]
    [(uri, method, _)] = http.requests
    parts = urlsplit(uri)
    assert method == "GET"
    assert unquote(parts.path) == "/v4/spreadsheets/sheet-1/values/'Registry'"
    assert parse_qs(parts.query)["majorDimension"] == ["ROWS"]


def test_update_cell_writes_one_cell_raw() -> None:
    http = Recording([ok(VALUES), ok({"updatedCells": 1})])
    sheet(http).update_cell("B", "expires_on", "=SUM(A1)")
    uri, method, body = http.requests[1]
    parts = urlsplit(uri)
    assert method == "PUT"
    assert unquote(parts.path) == "/v4/spreadsheets/sheet-1/values/'Registry'!C3"
    assert parse_qs(parts.query)["valueInputOption"] == ["RAW"]
    assert json.loads(body) == {"values": [["=SUM(A1)"]]}


def test_append_orders_values_by_header_and_inserts_rows_raw() -> None:
    http = Recording([ok(VALUES), ok({"updates": {"updatedRows": 1}})])
    sheet(http).append({"Expires On": "2027-05-05", "item_id": "C"})
    uri, method, body = http.requests[1]
    query = parse_qs(urlsplit(uri).query)
    assert method == "POST" and urlsplit(uri).path.endswith(":append")
    assert query["valueInputOption"] == ["RAW"] and query["insertDataOption"] == ["INSERT_ROWS"]
    assert json.loads(body) == {"values": [["C", "", "2027-05-05", ""]]}


def test_unknown_rows_and_columns() -> None:
    with pytest.raises(KeyError, match="no row"):
        sheet(Recording([ok(VALUES)])).update_cell("Z", "name", "x")
    with pytest.raises(KeyError, match="no column"):
        sheet(Recording([ok(VALUES)])).append({"colour": "red"})


def test_rate_limits_and_server_errors_are_retried_then_named() -> None:
    http = Recording([({"status": "429"}, "{}"), ({"status": "503"}, "{}"), ok(VALUES)])
    assert sheet(http).read() == VALUES["values"]
    assert len(http.requests) == 3
    failing = Recording([({"status": "403"}, json.dumps({"error": {"message": "denied"}}))])
    with pytest.raises(GoogleApiError, match=r"values\.get on sheet-1 failed with HTTP 403"):
        sheet(failing).read()


def test_drive_revision_and_export() -> None:
    http = Recording(
        [
            ok({"version": "42", "modifiedTime": "2026-11-20T10:00:00.000Z"}),
            ({"status": "200", "content-type": "text/plain"}, "[chains.default]\n"),
        ]
    )
    drive = GoogleDrive(build("drive", "v3", http=http, static_discovery=True))
    assert drive.revision("doc-1") == "42@2026-11-20T10:00:00.000Z"
    assert drive.export_text("doc-1") == b"[chains.default]\n"
    get_uri = urlsplit(http.requests[0][0])
    assert parse_qs(get_uri.query)["fields"] == ["version,modifiedTime"]
    assert parse_qs(urlsplit(http.requests[1][0]).query)["mimeType"] == ["text/plain"]


@pytest.mark.parametrize(
    ("index", "letters"), [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA")]
)
def test_column_letters(index: int, letters: str) -> None:
    assert column_letters(index) == letters


def calendar(http: Recording) -> GoogleCalendar:
    return GoogleCalendar(build("calendar", "v3", http=http, static_discovery=True))


EVENT = {
    "id": "e1",
    "status": "confirmed",
    "summary": "Business licence #expires",
    "description": "renew at city hall",
    "start": {"date": "2027-03-01"},
    "creator": {"email": "maria@example.com"},
}


def test_calendar_full_listing_pages_and_keeps_the_sync_token() -> None:
    http = Recording(
        [
            ok({"items": [EVENT], "nextPageToken": "p2"}),
            ok(
                {
                    "items": [{**EVENT, "id": "e2", "start": {"dateTime": "2027-04-01T09:00:00Z"}}],
                    "nextSyncToken": "sync-1",
                }
            ),
        ]
    )
    changes = calendar(http).changes("cal@example.com", None)
    assert changes.full and changes.sync_token == "sync-1"
    assert [(e.event_id, e.start, e.creator) for e in changes.events] == [
        ("e1", "2027-03-01", "maria@example.com"),
        ("e2", "2027-04-01T09:00:00Z", "maria@example.com"),
    ]
    first, second = (parse_qs(urlsplit(uri).query) for uri, _, _ in http.requests)
    assert first["singleEvents"] == ["true"] and "syncToken" not in first
    assert second["pageToken"] == ["p2"]


def test_calendar_incremental_and_expired_token_resync() -> None:
    http = Recording([ok({"items": [], "nextSyncToken": "sync-2"})])
    changes = calendar(http).changes("cal", "sync-1")
    assert (changes.full, changes.sync_token) == (False, "sync-2")
    assert parse_qs(urlsplit(http.requests[0][0]).query)["syncToken"] == ["sync-1"]
    gone = Recording(
        [
            (
                {"status": "410"},
                json.dumps({"error": {"message": "Sync token is no longer valid"}}),
            ),
            ok({"items": [EVENT], "nextSyncToken": "sync-3"}),
        ]
    )
    changes = calendar(gone).changes("cal", "old")
    assert changes.full and changes.sync_token == "sync-3" and len(changes.events) == 1


def test_drive_folder_listing_pages_and_downloads() -> None:
    http = Recording(
        [
            ok(
                {
                    "files": [
                        {"id": "f1", "name": "a.png", "mimeType": "image/png", "md5Checksum": "abc"}
                    ],
                    "nextPageToken": "p2",
                }
            ),
            ok(
                {
                    "files": [
                        {
                            "id": "f2",
                            "name": "Captions",
                            "mimeType": "application/vnd.google-apps.document",
                        }
                    ]
                }
            ),
            ({"status": "200", "content-type": "image/png"}, "PNGDATA"),
        ]
    )
    drive = GoogleDrive(build("drive", "v3", http=http, static_discovery=True))
    files = drive.list_folder("folder-1")
    assert [(f.file_id, f.checksum) for f in files] == [("f1", "abc"), ("f2", "")]
    first = parse_qs(urlsplit(http.requests[0][0]).query)
    assert first["q"] == ["'folder-1' in parents and trashed = false"]
    assert "md5Checksum" in first["fields"][0]
    assert parse_qs(urlsplit(http.requests[1][0]).query)["pageToken"] == ["p2"]
    assert drive.download("f1") == b"PNGDATA"
    assert parse_qs(urlsplit(http.requests[2][0]).query)["alt"] == ["media"]
