"""End to end on moto: the daily scheduler at 07:00 in Singapore books each approved post's
channels as EventBridge Scheduler one-offs at their exact minute, flags a post a channel would
refuse (by SES, with its approved flag cleared in the sheet's mirror) and drops the standing
post's row with its review card; the sender, fired by a one-off, posts through the local Graph
API stand-in (a Facebook photo, an Instagram container and publish from a presigned link to
the render cache) once, whatever the duplicates; the card's approve link through the Function
URL books the post. Every AWS call is checked against the calling function's role."""

from __future__ import annotations

import base64
import csv
import email
import email.policy
import io
import itertools
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import aws_stack as stack
import boto3
import pytest
from dynamo import drain as moves_in
from freezegun import freeze_time
from iam import ACCOUNT
from PIL import Image
from platforms import PAGE_TOKEN, GraphStandIn, meta_graph

from backoffice.handlers import social_scheduler as handlers
from backoffice.services.social_scheduler import SYSTEM

REGION = "ap-southeast-1"
SG = ZoneInfo("Asia/Singapore")
EXAMPLE = Path(__file__).parents[2] / "src/cli/examples/social-scheduler"
GROUP = "ss-one-offs"
OWNER, SENDER = "owner@cafe.example", "posts@cafe.example"
WINTER = "Winter menu is here: hot chocolate, ginger tea and warm croissants, every morning from 8."
QUIZ = "Quiz night next Tuesday at 7pm. Teams of up to four; sign up at the counter."
STORY = "We have been baking since 2009, every loaf on site, every morning before dawn. " * 8
# Friday 4 December 2026: the standing Friday post falls due at 09:00 today.
SHEET = (
    "post_id,text,channels,image,publish_at,approved,template\n"
    f'welcome-winter,"{WINTER}","facebook, instagram",winter.jpg,2026-12-04 10:30,TRUE,\n'
    f"quiz-night,{QUIZ},facebook,,2026-12-04 18:00,,\n"
    f'too-long,"{STORY.strip()}",facebook,,2026-12-04 12:00,TRUE,\n'
)
FRIDAY = "friday-special-2026-12-04"


def utc(local: str) -> str:
    """A Singapore wall time as the UTC instant freezegun takes."""
    at = datetime.fromisoformat(local).replace(tzinfo=SG).astimezone(ZoneInfo("UTC"))
    return f"{at:%Y-%m-%d %H:%M:%S}"


TICK = utc("2026-12-04 07:00")  # the daily tick, Friday


def winter_jpeg() -> bytes:
    """A real photo-sized JPEG: larger than Instagram's 1080 px, so it is rendered down."""
    image = Image.new("RGB", (1600, 1200), (200, 120, 40))
    for x in range(0, 1600, 40):
        image.paste((250, 240, 220), (x, 0, x + 20, 1200))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def settings_text() -> str:
    text = (EXAMPLE / "backoffice.toml").read_text().split("[secrets]")[0]
    return text.replace('"http://127.0.0.1:8787"', '"https://cafe.example"')


def rules_text(graph: GraphStandIn) -> bytes:
    text = (EXAMPLE / "rules.toml").read_text()
    text = text.replace("https://graph.facebook.com/v21.0/CAFE_PAGE_ID/feed", graph.feed_url)
    text = text.replace("https://graph.facebook.com/v21.0/CAFE_IG_USER_ID", graph.ig_user_url)
    return text.encode()


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    token = json.dumps({"access_token": PAGE_TOKEN})
    with meta_graph() as graph:
        documents = {
            "rules.toml": rules_text(graph),
            "voice.toml": (EXAMPLE / "voice.toml").read_bytes(),
            "posts.csv": SHEET.encode(),
            "images/winter.jpg": winter_jpeg(),
        }
        with stack.deployed(
            SYSTEM,
            handlers,
            monkeypatch,
            region=REGION,
            sender=SENDER,
            settings_text=settings_text(),
            documents=documents,
            secrets={
                "ss/links/secret": "link-secret",
                "ss/channels/facebook": token,
                "ss/channels/instagram": token,
            },
            extra_environment={
                "SS_SCHEDULE_GROUP": GROUP,
                "SS_DISPATCH_ARN": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ss-sender",
            },
        ) as world:
            yield {**world, "graph": graph}


# --- what the stack holds -----------------------------------------------------------------------


def mails() -> list[Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    raw = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    return [email.message_from_string(m.raw_data, policy=email.policy.default) for m in raw]


def text_of(message: Any) -> str:
    return str(message.get_body(("plain",)).get_content())


def sheet(world: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The posts sheet's mirror in S3, by post id."""
    bucket = stack.bucket_names(SYSTEM)["PostsBucket"]
    body = world["s3"].get_object(Bucket=bucket, Key="posts.csv")["Body"].read()
    return {row["post_id"]: row for row in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}


def one_offs() -> dict[str, dict[str, Any]]:
    """The group's schedules by name, each with its target's payload."""
    scheduler = boto3.client("scheduler", region_name=REGION)
    names = [s["Name"] for s in scheduler.list_schedules(GroupName=GROUP)["Schedules"]]
    found = {}
    for name in names:
        schedule = scheduler.get_schedule(Name=name, GroupName=GROUP)
        found[name] = {**schedule, "payload": json.loads(schedule["Target"]["Input"])}
    return found


def booked(post_id: str) -> dict[str, dict[str, Any]]:
    """The post's one-offs by channel."""
    return {
        s["payload"]["move"]["fields"]["channel"]: s
        for s in one_offs().values()
        if s["payload"]["move"]["subject"] == post_id
    }


def items(world: dict[str, Any], table: str) -> list[dict[str, str]]:
    rows = world["dynamodb"].scan(TableName=f"{stack.TABLE_PREFIX}{table}")["Items"]
    return [{k: next(iter(v.values())) for k, v in row.items()} for row in rows]


def state_of(world: dict[str, Any], post_id: str) -> str:
    [status] = [r for r in items(world, "ss-status") if r["post_id"] == post_id]
    return status["state"]


def attempts(world: dict[str, Any], post_id: str) -> dict[str, list[dict[str, str]]]:
    """Each channel's attempt rows (not its claim)."""
    found: dict[str, list[dict[str, str]]] = {}
    for row in items(world, "ss-sends"):
        if row.get("post_id") == post_id and row["attempt"].startswith("attempt#"):
            found.setdefault(row["channel"], []).append(row)
    return found


def renders(world: dict[str, Any]) -> dict[str, bytes]:
    bucket = stack.bucket_names(SYSTEM)["RenderCacheBucket"]
    listed = world["s3"].list_objects_v2(Bucket=bucket).get("Contents", [])
    return {
        o["Key"]: world["s3"].get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed
    }


# --- the functions, as their triggers call them -------------------------------------------------


SCHEDULED = {"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": {}}


def morning_tick(world: dict[str, Any]) -> set[str]:
    """The daily schedule fires the scheduler; what it put on the bus reaches the sender."""
    handlers.scheduler(SCHEDULED, None)
    return {deliver(e) for e in moves_in(world["sqs"], world["queue"])}


def deliver(event: dict[str, Any]) -> str:
    """An event of the moves rule, as the rule invokes the sender with it."""
    return str(handlers.sender(event, None)["status"])


def fire(schedule: dict[str, Any]) -> str:
    """A one-off at its minute: the sender invoked with the schedule's input."""
    return str(handlers.sender(schedule["payload"], None)["status"])


_requests = itertools.count()


def web(method: str, path: str, form: dict[str, str] | None = None) -> Any:
    """A Function URL request to the approve handler (payload format 2.0)."""
    body = urlencode(form or {}).encode()
    event = {
        "version": "2.0",
        "rawPath": path.split("?")[0],
        "rawQueryString": path.partition("?")[2],
        "headers": {"content-type": "application/x-www-form-urlencoded"},
        "requestContext": {
            "http": {"method": method, "path": path.split("?")[0]},
            "requestId": f"r-{next(_requests)}",
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
    return handlers.approve_handler(event, None)


# --- the day ------------------------------------------------------------------------------------


def test_booked_at_the_minute_posted_once_on_each_channel_and_the_refusal_flagged_on_aws(
    deployed: dict[str, Any],
) -> None:
    graph: GraphStandIn = deployed["graph"]
    with freeze_time(TICK):
        handlers.scheduler(SCHEDULED, None)
        events = moves_in(deployed["sqs"], deployed["queue"])
        # The posts wait, booked; the refusal and the unapproved posts due today go to the owner.
        assert {e["detail-type"] for e in events} == {"ss.flag"}
        flagged = {(e["detail"]["subject"], e["detail"]["key"].split(":")[3]) for e in events}
        assert flagged == {("too-long", "refused"), ("quiz-night", "review"), (FRIDAY, "review")}
        assert {deliver(e) for e in events} == {"sent"}
        mailed = len(mails())  # the flag, and review cards for quiz night and the standing post
        assert {deliver(e) for e in events} <= {"duplicate", "dropped"}  # delivered again
        assert morning_tick(deployed) == set(), "a retried tick flags nothing again"
        assert len(mails()) == mailed == 3
    winter = booked("welcome-winter")
    assert len(one_offs()) == 2, "a retried tick books nothing twice"
    assert set(winter) == {"facebook", "instagram"}
    for schedule in winter.values():
        assert schedule["ScheduleExpression"] == "at(2026-12-04T10:30:00)"
        assert schedule["ScheduleExpressionTimezone"] == "Asia/Singapore"
        assert schedule["Target"]["Arn"].endswith(":function:ss-sender")
    assert not booked("quiz-night") and not booked("too-long")
    assert graph.landed == [], "nothing is posted before its minute"

    [flag] = [m for m in mails() if "too-long" in m["Subject"]]
    assert flag["To"] == OWNER and "needs a change" in flag["Subject"]
    assert "over its limit of 500" in text_of(flag)
    rows = sheet(deployed)
    assert rows["too-long"]["approved"] == ""
    assert rows["welcome-winter"]["approved"] == "TRUE"

    with freeze_time(utc("2026-12-04 10:30")):
        assert {fire(s) for s in winter.values()} == {"sent"}
    photos = [p for p in graph.landed if p["edge"] == "photos"]
    published = [p for p in graph.landed if p["edge"] == "media_publish"]
    assert len(photos) == len(published) == 1 and len(graph.landed) == 2
    assert photos[0]["caption"] == WINTER and photos[0]["source"].content_type == "image/jpeg"
    assert published[0]["caption"] == WINTER

    sends = attempts(deployed, "welcome-winter")
    assert set(sends) == {"facebook", "instagram"}
    for channel, rows_of_channel in sends.items():
        [attempt] = rows_of_channel
        assert attempt["attempt"] == "attempt#001" and attempt["result"] == "ok", channel
        assert attempt["posted_url"].startswith("https://www.")
    assert sends["facebook"][0]["posted_url"].endswith(photos[0]["id"])
    assert sends["instagram"][0]["posted_url"] == graph.media[published[0]["id"]]
    assert state_of(deployed, "welcome-winter") == "sent"

    link = urlsplit(published[0]["image_url"])
    assert "X-Amz-Signature" in parse_qs(link.query)
    assert link.netloc.startswith(stack.bucket_names(SYSTEM)["RenderCacheBucket"])
    rendered = renders(deployed)
    assert link.path.lstrip("/") in rendered and all(k.startswith("renders/") for k in rendered)
    with Image.open(io.BytesIO(rendered[link.path.lstrip("/")])) as picture:
        assert picture.format == "JPEG" and max(picture.size) <= 1080

    with freeze_time(utc("2026-12-04 10:31")):
        assert {fire(s) for s in winter.values()} <= {"duplicate", "dropped"}
    assert len(graph.landed) == 2, "a duplicate delivery posts nothing more"
    assert {c: len(r) for c, r in attempts(deployed, "welcome-winter").items()} == {
        "facebook": 1,
        "instagram": 1,
    }
    assert deployed["roles"].calls, "the handlers' calls are watched"


def test_the_standing_posts_review_card_approves_it_once_through_the_function_url_on_aws(
    deployed: dict[str, Any],
) -> None:
    with freeze_time(TICK):
        morning_tick(deployed)
    assert sheet(deployed)[FRIDAY]["approved"] == ""
    assert not booked(FRIDAY) and not booked("quiz-night")
    [card] = [m for m in mails() if FRIDAY in m["Subject"]]
    assert card["To"] == OWNER
    link = re.search(r"Approve: https://cafe\.example(/ss/review\?t=\S+)", text_of(card))
    assert link, "the card carries the approve link"

    with freeze_time(utc("2026-12-04 08:00")):
        page = web("GET", link.group(1))
        assert page["statusCode"] == 200
        assert sheet(deployed)[FRIDAY]["approved"] == "" and not booked(FRIDAY)
        token = re.search(r'name="t" value="([^"]+)"', page["body"])
        assert token
        assert web("POST", "/ss/review", {"t": token.group(1)})["statusCode"] == 200
        assert web("POST", "/ss/review", {"t": token.group(1)})["statusCode"] == 409
    assert sheet(deployed)[FRIDAY]["approved"] == "TRUE"
    friday = booked(FRIDAY)
    assert set(friday) == {"facebook"}
    assert friday["facebook"]["ScheduleExpression"] == "at(2026-12-04T09:00:00)"
    assert not booked("quiz-night"), "an unapproved post is never booked"

    with freeze_time(utc("2026-12-04 09:00")):
        assert fire(friday["facebook"]) == "sent"
    graph: GraphStandIn = deployed["graph"]
    [posted] = [p for p in graph.landed if p["edge"] == "feed"]
    assert "two croissants for the price of one" in posted["message"]
    audit = items(deployed, "ss-audit")
    assert {a["action"] for a in audit if a["post_id"] == FRIDAY} >= {"approve"}
