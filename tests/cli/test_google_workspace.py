"""A workspace whose sheet and documents are the owner's Google Sheet and Docs: `check`,
`preview` and `tick` read them through the mirror (fetched only when their version changed),
writes go to the Sheet RAW with the workspace's copy kept current, and Google being unreachable
or the key unreadable is a clear message naming the setting."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httplib2
import pytest
from googleapiclient.discovery import build

from backoffice.cli.main import main
from backoffice.cli.workspace import write_example
from backoffice.handlers import machine
from backoffice.services.expiry_watcher import SYSTEM

EXAMPLE = Path(__file__).parents[2] / "src/cli/examples/expiry-watcher"
ROWS = [
    ["item_id", "name", "expires_on", "owner"],
    ["LIC-1", "Licence", "2026-12-20", "maria@example.com"],
]


class Google:
    """Answers the Sheets and Drive calls the adapters make, as Google shapes them."""

    def __init__(self) -> None:
        self.rows = [list(r) for r in ROWS]
        self.version = {"SHEET": 1, "RULES": 1, "VOICE": 1}
        self.calls: list[tuple[str, str]] = []
        self.down = False

    def http(self) -> Any:
        google = self

        class Http:
            def request(self, uri: str, method: str = "GET", body: Any = None, **_: Any) -> Any:
                return google.answer(uri, method, body)

        return Http()

    def answer(self, uri: str, method: str, body: Any) -> tuple[httplib2.Response, bytes]:
        path = unquote(urlsplit(uri).path)
        self.calls.append((method, path))
        if self.down:
            return httplib2.Response({"status": "503"}), b'{"error": {"message": "down"}}'
        if "/values/" in path and method == "GET":
            return self._ok({"values": self.rows})
        if "/values/" in path and method == "PUT":
            assert parse_qs(urlsplit(uri).query)["valueInputOption"] == ["RAW"]
            cell, value = path.rsplit("!", 1)[1], json.loads(body)["values"][0][0]
            self.rows[int(cell[1:]) - 1][ord(cell[0]) - ord("A")] = value
            self.version["SHEET"] += 1
            return self._ok({"updatedCells": 1})
        file_id = path.split("/files/")[1].split("/")[0]
        if path.endswith("/export"):
            name = "rules.toml" if file_id == "RULES" else "voice.toml"
            return httplib2.Response({"status": "200"}), (EXAMPLE / name).read_bytes()
        return self._ok(
            {"version": str(self.version[file_id]), "modifiedTime": "2026-12-01T00:00:00Z"}
        )

    def _ok(self, body: dict[str, Any]) -> tuple[httplib2.Response, bytes]:
        return httplib2.Response({"status": "200"}), json.dumps(body).encode()


@pytest.fixture
def google(monkeypatch: pytest.MonkeyPatch) -> Google:
    import googleapiclient.http

    monkeypatch.setattr(googleapiclient.http.time, "sleep", lambda seconds: None)
    fake = Google()

    def service(workspace: Path, settings: Any, name: str, version: str) -> Any:
        machine._key(workspace, settings)  # the key is still read and checked
        return build(name, version, http=fake.http(), static_discovery=True)

    monkeypatch.setattr(machine, "google_service", service)
    return fake


def service_account_key() -> dict[str, str]:
    """A key shaped like the JSON Google gives for a service account (its own RSA key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {
        "type": "service_account",
        "project_id": "shop",
        "private_key_id": "k1",
        "private_key": pem.decode(),
        "client_email": "bot@shop.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write_example(SYSTEM, tmp_path, date(2026, 12, 1))
    for name in ("registry.csv", "rules.toml", "voice.toml"):
        (tmp_path / name).unlink()
    toml = tmp_path / "backoffice.toml"
    documents = (
        'sheet = "google:SHEET#Registry"\nrules = "google:RULES"\nvoice = "google:VOICE"\n'
        'google_key_file = "service-account.json"\n'
    )
    toml.write_text(documents + toml.read_text())
    (tmp_path / "service-account.json").write_text(json.dumps(service_account_key()))
    return tmp_path


def test_check_preview_and_tick_read_the_google_documents_once_per_version(
    workspace: Path, google: Google, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--workspace", str(workspace)]) == 0
    downloads = [c for c in google.calls if "/values/" in c[1] or c[1].endswith("/export")]
    assert len(downloads) == 3
    assert "LIC-1,Licence,2026-12-20" in (workspace / "registry.csv").read_text()
    google.calls.clear()
    assert main(["preview", "--workspace", str(workspace), "--days", "3"]) == 0
    assert main(["tick", "--workspace", str(workspace), "--now", "2026-12-01T09:00-05:00"]) == 0
    fetched = [c for c in google.calls if "/values/" in c[1] or c[1].endswith("/export")]
    assert fetched == [c for c in fetched if c[0] == "GET"] and len(fetched) <= 3 + 1
    assert "first alert" in capsys.readouterr().out


def test_a_write_goes_to_the_sheet_raw_and_the_copy_follows(
    workspace: Path, google: Google
) -> None:
    from backoffice.handlers.machine import local_ports
    from backoffice.handlers.wiring import no_events, read_settings

    settings = read_settings(workspace)
    assert main(["check", "--workspace", str(workspace)]) == 0
    ports = local_ports(workspace, settings, SYSTEM, no_events)
    ports.sheet.update_cell("LIC-1", "expires_on", "=2027-12-20")
    assert google.rows[1][2] == "=2027-12-20"  # RAW: a value, never a formula, in the Sheet
    assert "LIC-1,Licence,'=2027-12-20" in (workspace / "registry.csv").read_text()


def test_google_down_uses_the_last_copies_and_says_so(
    workspace: Path, google: Google, capsys: pytest.CaptureFixture[str]
) -> None:
    google.down = True
    assert main(["check", "--workspace", str(workspace)]) == 1  # no copy yet: an error
    assert "the Google documents could not be read" in capsys.readouterr().out
    google.down = False
    main(["check", "--workspace", str(workspace)])
    google.down = True
    code = main(["tick", "--workspace", str(workspace), "--now", "2026-12-01T09:00-05:00"])
    out = capsys.readouterr().out
    assert code == 0 and "the last copies are used" in out and "first alert" in out


def test_an_unreadable_key_file_names_the_setting(
    workspace: Path, google: Google, capsys: pytest.CaptureFixture[str]
) -> None:
    (workspace / "service-account.json").write_text("not json")
    assert main(["check", "--workspace", str(workspace)]) == 1
    out = capsys.readouterr().out
    assert "google_key_file" in out and "service-account.json" in out and "Traceback" not in out
