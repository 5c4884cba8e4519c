"""End to end on moto: reminder -> EventBridge -> (SQS) -> dispatch -> SNS text and SES email with
the appointment attached, then the customer's link through the reply handler -> DynamoDB and the
appointment sheet in S3 (confirm, a spent link, a reschedule that re-arms one new chain)."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aws_stack as stack
import pytest
from dynamo import drain as moves_in
from freezegun import freeze_time
from iam import ACCOUNT
from models import Scripted

from backoffice.handlers import appointment_reminder as handlers
from backoffice.handlers import wiring
from backoffice.services.appointment_reminder import SYSTEM

REGION = "ap-southeast-1"
RAW_MIME = f"ar-raw-mime-{ACCOUNT}"  # the name the template gives the bucket
EXAMPLE = Path(__file__).parents[2] / "src/cli/examples/appointment-reminder"
TEMPLATE = Path(__file__).parents[2] / "deploy/appointment-reminder.yaml"
SHEET = (
    "appt_id,customer_name,phone,email,service,starts_at,duration_min,staff,timezone,status\n"
    "A1,Mei Tan,9123 4567,,default,2026-12-02 14:00,,,,\n"
    "A2,Raj Kumar,,raj@example.com,default,2026-12-02 13:00,,,,\n"
    "A3,Ana Lopez,+6591234569,,default,2026-12-04 10:00,,,,\n"
)


def settings_text() -> str:
    text = (EXAMPLE / "backoffice.toml").read_text()
    text = text.split("[secrets]")[0]
    text = text.replace('"http://127.0.0.1:8787"', '"https://reply.example.com"')
    return text.replace('staff_channel = "C0STAFF001"', 'staff_channel = "staff@example.com"')


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    documents = {name: (EXAMPLE / name).read_bytes() for name in ("rules.toml", "voice.toml")}
    with stack.deployed(
        SYSTEM,
        handlers,
        monkeypatch,
        region=REGION,
        sender="salon@example.com",
        settings_text=settings_text(),
        documents={**documents, "appointments.csv": SHEET.encode()},
        secrets={"ar/reply/hmac": "reply-secret-from-secrets-manager"},
        extra_environment={
            "AR_LINK_SECRET_ID": "ar/reply/hmac",
            "AR_SMS_ORIGINATION_NUMBER": "+6560000000",
        },
    ) as world:
        yield world


def drain(world: dict[str, Any]) -> list[dict[str, Any]]:
    return moves_in(world["sqs"], world["queue"])


def texts() -> list[tuple[str, str]]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    messages = sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values()
    return [(number, text) for number, text, *_ in messages]


def mails() -> list[Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    raw = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    return [email.message_from_string(m.raw_data, policy=email.policy.default) for m in raw]


def items(world: dict[str, Any], table: str) -> list[dict[str, Any]]:
    return world["dynamodb"].scan(TableName=f"prod-{table}")["Items"]


def web(method: str, path: str, query: str = "", form: dict[str, str] | None = None) -> Any:
    body = urlencode(form or {}).encode()
    event = {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"content-type": "application/x-www-form-urlencoded"},
        "requestContext": {
            "http": {"method": method, "path": path},
            "requestId": f"r-{method}-{len(body)}-{path}",
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
    return handlers.reply_handler(event, None)


def token_for(page: str, label: str) -> str:
    found = re.search(
        r'name="t" value="([^"]+)">\s*(?:<input[^>]*>\s*)*<button type="submit">' + label, page
    )
    assert found, f"no {label} form on the page"
    return found.group(1)


def test_reminders_go_out_once_and_the_reply_link_confirms_and_moves_on_aws(
    deployed: dict[str, Any],
) -> None:
    scheduled = {"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": {}}
    with freeze_time("2026-12-01 06:00:00"):  # Tuesday 14:00 in Singapore
        assert handlers.reminder(scheduled, None) == {"moves": 2, "problems": 0}
        events = drain(deployed)
        assert sorted(e["detail-type"] for e in events) == ["ar.first_reminder"] * 2
        assert {handlers.dispatch(e, None)["status"] for e in events} == {"sent"}
        assert {handlers.dispatch(e, None)["status"] for e in events} <= {"dropped", "duplicate"}
    assert deployed["roles"].calls, "the handlers' calls are watched"
    [(number, text)] = texts()
    assert number == "+6591234567" and "Hi Mei Tan, see you Wed 2 Dec at 14:00." in text
    [raj] = mails()
    assert raj["To"] == "raj@example.com"
    [ics] = [part for part in raj.iter_attachments() if part.get_filename() == "appointment.ics"]
    assert "DTSTART;TZID=Asia/Singapore:20261202T130000" in ics.get_content()
    assert {(s["appt_id"]["S"], s["status"]["S"]) for s in items(deployed, "ar-sends")} == {
        ("A1", "sent"),
        ("A2", "sent"),
    }

    link = re.search(r"https://reply\.example\.com(/ar/r/A1/\S+)", text)
    assert link, "the text carries the reply link"
    with freeze_time("2026-12-01 07:00:00"):
        page = web("GET", link.group(1))
        assert page["statusCode"] == 200 and "Add to calendar" in page["body"]
        confirm = token_for(page["body"], "Confirm")
        assert web("POST", "/ar/answer", form={"t": confirm})["statusCode"] == 200
        assert web("POST", "/ar/answer", form={"t": confirm})["statusCode"] == 409
        slots_query = re.search(r'href="/ar/answer\?(t=[^"]+)"', page["body"])
        assert slots_query
        slots = web("GET", "/ar/answer", slots_query.group(1).replace("&amp;", "&"))
        assert slots["statusCode"] == 200 and "Thu 3 Dec 10:00" in slots["body"]
        move = token_for(slots["body"], "Thu 3 Dec 10:00")
        moved = web("POST", "/ar/answer", form={"t": move, "slot": "2026-12-03T10:00:00+08:00"})
    assert moved["statusCode"] == 200 and "Moved to Thu 03 Dec at 10:00" in moved["body"]

    sheet = deployed["s3"].get_object(Bucket="ar-appointments-source", Key="appointments.csv")
    assert "A1,Mei Tan,9123 4567,,default,2026-12-03 10:00" in sheet["Body"].read().decode()
    replies = sorted(r["reply"]["S"] for r in items(deployed, "ar-replies"))
    assert replies == ["confirm", "reschedule"]
    audit = sorted(a["action"]["S"] for a in items(deployed, "ar-audit"))
    assert audit == ["confirm", "rejected", "reschedule"]
    archived = {a["chain_id"]["S"] for a in items(deployed, "ar-sends-archive")}
    assert archived == {"A1@2026-12-02T14:00:00+08:00"}
    [notice] = [m for m in mails() if m["To"] == "staff@example.com"]
    assert "Mei Tan moved A1" in notice["Subject"]

    with freeze_time("2026-12-02 02:00:00"):  # Wednesday 10:00: the new time is 24 h away
        handlers.reminder(scheduled, None)
        keys = {e["detail"]["key"]: e for e in drain(deployed)}
        assert set(keys) == {
            "ar:A1:2026-12-03T10:00:00+08:00:first_reminder",  # exactly one new chain
            "ar:A2:2026-12-02T13:00:00+08:00:gap_alert",  # Raj never answered
        }
        assert {handlers.dispatch(e, None)["status"] for e in keys.values()} == {"sent"}
    assert len(texts()) == 2


def test_the_weekly_summary_emails_the_owner_and_the_staff_once(
    deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduled = {"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": {}}
    with freeze_time("2026-12-01 06:00:00"):
        handlers.reminder(scheduled, None)
        for event in drain(deployed):
            handlers.dispatch(event, None)
    paragraph = "A quiet week: two reminders went out and nobody has answered yet."
    monkeypatch.setattr(wiring, "language_model", lambda system: Scripted(paragraph))
    with freeze_time("2026-12-07 00:00:00"):  # Monday 08:00 in Singapore
        first = handlers.summary(scheduled, None)
        again = handlers.summary(scheduled, None)
    assert first == {
        "status": "sent",
        "sent": {"staff@example.com": "sent", "owner@example.com": "sent"},
    }
    assert again == {"status": "not_due", "sent": {}}
    summaries = [m for m in mails() if m["Subject"].startswith("Appointments: the week")]
    assert sorted(m["To"] for m in summaries) == ["owner@example.com", "staff@example.com"]
    text = summaries[0].get_body(("plain",)).get_content()
    assert text.startswith(paragraph) and "reminders sent          2" in text


def test_a_forwarded_booking_confirmation_becomes_a_proposed_appointment(
    deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from email.message import EmailMessage

    s3 = deployed["s3"]
    s3.create_bucket(Bucket=RAW_MIME, CreateBucketConfiguration={"LocationConstraint": REGION})
    for name, value in {
        "AR_RAW_MIME_BUCKET": RAW_MIME,
        "AR_SOURCE_PDFS_BUCKET": "ar-source-pdfs",
        "AR_TEXTRACT_TOPIC_ARN": "arn:aws:sns:ap-southeast-1:123456789012:ar-textract",
        "AR_TEXTRACT_ROLE_ARN": "arn:aws:iam::123456789012:role/textract",
    }.items():
        monkeypatch.setenv(name, value)
    answer = json.dumps(
        {"customer_name": "Lin Wei", "starts_at": "2026-12-05 15:00", "phone": "+6591234570"}
    )
    monkeypatch.setattr(wiring, "language_model", lambda system: Scripted(answer))
    message = EmailMessage()
    message["From"] = "Booking tool <noreply@booking.example.com>"
    message["Subject"] = "New booking"
    message.set_content("Lin Wei booked a haircut on 2026-12-05 at 15:00. Phone +65 9123 4570.")
    s3.put_object(Bucket=RAW_MIME, Key="inbound/m1", Body=bytes(message))
    arrival = {"Records": [{"s3": {"bucket": {"name": RAW_MIME}, "object": {"key": "inbound/m1"}}}]}
    with freeze_time("2026-12-01 06:00:00"):
        handlers.intake_ses_parser(arrival, None)
        handlers.intake_ses_parser(arrival, None)  # S3 delivers at least once
    [notice] = mails()
    assert notice["To"] == "owner@example.com" and notice["Subject"] == "Proposed row: Lin Wei"
    text = notice.get_body(("plain",)).get_content()
    assert "starts_at: 2026-12-05 15:00" in text and "/ar/proposal?t=" in text
    [row] = items(deployed, "ar-proposals")
    assert row["status"]["S"] == "open"


def test_with_the_google_sheet_a_cancel_writes_it_raw_and_its_copy_in_s3_at_once(
    deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from googleapiclient.discovery import build
    from googleapiclient.http import HttpMockSequence

    rows = [line.split(",") for line in SHEET.strip().splitlines()]
    cancelled = [row[:] for row in rows]
    cancelled[1][9] = "cancelled"

    def values(table: list[list[str]]) -> tuple[dict[str, str], str]:
        return {"status": "200"}, json.dumps({"range": "'Appointments'!A1:J4", "values": table})

    calls: list[tuple[str, str]] = []

    class Recording(HttpMockSequence):  # type: ignore[misc]
        def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
            calls.append((method, uri))
            return super().request(uri, method, *args, **kwargs)

    http = Recording(
        [values(rows), ({"status": "200"}, json.dumps({"updatedCells": 1})), values(cancelled)]
    )
    monkeypatch.setenv("AR_SPREADSHEET_ID", "sheet-1")
    monkeypatch.setattr(
        wiring,
        "google_service",
        lambda settings, name, version: build(name, version, http=http, static_discovery=True),
    )
    scheduled = {"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": {}}
    with freeze_time("2026-12-01 06:00:00"):
        handlers.reminder(scheduled, None)
        for event in drain(deployed):
            handlers.dispatch(event, None)
    [(_, text)] = texts()
    link = re.search(r"https://reply\.example\.com(/ar/r/A1/\S+)", text)
    assert link
    with freeze_time("2026-12-01 07:00:00"):
        page = web("GET", link.group(1))
        done = web("POST", "/ar/answer", form={"t": token_for(page["body"], "Cancel")})
    assert done["statusCode"] == 200 and "cancelled" in done["body"]
    assert [method for method, _ in calls] == ["GET", "PUT", "GET"]  # read, write, the copy
    assert "J2?valueInputOption=RAW" in calls[1][1]
    copy = deployed["s3"].get_object(Bucket="ar-appointments-source", Key="appointments.csv")
    assert (
        "A1,Mei Tan,9123 4567,,default,2026-12-02 14:00,,,,cancelled"
        in copy["Body"].read().decode()
    )
    with freeze_time("2026-12-02 04:00:00"):  # Wednesday 12:00: A1 would be due; it is cancelled
        handlers.reminder(scheduled, None)
        assert not [e for e in drain(deployed) if e["detail"]["subject"] == "A1"]


def test_drive_sync_and_calendar_sync_run_within_their_roles(
    deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from googleapiclient.discovery import build
    from googleapiclient.http import HttpMockSequence

    for name, value in {
        "AR_SPREADSHEET_ID": "sheet-1",
        "AR_RULES_DOC_ID": "rules-1",
        "AR_VOICE_DOC_ID": "voice-1",
        "AR_CALENDAR_IDS": "front-desk@example.com",
    }.items():
        monkeypatch.setenv(name, value)
    rows = [line.split(",") for line in SHEET.strip().splitlines()]

    def version(v: str) -> tuple[dict[str, str], str]:
        return {"status": "200"}, json.dumps({"version": v, "modifiedTime": "t"})

    event = {
        "id": "ev1",
        "status": "confirmed",
        "summary": "#appt Lin Wei",
        "description": "Call 9123 4570",
        "start": {"dateTime": "2026-12-05T15:00:00+08:00"},
        "creator": {"email": "desk@example.com"},
    }
    http = HttpMockSequence(
        [
            version("9"),
            ({"status": "200"}, json.dumps({"values": rows})),
            version("3"),
            ({"status": "200"}, (EXAMPLE / "rules.toml").read_text()),
            version("4"),
            ({"status": "200"}, (EXAMPLE / "voice.toml").read_text()),
            ({"status": "200"}, json.dumps({"items": [event], "nextSyncToken": "s1"})),
        ]
    )
    monkeypatch.setattr(
        wiring,
        "google_service",
        lambda settings, name, v: build(name, v, http=http, static_discovery=True),
    )
    with freeze_time("2026-12-01 06:00:00"):
        assert handlers.drive_sync({}, None) == {
            "changed": ["appointments.csv", "rules.toml", "voice.toml"]
        }
        assert handlers.calendar_sync({}, None) == {"proposed": 1}
    [notice] = mails()
    assert notice["Subject"] == "Proposed row: Lin Wei"
    [row] = items(deployed, "ar-proposals")
    assert row["values"]["M"]["phone"]["S"] == "+6591234570"
