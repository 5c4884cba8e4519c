"""End to end on moto: the product's signup webhook -> og-signups and the sheet in S3; the daily
guide -> EventBridge -> (SQS) -> sender -> SES through the configuration set; the customer's done
link through the done handler; an SES bounce through SNS that pauses the customer."""

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
import boto3
import pytest
from dynamo import drain as moves_in
from freezegun import freeze_time
from iam import ACCOUNT

from backoffice.handlers import onboarding_guide as handlers
from backoffice.services.onboarding_guide import SYSTEM

REGION = "us-east-1"
EXAMPLE = Path(__file__).parents[2] / "src/cli/examples/onboarding-guide"
HEADER = "customer_id,name,email,plan,signed_up_at,owner,timezone,status\n"
SHEET = HEADER + "c-1,Ada Lopez,ada@example.com,starter,2026-12-01 07:30,founder@example.com,,\n"
HOOK_SECRET = "hook-secret-from-secrets-manager"
CONFIGURATION_SET = "og-mail"
SIGNUP = {
    "signup_id": "s-77",
    "email": "zoe@example.com",
    "name": "Zoë Park",
    "plan": "team",
    "signed_up_at": "2026-12-01T13:55:00Z",
}


def settings_text() -> str:
    text = (EXAMPLE / "backoffice.toml").read_text().split("[secrets]")[0]
    return text.replace('"http://127.0.0.1:8787"', '"https://guide.example.com"')


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    documents = {name: (EXAMPLE / name).read_bytes() for name in ("rules.toml", "voice.toml")}
    with stack.deployed(
        SYSTEM,
        handlers,
        monkeypatch,
        region=REGION,
        sender="hello@example.com",
        settings_text=settings_text(),
        documents={**documents, "onboarding.csv": SHEET.encode()},
        secrets={"og/links/secret": "link-secret", "og/webhook/secret": HOOK_SECRET},
        extra_environment={
            "OG_DISPATCH_ARN": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:og-sender",
            "OG_SES_CONFIGURATION_SET": CONFIGURATION_SET,
        },
    ) as world:
        boto3.client("ses", region_name=REGION).create_configuration_set(
            ConfigurationSet={"Name": CONFIGURATION_SET}
        )
        yield world


def mails() -> list[Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    raw = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    return [email.message_from_string(m.raw_data, policy=email.policy.default) for m in raw]


def sheet(world: dict[str, Any]) -> str:
    bucket = stack.bucket_names(SYSTEM)["OnboardingBucket"]
    body = world["s3"].get_object(Bucket=bucket, Key="onboarding.csv")["Body"].read()
    return str(body.decode())


def http(handler: Any, method: str, path: str, body: bytes, headers: dict[str, str]) -> Any:
    event = {
        "version": "2.0",
        "rawPath": path.split("?")[0],
        "rawQueryString": path.partition("?")[2],
        "headers": headers,
        "requestContext": {
            "http": {"method": method, "path": path.split("?")[0]},
            "requestId": f"r-{method}-{len(body)}-{path}",
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
    return handler(event, None)


def enroll(body: dict[str, Any], secret: str = HOOK_SECRET) -> Any:
    raw = json.dumps(body).encode()
    headers = {"content-type": "application/json", "x-webhook-secret": secret}
    answer = http(handlers.enroll, "POST", "/og/enroll", raw, headers)
    return answer["statusCode"], json.loads(answer["body"])


def web(method: str, path: str, form: dict[str, str] | None = None) -> Any:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return http(handlers.done_handler, method, path, urlencode(form or {}).encode(), headers)


def guide_and_send(world: dict[str, Any]) -> set[str]:
    scheduled = {"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": {}}
    handlers.guide(scheduled, None)
    return {handlers.sender(e, None)["status"] for e in moves_in(world["sqs"], world["queue"])}


def bounce(address: str, feedback_id: str) -> dict[str, Any]:
    notification = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": address}],
            "feedbackId": feedback_id,
        },
        "mail": {"destination": [address]},
    }
    record = {"EventSource": "aws:sns", "Sns": {"MessageId": feedback_id}}
    record["Sns"]["Message"] = json.dumps(notification)
    return dict(handlers.bounce_handler({"Records": [record]}, None))


def test_signup_to_welcome_to_done_and_a_bounce_that_pauses_on_aws(
    deployed: dict[str, Any],
) -> None:
    with freeze_time("2026-12-01 14:00:00"):  # Tuesday 09:00 in New York
        assert enroll(SIGNUP, secret="wrong")[0] == 401
        status, refused = enroll({**SIGNUP, "email": "zoe at example"})
        assert status == 400 and refused["fields"] == ["email"]
        assert enroll(SIGNUP) == (200, {"status": "enrolled"})
        assert enroll(SIGNUP) == (200, {"status": "already_enrolled"})
        assert sheet(deployed).count("s-77,Zoë Park,zoe@example.com,team") == 1
        assert guide_and_send(deployed) == {"sent"}
        assert guide_and_send(deployed) <= {"duplicate", "dropped"}  # the same day again
    assert deployed["roles"].calls, "the handlers' calls are watched"
    welcomes = {m["To"]: m for m in mails()}
    assert set(welcomes) == {"ada@example.com", "zoe@example.com"}
    through_set = [
        call
        for call in deployed["roles"].calls
        if call[1] == "ses:SendRawEmail"
        and call[2].endswith(f":configuration-set/{CONFIGURATION_SET}")
    ]
    assert len(through_set) == 2, "every message goes through the set that reports bounces"

    text = welcomes["ada@example.com"].get_body(("plain",)).get_content()
    link = re.search(r"https://guide\.example\.com(/og/answer\?t=\S+)", text)
    assert link, "the welcome carries the done link"
    with freeze_time("2026-12-01 15:00:00"):
        page = web("GET", link.group(1))
        assert page["statusCode"] == 200
        token = re.search(r'name="t" value="([^"]+)"', page["body"])
        assert token
        assert web("POST", "/og/answer", {"t": token.group(1)})["statusCode"] == 200
        assert web("POST", "/og/answer", {"t": token.group(1)})["statusCode"] == 409
    audit = deployed["dynamodb"].scan(TableName="prod-og-audit")["Items"]
    assert {a["action"]["S"] for a in audit} >= {"step_done"}

    with freeze_time("2026-12-01 16:00:00"):
        assert bounce("zoe@example.com", "fb-1")["outcomes"] == {"paused": 1}
        assert bounce("zoe@example.com", "fb-1")["outcomes"] == {"unchanged": 1}
    zoe = next(line for line in sheet(deployed).splitlines() if line.startswith("s-77,"))
    assert zoe.endswith(",paused")
