"""End to end on moto: watcher -> EventBridge -> (SQS) -> dispatch -> SES, a deferred one-off on
EventBridge Scheduler, then the owner's link through the ack handler -> DynamoDB and S3."""

from __future__ import annotations

import base64
import copy
import email
import email.policy
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aws_stack as stack
import boto3
import pytest
from dynamo import drain as moves_in
from freezegun import freeze_time
from iam import ACCOUNT

from backoffice.handlers import expiry_watcher as handlers
from backoffice.handlers import wiring
from backoffice.services.expiry_watcher import SYSTEM

REGION = "us-east-1"
EXAMPLE = Path(__file__).parents[2] / "src/cli/examples/expiry-watcher"
TEMPLATE = Path(__file__).parents[2] / "deploy/expiry-watcher.yaml"
RAW_MIME = f"ew-raw-mime-{ACCOUNT}"  # the name the template gives the bucket
SAMPLES = Path(__file__).parents[2] / "../shared/fixtures/aws-events"
DISPATCH_ARN = "arn:aws:lambda:us-east-1:123456789012:function:ew-dispatch"
REGISTRY = (
    "item_id,name,expires_on,owner,category,notice_days\n"
    "LIC-1,Business licence,2026-12-20,maria@example.com,,\n"
    "CON-1,Cleaning contract,2026-12-04,dan@example.com,,\n"
    "FAR-1,Office lease,2027-09-01,maria@example.com,,\n"
)


def settings_text() -> str:
    text = (EXAMPLE / "backoffice.toml").read_text()
    return text.replace('link_secret = "{link_secret}"\n', "").replace(
        'public_url = "http://127.0.0.1:8787"', 'public_url = "https://ack.example.com"'
    )


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    documents = {name: (EXAMPLE / name).read_bytes() for name in ("rules.toml", "voice.toml")}
    with stack.deployed(
        SYSTEM,
        handlers,
        monkeypatch,
        region=REGION,
        sender="watcher@example.com",
        settings_text=settings_text(),
        documents={**documents, "registry.csv": REGISTRY.encode()},
        secrets={
            "ew/links/secret": "link-secret-from-secrets-manager",
            "ew/slack/bot-token": "xoxb-test",
            "ew/slack/signing-secret": "signing",
        },
    ) as world:
        yield world


def scheduled_event() -> dict[str, Any]:
    path = SAMPLES / "aws_powertools_eventBridgeSchedulerEvent.json"
    if path.exists():
        return json.loads(path.read_text())
    return {"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": "{}"}


def drain(world: dict[str, Any]) -> list[dict[str, Any]]:
    return moves_in(world["sqs"], world["queue"])


def sent_mail() -> list[Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def items(world: dict[str, Any], table: str) -> list[dict[str, Any]]:
    return world["dynamodb"].scan(TableName=f"prod-{table}")["Items"]


def test_watcher_dispatch_and_ack_on_aws(deployed: dict[str, Any]) -> None:
    with freeze_time("2026-12-01 13:00:00"):  # Tuesday 08:00 in New York
        assert handlers.watcher(scheduled_event(), None) == {"moves": 3, "problems": 0}
        events = drain(deployed)
        assert sorted(e["detail-type"] for e in events) == [
            "ew.escalate",
            "ew.first_alert",
            "ew.first_alert",
        ]
        results = [handlers.dispatch(event, None) for event in events]
        assert {r["status"] for r in results} == {"sent"}
        redelivered = {handlers.dispatch(event, None)["status"] for event in events}
        assert redelivered <= {"dropped", "duplicate"}  # at-least-once delivery, sent once
    mails = sent_mail()
    assert len(mails) == 3
    pings = items(deployed, "ew-pings")
    assert sorted(p["move"]["S"] for p in pings) == ["escalate", "first_alert", "first_alert"]
    assert {p["status"]["S"] for p in pings} == {"sent"}

    licence = next(m for m in mails if "Business licence" in m.raw_data)
    body = email.message_from_string(licence.raw_data, policy=email.policy.default)
    text = body.get_body(("plain",)).get_content()
    token = re.search(r"Renew: https://ack\.example\.com/ew/ack\?t=([A-Za-z0-9_.-]+)", text)
    assert token, "the email carries the renew link"
    form = urlencode({"t": token.group(1), "date": "2027-12-20"}).encode()
    request = {
        "version": "2.0",
        "rawPath": "/ew/ack",
        "rawQueryString": "",
        "headers": {},
        "requestContext": {"http": {"method": "POST", "path": "/ew/ack"}, "requestId": "r-1"},
        "body": base64.b64encode(form).decode(),
        "isBase64Encoded": True,
    }
    with freeze_time("2026-12-01 15:00:00"):
        response = handlers.ack_handler(request, None)
        again = handlers.ack_handler(request, None)
    assert response["statusCode"] == 200 and "renewed to 2027-12-20" in response["body"]
    assert again["statusCode"] == 409
    registry = deployed["s3"].get_object(Bucket="ew-registry-source", Key="registry.csv")
    assert "LIC-1,Business licence,2027-12-20" in registry["Body"].read().decode()
    assert [a["action"]["S"] for a in items(deployed, "ew-ack")] == ["renew"]
    assert sorted(a["action"]["S"] for a in items(deployed, "ew-audit")) == ["rejected", "renew"]
    archived = items(deployed, "ew-pings-archive")
    assert sorted((a["chain_id"]["S"], "key" in a) for a in archived) == [
        ("LIC-1@2026-12-20", False),  # the chain's closing mark
        ("LIC-1@2026-12-20", True),  # its first alert
    ]


def test_a_night_move_is_booked_on_eventbridge_scheduler(deployed: dict[str, Any]) -> None:
    with freeze_time("2026-12-05 13:00:00"):  # Saturday
        handlers.watcher(scheduled_event(), None)
        events = drain(deployed)
        assert {handlers.dispatch(e, None)["status"] for e in events} == {"deferred"}
    scheduler = boto3.client("scheduler", region_name=REGION)
    schedules = scheduler.list_schedules(GroupName="ew-deferred")["Schedules"]
    assert len(schedules) == len(events)
    detail = scheduler.get_schedule(Name=schedules[0]["Name"], GroupName="ew-deferred")
    assert detail["ScheduleExpression"] == "at(2026-12-07T08:00:00)"
    assert detail["ScheduleExpressionTimezone"] == "America/New_York"
    assert detail["ActionAfterCompletion"] == "DELETE"
    assert detail["Target"]["Arn"] == DISPATCH_ARN
    payload = json.loads(detail["Target"]["Input"])
    with freeze_time("2026-12-07 13:00:00"):  # the one-off fires on Monday 08:00
        assert handlers.dispatch(payload, None)["status"] == "sent"
    assert len(sent_mail()) == 1


def test_dispatch_refuses_an_event_without_a_move(deployed: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="detail"):
        handlers.dispatch(scheduled_event(), None)


def test_drive_sync_mirrors_changed_google_files_to_s3(
    deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from googleapiclient.discovery import build
    from googleapiclient.http import HttpMockSequence

    monkeypatch.setenv("EW_SPREADSHEET_ID", "sheet-1")
    monkeypatch.setenv("EW_RULES_DOC_ID", "rules-1")
    monkeypatch.setenv("EW_VOICE_DOC_ID", "voice-1")
    rows = [
        ["item_id", "name", "expires_on", "owner"],
        ["NEW-1", "Fire safety certificate", "2027-02-01", "sam@example.com"],
    ]
    rules = (EXAMPLE / "rules.toml").read_text()
    voice = (EXAMPLE / "voice.toml").read_text()
    answers = [
        ({"status": "200"}, json.dumps({"version": "9", "modifiedTime": "t"})),  # sheet version
        ({"status": "200"}, json.dumps({"values": rows})),  # sheet values
        ({"status": "200"}, json.dumps({"version": "3", "modifiedTime": "t"})),  # rules version
        ({"status": "200"}, rules),  # rules export
        ({"status": "200"}, json.dumps({"version": "4", "modifiedTime": "t"})),  # voice version
        ({"status": "200"}, voice),  # voice export
    ]
    current = {"http": HttpMockSequence(answers)}

    def service(settings: Any, name: str, version: str) -> Any:
        return build(name, version, http=current["http"], static_discovery=True)

    monkeypatch.setattr(wiring, "google_service", service)
    assert handlers.drive_sync({}, None) == {
        "changed": ["registry.csv", "rules.toml", "voice.toml"]
    }
    registry = deployed["s3"].get_object(Bucket="ew-registry-source", Key="registry.csv")
    assert b"NEW-1,Fire safety certificate,2027-02-01" in registry["Body"].read()
    # The next run finds nothing changed: three metadata calls and no download.
    current["http"] = HttpMockSequence(
        [({"status": "200"}, json.dumps({"version": v, "modifiedTime": "t"})) for v in "934"]
    )
    assert handlers.drive_sync({}, None) == {"changed": []}


def test_calendar_sync_proposes_tagged_events_once(
    deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from googleapiclient.discovery import build
    from googleapiclient.http import HttpMockSequence

    monkeypatch.setenv("EW_CALENDAR_IDS", "team@example.com")
    listing = json.dumps(
        {
            "items": [
                {
                    "id": "ev1",
                    "status": "confirmed",
                    "summary": "Alarm contract #expires",
                    "start": {"date": "2027-05-31"},
                    "creator": {"email": "dan@example.com"},
                },
                {
                    "id": "ev2",
                    "status": "confirmed",
                    "summary": "Team lunch",
                    "start": {"date": "2027-01-10"},
                },
            ],
            "nextSyncToken": "s1",
        }
    )
    current = {"http": HttpMockSequence([({"status": "200"}, listing)])}
    monkeypatch.setattr(
        wiring,
        "google_service",
        lambda settings, name, version: build(
            name, version, http=current["http"], static_discovery=True
        ),
    )
    with freeze_time("2026-12-01 15:00:00"):
        assert handlers.calendar_sync({}, None) == {"proposed": 1}
        current["http"] = HttpMockSequence(
            [({"status": "410"}, "{}"), ({"status": "200"}, listing)]
        )
        assert handlers.calendar_sync({}, None) == {"proposed": 0}  # resynced, not re-proposed
    [mail] = sent_mail()
    assert "Proposed row: Alarm contract" in mail.raw_data
    [row] = items(deployed, "ew-proposals")
    assert row["status"]["S"] == "open"


def event_sample(name: str, fallback: dict[str, Any]) -> dict[str, Any]:
    path = SAMPLES / name
    return json.loads(path.read_text()) if path.exists() else fallback


def test_a_forwarded_email_with_a_pdf_waits_for_textract_then_is_proposed(
    deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from email.message import EmailMessage

    from moto.textract.models import TextractBackend

    from backoffice.adapters.local.model import HeuristicModel
    from backoffice.core import expiry_watcher as ew
    from backoffice.core.intake import heuristic_proposal

    s3, sqs = deployed["s3"], deployed["sqs"]
    for bucket in (RAW_MIME, "ew-source-pdfs"):
        s3.create_bucket(Bucket=bucket)
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="ew-textract")["TopicArn"]
    inbox = sqs.create_queue(QueueName="textract-notices")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=inbox_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    for name, value in {
        "EW_RAW_MIME_BUCKET": RAW_MIME,
        "EW_SOURCE_PDFS_BUCKET": "ew-source-pdfs",
        "EW_TEXTRACT_TOPIC_ARN": topic,
        "EW_TEXTRACT_ROLE_ARN": "arn:aws:iam::123456789012:role/textract",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(
        TextractBackend,
        "BLOCKS",
        [
            {"BlockType": "PAGE", "Id": "p1"},
            {"BlockType": "LINE", "Id": "l1", "Text": "Commercial property insurance"},
            {"BlockType": "LINE", "Id": "l2", "Text": "Policy period ends: 30 September 2027"},
        ],
    )
    monkeypatch.setattr(
        wiring,
        "language_model",
        lambda system: HeuristicModel(
            lambda subject, text, sender: heuristic_proposal(
                subject, text, sender, ew.COLUMNS, dayfirst=False, today=date(2026, 12, 1)
            )
        ),
    )

    message = EmailMessage()
    message["From"] = "Dan Ruiz <dan@example.com>"
    message["Subject"] = "Fwd: property insurance"
    message.set_content("Policy attached.")
    message.add_attachment(
        b"%PDF-1.4 scanned", maintype="application", subtype="pdf", filename="policy.pdf"
    )
    s3.put_object(Bucket=RAW_MIME, Key="inbound/msg 1", Body=bytes(message))
    arrival = event_sample(
        "aws_powertools_s3Event.json",
        {"Records": [{"s3": {"bucket": {"name": ""}, "object": {"key": ""}}}]},
    )
    arrival["Records"][0]["s3"]["bucket"]["name"] = RAW_MIME
    arrival["Records"][0]["s3"]["object"]["key"] = "inbound/msg+1"

    with freeze_time("2026-12-01 15:00:00"):
        setup = copy.deepcopy(arrival)  # what SES writes when the receipt rule is created
        setup["Records"][0]["s3"]["object"]["key"] = "inbound/AMAZON_SES_SETUP_NOTIFICATION"
        skipped = handlers.intake_ses_parser(setup, None)["outcomes"]
        assert skipped == [
            {
                "message": "inbound/AMAZON_SES_SETUP_NOTIFICATION",
                "skipped": "SES's setup notice, no mail",
            }
        ]
        first = handlers.intake_ses_parser(arrival, None)
        assert first["outcomes"] == [{"message": "inbound/msg 1", "waiting_for": 1}]
        assert sent_mail() == []
        [notice] = sqs.receive_message(QueueUrl=inbox)["Messages"]
        completion = event_sample("aws_powertools_snsEvent.json", {"Records": [{"Sns": {}}]})
        completion["Records"][0]["Sns"]["Message"] = notice["Body"]
        second = handlers.intake_ses_parser(completion, None)
        assert second["outcomes"][0]["finished"] is True
        again = handlers.intake_ses_parser(completion, None)  # SNS delivers at least once
        assert again["outcomes"][0]["finished"] is False
    [mail] = sent_mail()
    body = email.message_from_string(mail.raw_data, policy=email.policy.default)
    text = body.get_body(("plain",)).get_content()
    assert "expires_on: 2027-09-30" in text and "owner: dan@example.com" in text
    assert "name: property insurance" in text
