"""SES and EventBridge under moto, and EventBridge's partial failures under botocore's Stubber."""

from __future__ import annotations

import email
import email.policy
import json

import boto3
import pytest
from botocore.stub import Stubber
from conftest import REGION, aws

from backoffice.adapters.aws.messaging import EventBridgeBus, SesMailer
from backoffice.ports import Email


def test_ses_sends_the_raw_message() -> None:
    with aws():
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        client = boto3.client("ses", region_name=REGION)
        client.verify_email_identity(EmailAddress="watcher@example.com")
        mailer = SesMailer(client, "watcher@example.com")
        message_id = mailer.send(
            Email(
                to=("maria@example.com",),
                subject="Licence: renew",
                text="Act by 2026-12-20.\n",
                idempotency_key="ew:LIC-1:2026-12-20:first_alert",
            )
        )
        [sent] = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    assert message_id
    parsed = email.message_from_string(sent.raw_data, policy=email.policy.default)
    assert parsed["To"] == "maria@example.com" and parsed["Subject"] == "Licence: renew"
    assert parsed["X-Backoffice-Key"] == "ew:LIC-1:2026-12-20:first_alert"
    assert parsed.get_body(("plain",)).get_content() == "Act by 2026-12-20.\n"


def test_events_reach_a_queue_through_a_rule() -> None:
    with aws():
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="dispatch")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(Name="ew-moves", EventPattern=json.dumps({"source": ["backoffice.ew"]}))
        events.put_targets(Rule="ew-moves", Targets=[{"Id": "q", "Arn": arn}])
        bus = EventBridgeBus(events, "default", "backoffice.ew")
        bus.emit([("ew.first_alert", {"key": f"k{n}"}) for n in range(23)])
        bus.emit([])
        received = []
        while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            received += [json.loads(m["Body"]) for m in batch]
            for m in batch:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    assert sorted(e["detail"]["key"] for e in received) == sorted(f"k{n}" for n in range(23))
    assert {e["detail-type"] for e in received} == {"ew.first_alert"}


def test_only_refused_entries_are_sent_again_and_persistent_refusal_raises() -> None:
    client = boto3.client(
        "events", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    bus = EventBridgeBus(client, "default", "backoffice.ew")
    with Stubber(client) as stub:
        stub.add_response(
            "put_events",
            {
                "FailedEntryCount": 1,
                "Entries": [
                    {"EventId": "1"},
                    {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow"},
                ],
            },
        )
        stub.add_response(
            "put_events",
            {"FailedEntryCount": 0, "Entries": [{"EventId": "2"}]},
            expected_params={
                "Entries": [
                    {
                        "EventBusName": "default",
                        "Source": "backoffice.ew",
                        "DetailType": "ew.reminder",
                        "Detail": '{"key": "b"}',
                    }
                ]
            },
        )
        bus.emit([("ew.first_alert", {"key": "a"}), ("ew.reminder", {"key": "b"})])
        stub.assert_no_pending_responses()
    refused = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]}
    with Stubber(client) as stub:
        for _ in range(4):
            stub.add_response("put_events", refused)
        with pytest.raises(RuntimeError, match="refused 1 events"):
            bus.emit([("ew.escalate", {"key": "c"})])
