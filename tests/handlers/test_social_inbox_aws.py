"""End to end on moto: Meta's handshake and signed webhooks through the connectors' Function URLs
(their own stack, deploy/stacks/social-inbox-connectors.yaml) -> the SQS intake queue -> the
labeler as its event-source mapping invokes it (Bedrock's Converse labels each message) -> the
threads, assignments and load counters in DynamoDB, routed by the roster's working hours at that
minute; a record that is no message fails alone and, after its fifth receive, waits in the
dead-letter queue the digest counts; the SLA sweeper re-routes a thread past its target with a
notice to the team's Slack channel. Every AWS call is checked against the calling function's role
in the template that declares it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import aws_stack as stack
import pytest
from botocore.awsrequest import AWSResponse
from freezegun import freeze_time
from iam import ACCOUNT
from standins import SLACK_TOKEN, SlackStandIn, slack_api

from backoffice.adapters.slack import chat
from backoffice.core import social_inbox as core
from backoffice.handlers import social_inbox as handlers
from backoffice.handlers import wiring
from backoffice.services.social_inbox import SYSTEM

REGION = "ap-southeast-1"
SG = ZoneInfo("Asia/Singapore")
EXAMPLE = Path(__file__).parents[2] / "src/cli/examples/social-inbox"
CONNECTORS = "social-inbox-connectors"
FB_SECRET, WA_SECRET = "fb-app-secret-from-meta", "wa-app-secret-from-meta"
VERIFY_TOKEN = "verify-token-typed-into-the-meta-dashboard"
REFUND = (EXAMPLE / "samples/facebook-refund.json").read_bytes()
HOURS = (EXAMPLE / "samples/whatsapp-hours.json").read_bytes()


def utc(local: str) -> str:
    """A Singapore wall time as the UTC instant freezegun takes."""
    at = datetime.fromisoformat(local).replace(tzinfo=SG).astimezone(ZoneInfo("UTC"))
    return f"{at:%Y-%m-%d %H:%M:%S}"


# Thursday 4 December 2025, 10:00 in Singapore: Mei (Singapore, from 09:00) is working; Ravi
# (Kolkata, from 08:00 there) starts at 10:30 Singapore time; Lena is away; Sam's hours are
# unreadable, so he gets nothing.
THURSDAY = utc("2025-12-04 10:00")


def settings_text() -> str:
    return (EXAMPLE / "backoffice.toml").read_text().split("[secrets]")[0]


# --- Bedrock, answering the labeler --------------------------------------------------------------


class Bedrock:
    """Bedrock's Converse on the wiring's own client (so its call is checked against the role):
    every request kept; each message labelled as a model reading the rules doc would label it
    (its topics' keywords, its urgent words), in English."""

    def __init__(self, rules: str) -> None:
        self.rules = core.load_rules(rules)
        self.requests: list[dict[str, Any]] = []

    def asked(self, params: dict[str, Any], **_: Any) -> None:
        self.requests.append(params)

    def answer(self, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        prompt = self.requests[-1]["messages"][0]["content"][0]["text"]
        text = prompt.split("The message:\n", 1)[1]
        label = core.keyword_label(text, self.rules)
        said = {
            "topic": label.topic,
            "urgency": label.urgency,
            "language": "en",
            "summary": f"Customer: {text[:80]}",
        }
        parsed = {
            "output": {"message": {"role": "assistant", "content": [{"text": json.dumps(said)}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 90, "outputTokens": 40, "totalTokens": 130},
            "metrics": {"latencyMs": 300},
            "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0},
        }
        return AWSResponse("https://bedrock-runtime.invalid", 200, {}, None), parsed


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    rules = (EXAMPLE / "rules.toml").read_text()
    with slack_api() as slack:
        monkeypatch.setattr(
            chat, "web_client", lambda token, base_url=None: slack_client(token, slack)
        )
        with stack.deployed(
            SYSTEM,
            handlers,
            monkeypatch,
            region=REGION,
            sender="inbox@shop.example",
            settings_text=settings_text(),
            documents={
                "rules.toml": rules.encode(),
                "roster.csv": (EXAMPLE / "roster.csv").read_bytes(),
            },
            secrets={
                "siu/fb/app-secret": FB_SECRET,
                "siu/wa/app-secret": WA_SECRET,
                "siu/meta/verify-token": VERIFY_TOKEN,
                "siu/links/secret": "link-secret",
                "siu/slack/bot-token": SLACK_TOKEN,
            },
            extra_environment={"SIU_MODEL_ID": wiring.DEFAULT_MODEL},
        ) as world:
            bedrock = Bedrock(rules)
            events = wiring.aws_client("bedrock-runtime").meta.events
            events.register("before-parameter-build.bedrock-runtime.Converse", bedrock.asked)
            events.register("before-call.bedrock-runtime.Converse", bedrock.answer)
            yield {**world, "slack": slack, "bedrock": bedrock}


def slack_client(token: str, slack: SlackStandIn) -> Any:
    from slack_sdk import WebClient

    return WebClient(token=token, base_url=slack.base_url)


# --- the Function URLs ---------------------------------------------------------------------------

_requests = itertools.count(1)


def url_event(
    method: str,
    path: str,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    encoded: bool = False,
) -> dict[str, Any]:
    """A Function URL request (payload format 2.0) as Meta's servers make it."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"user-agent": "facebookexternalua", **(headers or {})},
        "requestContext": {
            "accountId": "anonymous",
            "domainName": "abcdefgh.lambda-url.ap-southeast-1.on.aws",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1"},
            "requestId": f"r-{next(_requests)}",
            "routeKey": "$default",
        },
        "isBase64Encoded": encoded,
    }
    if query:
        event["queryStringParameters"] = dict(parse_qsl(query))
    if body is not None:
        event["body"] = base64.b64encode(body).decode() if encoded else body.decode("utf-8")
    return event


def signed(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(connector: Any, platform: str, body: bytes, signature: str, encoded: bool = False) -> Any:
    headers = {"content-type": "application/json", "x-hub-signature-256": signature}
    event = url_event(
        "POST", f"/siu/webhook/{platform}", headers=headers, body=body, encoded=encoded
    )
    answer = connector(event, None)
    return answer["statusCode"], answer["body"]


def subscribe(token: str) -> Any:
    query = urlencode(
        {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": token}
    )
    answer = handlers.fb_connector(url_event("GET", "/siu/webhook/facebook", query=query), None)
    return answer["statusCode"], answer["body"]


# --- the queue, as the labeler's event-source mapping reads it -----------------------------------


def queue_url(world: dict[str, Any], logical: str = "IntakeQueue") -> str:
    return str(world["queues"][logical])


def waiting(world: dict[str, Any], logical: str = "IntakeQueue") -> int:
    """Messages in the queue: visible and in flight."""
    attributes = world["sqs"].get_queue_attributes(
        QueueUrl=queue_url(world, logical),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def poll(world: dict[str, Any]) -> list[dict[str, Any]]:
    """One poll of the event-source mapping, with the labeler's role: the batch as SQS records."""
    client = wiring.aws_client("sqs")
    with world["roles"].acting_as("LabelerFunction"):
        received = client.receive_message(
            QueueUrl=queue_url(world), MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:siu-intake-queue"
    return [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m["Attributes"],
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": arn,
            "awsRegion": REGION,
        }
        for m in received
    ]


def invoke(world: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """The labeler on the batch; the mapping then deletes what it did not name as failed."""
    answer = dict(handlers.labeler({"Records": records}, None))
    failed = {failure["itemIdentifier"] for failure in answer["batchItemFailures"]}
    done = [r for r in records if r["messageId"] not in failed]
    if done:
        with world["roles"].acting_as("LabelerFunction"):
            wiring.aws_client("sqs").delete_message_batch(
                QueueUrl=queue_url(world),
                Entries=[
                    {"Id": str(n), "ReceiptHandle": r["receiptHandle"]} for n, r in enumerate(done)
                ],
            )
    return answer


# --- what the tables hold ------------------------------------------------------------------------


def items(world: dict[str, Any], table: str) -> list[dict[str, Any]]:
    rows = world["dynamodb"].scan(TableName=f"{stack.TABLE_PREFIX}{table}")["Items"]
    return sorted(
        ({k: plain(v) for k, v in row.items()} for row in rows),
        key=lambda row: json.dumps(row, sort_keys=True, default=str),
    )


def plain(value: dict[str, Any]) -> Any:
    from boto3.dynamodb.types import TypeDeserializer

    found = TypeDeserializer().deserialize(value)
    return int(found) if isinstance(found, Decimal) else found


def threads(world: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The threads by platform (each customer here writes on one)."""
    return {t["platform"]: t for t in items(world, "siu-threads") if t["kind"] == "thread"}


def assignments(world: dict[str, Any], thread_id: str) -> list[dict[str, Any]]:
    rows = [a for a in items(world, "siu-assignments") if a["thread_id"] == thread_id]
    return sorted(rows, key=lambda a: a["assigned_at"])


def loads(world: dict[str, Any]) -> dict[str, int]:
    return {row["assignee"]: row["open_threads"] for row in items(world, "siu-loadcount")}


def state(world: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    tables = ("siu-threads", "siu-assignments", "siu-loadcount", "siu-turns", "siu-audit")
    return {table: items(world, table) for table in tables}


def local(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).astimezone(SG)


def posts_to(slack: SlackStandIn, channel: str) -> list[str]:
    return [slack.messages[(c, ts)]["text"] for asked, c, ts in slack.posts if asked == channel]


# --- the day -------------------------------------------------------------------------------------


def test_webhooks_are_verified_queued_labelled_routed_and_rerouted_past_their_target_on_aws(
    deployed: dict[str, Any],
) -> None:
    with freeze_time(THURSDAY):
        # Meta's subscription handshake, through the Messenger connector's Function URL.
        assert subscribe(VERIFY_TOKEN) == (200, "1158201444")
        assert subscribe("a-guess")[0] == 403

        # A forged body, and one signed with another platform's secret: 401, nothing queued.
        assert post(handlers.fb_connector, "facebook", REFUND, signed(REFUND, "forged"))[0] == 401
        assert post(handlers.wa_connector, "whatsapp", HOURS, signed(HOURS, FB_SECRET))[0] == 401
        assert waiting(deployed) == 0

        # The samples, signed over their exact bytes; WhatsApp's body arrives base64-encoded.
        status, body = post(handlers.fb_connector, "facebook", REFUND, signed(REFUND, FB_SECRET))
        assert (status, json.loads(body)) == (200, {"status": "ok", "queued": 1, "ignored": 0})
        wa = post(handlers.wa_connector, "whatsapp", HOURS, signed(HOURS, WA_SECRET), encoded=True)
        assert wa[0] == 200 and json.loads(wa[1])["queued"] == 1
        assert waiting(deployed) == 2

        batch = poll(deployed)
        assert len(batch) == 2
        queued = {json.loads(r["body"])["platform"]: json.loads(r["body"]) for r in batch}
        assert queued["facebook"]["sender_id"] == "7105000000000002"
        assert queued["whatsapp"]["sender_name"] == "Sheena Nelson"
        assert invoke(deployed, batch) == {"batchItemFailures": []}
        assert waiting(deployed) == 0, "the mapping deleted the batch it was told succeeded"

    bedrock: Bedrock = deployed["bedrock"]
    assert len(bedrock.requests) == 2, "one Converse call per message"
    asked = bedrock.requests[0]
    assert asked["modelId"] == wiring.DEFAULT_MODEL
    assert deployed["roles"].template["Parameters"]["ModelId"]["Default"] == wiring.DEFAULT_MODEL
    assert asked["system"] == [{"text": core.LABEL_INSTRUCTIONS}]
    prompt = asked["messages"][0]["content"][0]["text"]
    assert "- billing: refund, invoice" in prompt and "Urgent when it says: " in prompt

    found = threads(deployed)
    assert set(found) == {"facebook", "whatsapp"}
    refund, hours = found["facebook"], found["whatsapp"]
    # "refund" makes it billing, whose team is support; "charged twice" makes it urgent. Only
    # Mei of support is at work at 10:00 Singapore time, so both threads are hers.
    assert (refund["topic"], refund["urgency"], refund["team"]) == ("billing", "urgent", "support")
    assert (refund["assignee"], refund["status"], refund["label_source"]) == (
        "mei",
        "open",
        "model",
    )
    assert local(refund["sla_due"]) == datetime(2025, 12, 4, 10, 30, tzinfo=SG)  # 30 minutes
    assert refund["customer_id"] == "7105000000000002"
    assert [m["text"] for m in refund["messages"]] == [
        "I was charged twice for my last purchase, please refund one of them."
    ]
    assert (hours["topic"], hours["urgency"], hours["team"]) == ("hours", "normal", "support")
    assert hours["assignee"] == "mei"
    assert local(hours["sla_due"]) == datetime(2025, 12, 4, 14, 0, tzinfo=SG)  # 240 minutes
    [first] = assignments(deployed, refund["thread_id"])
    assert (first["assignee"], first["team"], first["status"]) == ("mei", "support", "assigned")
    assert first["reason"] == "urgent: least loaded"
    [of_hours] = assignments(deployed, hours["thread_id"])
    assert (of_hours["assignee"], of_hours["reason"]) == ("mei", "least loaded, in turn")
    assert loads(deployed) == {"mei": 2}
    pointers = [t for t in items(deployed, "siu-threads") if t["kind"] == "current"]
    assert {p["current"] for p in pointers} == {refund["thread_id"], hours["thread_id"]}
    audit = {(a["thread_id"], a["action"]) for a in items(deployed, "siu-audit")}
    assert audit == {
        (refund["thread_id"], "new"),
        (refund["thread_id"], "assigned"),
        (hours["thread_id"], "new"),
        (hours["thread_id"], "assigned"),
    }

    # SQS delivers at least once, Meta re-delivers for 36 hours: the same message changes nothing.
    before = state(deployed)
    with freeze_time(utc("2025-12-04 10:05")):
        assert invoke(deployed, batch) == {"batchItemFailures": []}
        again = post(handlers.fb_connector, "facebook", REFUND, signed(REFUND, FB_SECRET))
        assert again[0] == 200
        assert invoke(deployed, poll(deployed)) == {"batchItemFailures": []}
    assert state(deployed) == before, "no second thread, no counter moved"
    assert len(bedrock.requests) == 2, "a message seen before is not labelled again"

    # Past the refund's target: Ravi, the assignee's backup, has started work (08:01 in
    # Kolkata), so the sweeper hands it to him and tells the support channel, once.
    slack: SlackStandIn = deployed["slack"]
    with freeze_time(utc("2025-12-04 10:29")):
        assert handlers.sla_sweeper({"source": "aws.scheduler"}, None) == {
            "moves": 0,
            "problems": 1,  # Sam's working hours
        }
    assert loads(deployed) == {"mei": 2} and slack.posts == []
    with freeze_time(utc("2025-12-04 10:31")):
        handlers.sla_sweeper({"source": "aws.scheduler"}, None)
        handlers.sla_sweeper({"source": "aws.scheduler"}, None)  # the next sweep: nothing more
    found = threads(deployed)
    assert found["facebook"]["assignee"] == "ravi"
    assert local(found["facebook"]["sla_due"]) == datetime(2025, 12, 4, 11, 1, tzinfo=SG)
    assert found["whatsapp"]["assignee"] == "mei", "the hours thread is within its target"
    history = assignments(deployed, refund["thread_id"])
    assert [(a["assignee"], a["reason"]) for a in history] == [
        ("mei", "urgent: least loaded"),
        ("ravi", "SLA breached: backup ravi"),
    ]
    assert loads(deployed) == {"mei": 1, "ravi": 1}
    [notice] = posts_to(slack, "C0SUPPORT01")
    assert refund["thread_id"] in notice and "passed its target with mei" in notice
    assert "now goes to ravi" in notice
    [sent] = [n for n in items(deployed, "siu-notices") if n["kind"] == "rerouted"]
    assert (sent["status"], sent["recipient"]) == ("sent", "C0SUPPORT01")
    rerouted = [a for a in items(deployed, "siu-audit") if a["action"] == "reassigned"]
    assert [(a["by_user"], a["after"]["to"]) for a in rerouted] == [("sla sweeper", "ravi")]
    assert deployed["roles"].calls and deployed["stacks"][CONNECTORS].calls, "calls are watched"


def test_a_record_that_is_no_message_fails_alone_then_waits_in_the_dead_letter_queue_on_aws(
    deployed: dict[str, Any],
) -> None:
    follow_up = json.loads(HOURS)
    message = follow_up["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update(id="wamid.FOLLOWUP0001", timestamp="1764813900")  # Thursday 10:05
    message["text"]["body"] = "Also, is there parking nearby?"
    later = json.dumps(follow_up).encode()
    with freeze_time(THURSDAY) as clock:
        post(handlers.wa_connector, "whatsapp", HOURS, signed(HOURS, WA_SECRET))
        assert invoke(deployed, poll(deployed)) == {"batchItemFailures": []}
        clock.tick(300)
        assert post(handlers.wa_connector, "whatsapp", later, signed(later, WA_SECRET))[0] == 200
        deployed["sqs"].send_message(QueueUrl=queue_url(deployed), MessageBody="{}")
        batch = poll(deployed)
        [bad] = [r for r in batch if r["body"] == "{}"]
        assert len(batch) == 2
        assert invoke(deployed, batch) == {
            "batchItemFailures": [{"itemIdentifier": bad["messageId"]}]
        }
        # The good record was processed (and deleted); the customer's thread holds both messages.
        [thread] = threads(deployed).values()
        assert [m["text"] for m in thread["messages"]] == [
            "Are you open on Sunday? And until what time?",
            "Also, is there parking nearby?",
        ]
        assert thread["assignee"] == "mei" and loads(deployed) == {"mei": 1}
        assert waiting(deployed) == 1 and waiting(deployed, "DeadLetterQueue") == 0

        # The queue's redrive policy: four more receives fail it, then it goes to the DLQ.
        for _ in range(4):
            clock.tick(361)  # past the queue's visibility timeout
            [again] = poll(deployed)
            assert again["messageId"] == bad["messageId"]
            assert invoke(deployed, [again])["batchItemFailures"] == [
                {"itemIdentifier": bad["messageId"]}
            ]
        clock.tick(361)
        assert poll(deployed) == []
        assert waiting(deployed) == 0 and waiting(deployed, "DeadLetterQueue") == 1

    with freeze_time(utc("2025-12-04 18:00")):
        first = handlers.digest({"source": "aws.scheduler"}, None)
        again = handlers.digest({"source": "aws.scheduler"}, None)
    assert first == {"status": "sent", "sent": {"C0SHOPTEAM1": "sent"}}
    assert again == {"status": "not_due", "sent": {}}
    [digest] = posts_to(deployed["slack"], "C0SHOPTEAM1")
    assert "Messages that could not be processed (in the dead-letter queue): 1" in digest
    assert "Still open: 1 (0 waiting in a team's queue)" in digest


def test_a_message_nobody_can_take_now_waits_in_its_teams_queue_until_someone_can_on_aws(
    deployed: dict[str, Any],
) -> None:
    slack: SlackStandIn = deployed["slack"]
    with freeze_time(utc("2025-12-04 19:30")):  # Mei left at 18:00, Ravi at 18:30 (16:00 IST)
        assert post(handlers.fb_connector, "facebook", REFUND, signed(REFUND, FB_SECRET))[0] == 200
        assert invoke(deployed, poll(deployed)) == {"batchItemFailures": []}
    [refund] = threads(deployed).values()
    assert (refund["team"], refund["assignee"], refund["status"]) == ("support", None, "open")
    assert local(refund["sla_due"]) == datetime(2025, 12, 5, 9, 30, tzinfo=SG)  # business time
    [waits] = assignments(deployed, refund["thread_id"])
    assert (waits["status"], waits["team"]) == ("queued", "support")
    assert "assignee" not in waits or waits["assignee"] is None
    assert loads(deployed) == {}
    [notice] = posts_to(slack, "C0SUPPORT01")
    assert "waits in the support queue" in notice

    with freeze_time(utc("2025-12-05 09:01")):  # Friday: Mei has started
        handlers.sla_sweeper({"source": "aws.scheduler"}, None)
    assert threads(deployed)["facebook"]["assignee"] == "mei"
    history = assignments(deployed, refund["thread_id"])
    assert [(a["status"], a.get("assignee")) for a in history] == [
        ("queued", None),
        ("assigned", "mei"),
    ]
    assert loads(deployed) == {"mei": 1}
