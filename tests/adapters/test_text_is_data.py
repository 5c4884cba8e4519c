"""Whatever text a sheet or a stranger puts in a message, it stays data: it cannot break a mail
header, add one, smuggle a control character into a text message or a Slack mention into
Slack, and a CSV cell a spreadsheet would run is written so it shows as text."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.adapters.csv_sheet import CsvSheet
from backoffice.adapters.fake import FakeBlobs
from backoffice.adapters.local.outbox import OutboxChat, OutboxSms
from backoffice.adapters.mime import build_email
from backoffice.core.sheet import read_csv
from backoffice.core.text import printable
from backoffice.ports import Attachment, Button, ChatMessage, Email

hostile = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",))
    | st.sampled_from(["\r", "\n", "\x00", "\x1b", "\u2028", "=", "+", "-", "@", "<", ">"]),
    max_size=300,
)


@settings(max_examples=300, deadline=None)
@given(subject=hostile, text=hostile, label=hostile, name=hostile)
def test_any_text_builds_a_mail_whose_headers_are_what_we_set(
    subject: str, text: str, label: str, name: str
) -> None:
    message = Email(
        to=("maria@example.com",),
        subject=subject,
        text=text,
        links=(Button("renew", label, "https://x/ew/ack?t=abc", "abc"),),
        idempotency_key="ew:LIC-1:2026-12-20:first_alert",
        attachments=(Attachment(name or "a.ics", "text/calendar", b"BEGIN:VCALENDAR"),),
    )
    raw = build_email("watcher@example.com", message, "<id@backoffice>")
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert sorted(set(parsed.keys())) == sorted(
        {
            "Content-Type",
            "MIME-Version",
            "From",
            "To",
            "Subject",
            "Date",
            "Message-ID",
            "X-Backoffice-Key",
        }
    )
    assert parsed["To"] == "maria@example.com"
    assert "\n" not in str(parsed["Subject"]) and "\r" not in str(parsed["Subject"])


@settings(max_examples=200, deadline=None)
@given(text=hostile)
def test_any_text_is_an_sms_without_control_characters(tmp_path_factory, text: str) -> None:
    folder = tmp_path_factory.mktemp("sms")
    OutboxSms(folder).send("+6591234567", text, "ar:A1:x:first_reminder")
    [path] = folder.iterdir()
    sent = json.loads(path.read_text())["text"]
    assert all(c == "\n" or c.isprintable() or c in "\t" for c in sent if ord(c) < 0xA0)
    assert "\x00" not in sent and "\x1b" not in sent and "\r" not in sent


@settings(max_examples=200, deadline=None)
@given(text=hostile)
def test_any_text_reaches_slack_without_a_ping_a_link_or_a_mention(
    tmp_path_factory, text: str
) -> None:
    folder = tmp_path_factory.mktemp("slack")
    OutboxChat(folder).post(ChatMessage(to="U024BE7LH", title=text, text=text))
    [path] = folder.iterdir()
    body = json.loads(path.read_text())
    for shown in (body["text"], body["blocks"][0]["text"]["text"]):
        assert "<" not in shown and ">" not in shown


@settings(max_examples=300, deadline=None)
@given(value=hostile)
def test_any_value_written_to_the_csv_reads_back_the_same_and_never_as_a_formula(
    value: str,
) -> None:
    blobs = FakeBlobs()
    blobs.put("registry.csv", b"item_id,name\nLIC-1,Licence\n")
    sheet = CsvSheet(blobs, "registry.csv")
    sheet.update_cell("LIC-1", "name", value)
    sheet.append({"item_id": "NEW-1", "name": value})
    raw = blobs.objects["registry.csv"].body.decode()
    table, _ = read_csv(raw, "registry.csv")
    stored = [cell for row in csv.reader(io.StringIO(raw)) for cell in row]
    assert not any(cell.strip() and cell.startswith(("=", "@", "\t", "\r")) for cell in stored)
    # What reads back is the value as a person would see it: its control characters gone,
    # surrounding spaces trimmed (as every sheet cell is read).
    expected = printable(value).strip()
    assert [row.values["name"] for row in table.rows] == [expected] * 2


def test_the_csv_keeps_phone_numbers_and_signed_numbers_as_they_are(tmp_path: Path) -> None:
    blobs = FakeBlobs()
    blobs.put("a.csv", b"appt_id,phone,note\nA1,,\n")
    sheet = CsvSheet(blobs, "a.csv")
    sheet.update_cell("A1", "phone", "+6591234567")
    sheet.update_cell("A1", "note", '=HYPERLINK("http://x","y")')
    raw = blobs.objects["a.csv"].body.decode()
    assert "A1,+6591234567,\"'=HYPERLINK" in raw
