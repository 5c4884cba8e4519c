"""The Sms port over the fake, the outbox and SNS (moto), plus email attachments and .ics files."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import REGION, aws

from backoffice.adapters.aws.messaging import SnsSms
from backoffice.adapters.fake import FakeSms
from backoffice.adapters.local.outbox import OutboxMailer, OutboxSms
from backoffice.core.ics import event_ics
from backoffice.ports import Attachment, Email

OPTED_OUT = "+6598765432"


@contextmanager
def sns(tmp: Path) -> Iterator[Any]:
    import boto3

    with aws():
        client = boto3.client("sns", region_name=REGION)
        yield SnsSms(client, "+6580000000", "Salon")


@contextmanager
def fake(tmp: Path) -> Iterator[Any]:
    yield FakeSms(opted_out_numbers={OPTED_OUT})


@contextmanager
def outbox(tmp: Path) -> Iterator[Any]:
    yield OutboxSms(tmp, frozenset({OPTED_OUT}))


@pytest.fixture(params=["fake", "local", "aws"])
def sms(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with {"fake": fake, "local": outbox, "aws": sns}[request.param](tmp_path) as adapter:
        yield adapter


def test_send_returns_an_id_and_opted_out_numbers_are_known(sms: Any) -> None:
    first = sms.send("+6591234567", "Reminder: haircut tomorrow 14:30. Reply: x.co/a", "ar:A1:x")
    second = sms.send("+6591234567", "Second reminder", "ar:A1:y")
    assert first and second and first != second
    assert sms.opted_out("+6591234567") is False
    if not isinstance(sms, SnsSms):  # moto knows no opted-out numbers
        assert sms.opted_out(OPTED_OUT) is True


def test_sns_publish_is_transactional_from_the_origination_number() -> None:
    with aws():
        import boto3
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sns.models import sns_backends

        SnsSms(boto3.client("sns", region_name=REGION), "+6580000000").send(
            "+6591234567", "See you tomorrow", "k"
        )
        [(number, text, *_)] = sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values()
    assert (number, text) == ("+6591234567", "See you tomorrow")


def test_the_outbox_records_segments(tmp_path: Path) -> None:
    OutboxSms(tmp_path).send("+6591234567", "€" * 81, "ar:A1:first_reminder")
    [path] = tmp_path.iterdir()
    assert json.loads(path.read_text())["segments"] == 2


def test_email_carries_an_ics_attachment_that_calendars_read(tmp_path: Path) -> None:
    from icalendar import Calendar

    start = datetime(2026, 12, 2, 14, 30, tzinfo=ZoneInfo("Asia/Singapore"))
    ics = event_ics(
        "ar-A1@backoffice",
        "Haircut with Mei",
        start,
        45,
        datetime(2026, 12, 1, tzinfo=UTC),
        location="12 Orchard Rd",
    )
    OutboxMailer(tmp_path, "salon@example.com").send(
        Email(
            to=("mei@example.com",),
            subject="Your appointment",
            text="See you then.",
            idempotency_key="ar:A1",
            attachments=(Attachment("appointment.ics", "text/calendar", ics),),
        )
    )
    [path] = tmp_path.iterdir()
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message.get_body(("plain",)).get_content() == "See you then.\n"  # text ends a line
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "appointment.ics"
    event = Calendar.from_ical(attachment.get_content()).walk("VEVENT")[0]
    assert event.decoded("dtstart") == start
    assert (event.decoded("dtend") - event.decoded("dtstart")).seconds == 45 * 60
    assert str(event["location"]) == "12 Orchard Rd"
