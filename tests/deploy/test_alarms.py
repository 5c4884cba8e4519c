"""Each system's alarms as its seed's operator chapter names them, each fed: the handlers run in
process on fake adapters, the embedded-metric (EMF) lines they print are read back, and every
alarm on one of our metrics must read a namespace, name and dimensions some handler wrote (or,
for LogErrors, the log filter of every function's log group)."""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlencode

import pytest
from cafe import SG as CAFE_TZ
from cafe import Cafe
from harness import Harness
from saas import NY as SAAS_TZ
from saas import Saas
from salon import SG as SALON_TZ
from salon import Salon
from shop import SG as SHOP_TZ
from shop import Shop, messenger, signed
from slack_signing import slack_request
from world import NY, World

from backoffice.adapters.fake import InjectedFault
from backoffice.handlers import factories
from backoffice.handlers.web import event_from_request
from backoffice.ports import ReplyRefused
from backoffice.services.delivery import Unbuildable

DEPLOY = Path(__file__).parents[2] / "deploy"
Metric = tuple[str, str]  # (namespace, name)
Handler = Callable[..., dict[str, Any]]
Quiet = Callable[[Callable[[], None]], None]  # runs a call whose lines must say no error


class Seed(NamedTuple):
    """An alarm the seed asks for: what it reads, above what, over how long."""

    logical_id: str
    name: str
    reads: frozenset[Metric]
    threshold: float
    period: int


def seed(logical_id: str, name: str, reads: set[Metric], threshold: float, period: int) -> Seed:
    return Seed(logical_id, name, frozenset(reads), threshold, period)


DAY, HOUR = 86400, 3600


def tick(prefix: str, function: str, period: int) -> Seed:
    reads = {("AWS/Lambda", "Errors"), (f"backoffice/{prefix}", "TickFailed")}
    return seed("TickFailedAlarm", f"{prefix}-{function}-failed", reads, 0, period)


def sends(prefix: str, function: str, threshold: float = 1) -> Seed:
    reads = {(f"backoffice/{prefix}", "Sent"), (f"backoffice/{prefix}", "SendFailed")}
    name = f"{prefix}-{function}-failure-rate"
    return seed("SendFailureRateAlarm", name, reads, threshold, DAY)


def signatures(prefix: str, per_hour: int) -> Seed:
    reads = {(f"backoffice/{prefix}", "SignatureRejected")}
    return seed("SignatureRejectedAlarm", f"{prefix}-signature-rejected", reads, per_hour, HOUR)


def log_errors(prefix: str) -> Seed:
    reads = {(f"backoffice/{prefix}", "LogErrors")}
    return seed("LogErrorsAlarm", f"{prefix}-log-errors", reads, 5, HOUR)


SEEDS: dict[str, tuple[Seed, ...]] = {
    "expiry-watcher": (
        tick("ew", "watcher", DAY),
        sends("ew", "dispatch"),
        signatures("ew", 5),
        log_errors("ew"),
    ),
    "appointment-reminder": (
        tick("ar", "reminder", HOUR),
        sends("ar", "dispatch"),  # the e-mail and Slack sends: SMS has its own
        seed(
            "SmsFailureRateAlarm",
            "ar-sms-failure-rate",
            {("backoffice/ar", "Sent"), ("backoffice/ar", "SendFailed")},
            5,
            DAY,
        ),
        signatures("ar", 10),
        log_errors("ar"),
    ),
    "onboarding-guide": (
        tick("og", "guide", DAY),
        sends("og", "sender"),
        signatures("og", 5),
        seed(
            "BounceRateAlarm",
            "og-ses-bounce-rate",
            {("AWS/SES", "Reputation.BounceRate")},
            0.05,
            HOUR,
        ),
        log_errors("og"),
    ),
    "social-scheduler": (
        tick("ss", "scheduler", DAY),
        sends("ss", "sender"),
        signatures("ss", 5),
        log_errors("ss"),
    ),
    "social-inbox": (
        tick("siu", "sla-sweeper", HOUR),
        seed(
            "DeadLettersAlarm",
            "siu-intake-dlq-not-empty",
            {("AWS/SQS", "ApproximateNumberOfMessagesVisible")},
            0,
            300,
        ),
        seed(
            "LabelerErrorRateAlarm",
            "siu-labeler-error-rate",
            {("backoffice/siu", "Labeled"), ("backoffice/siu", "LabelerFailed")},
            1,
            DAY,
        ),
        seed("ReplyFailedAlarm", "siu-reply-failed", {("backoffice/siu", "ReplyFailed")}, 0, 300),
        signatures("siu", 5),
        log_errors("siu"),
    ),
}
PREFIX = {
    "expiry-watcher": "ew",
    "appointment-reminder": "ar",
    "onboarding-guide": "og",
    "social-scheduler": "ss",
    "social-inbox": "siu",
}
TOPIC = {name: "AlarmTopic" if name == "social-inbox" else "CostAlarmTopic" for name in SEEDS}


@cache
def template(system: str) -> dict[str, Any]:
    from cfnlint.decode import decode

    found, problems = decode(str(DEPLOY / f"{system}.yaml"))
    assert not problems, problems
    return found


def resources(system: str, kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: r["Properties"]
        for name, r in template(system)["Resources"].items()
        if r["Type"] == kind
    }


class Read(NamedTuple):
    """One metric an alarm reads."""

    namespace: str
    name: str
    dimensions: dict[str, Any]
    period: int


def reads(alarm: dict[str, Any]) -> list[Read]:
    """The metrics of a plain alarm, or of a metric-math alarm's MetricStat queries."""
    if "MetricName" in alarm:
        dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        return [Read(alarm["Namespace"], alarm["MetricName"], dims, alarm["Period"])]
    found = []
    for query in alarm["Metrics"]:
        if "MetricStat" in query:
            stat = query["MetricStat"]
            metric = stat["Metric"]
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            found.append(Read(metric["Namespace"], metric["MetricName"], dims, stat["Period"]))
    return found


def alarms(system: str) -> dict[str, dict[str, Any]]:
    return resources(system, "AWS::CloudWatch::Alarm")


CASES = [(system, s) for system, seeds in SEEDS.items() for s in seeds]


@pytest.mark.parametrize(("system", "expected"), CASES, ids=lambda c: getattr(c, "name", c))
def test_each_seed_alarm_exists_with_its_threshold_period_metric_and_topic(
    system: str, expected: Seed
) -> None:
    alarm = alarms(system).get(expected.logical_id)
    assert alarm is not None, f"{system} has no {expected.logical_id}"
    assert alarm["AlarmName"] == expected.name
    assert alarm["Threshold"] == expected.threshold
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["EvaluationPeriods"] == 1
    assert alarm["TreatMissingData"] == "notBreaching"  # no traffic is no failure
    assert alarm["AlarmActions"] == [{"Ref": TOPIC[system]}]
    found = reads(alarm)
    assert {(r.namespace, r.name) for r in found} == expected.reads
    assert {r.period for r in found} == {expected.period}
    if "Metrics" in alarm:  # metric math: the alarm evaluates exactly one expression
        returned = [q for q in alarm["Metrics"] if q.get("ReturnData", True)]
        assert len(returned) == 1 and "Expression" in returned[0]


@pytest.mark.parametrize("system", SEEDS)
def test_every_alarm_is_a_seed_alarm_and_the_topic_takes_cloudwatch(system: str) -> None:
    assert set(alarms(system)) == {s.logical_id for s in SEEDS[system]}
    policies = resources(system, "AWS::SNS::TopicPolicy").values()
    [policy] = [p for p in policies if p["Topics"] == [{"Ref": TOPIC[system]}]]
    [statement] = policy["PolicyDocument"]["Statement"]
    services = statement["Principal"]["Service"]
    assert {"budgets.amazonaws.com", "cloudwatch.amazonaws.com"} <= set(services)


@pytest.mark.parametrize("system", SEEDS)
def test_the_tick_alarm_watches_the_tick_function(system: str) -> None:
    alarm = alarms(system)["TickFailedAlarm"]
    [errors] = [r for r in reads(alarm) if r.namespace == "AWS/Lambda"]
    function = template(system)["Resources"][errors.dimensions["FunctionName"]["Ref"]]
    assert function["Properties"]["FunctionName"] == alarm["AlarmName"].removesuffix("-failed")


def test_the_dispatch_alarms_split_text_messages_from_the_rest() -> None:
    found = alarms("appointment-reminder")
    sms = reads(found["SmsFailureRateAlarm"])
    assert {r.dimensions["Channel"] for r in sms} == {"sms"}
    rest = found["SendFailureRateAlarm"]
    [expression] = [q["Expression"] for q in rest["Metrics"] if "Expression" in q]
    assert "smsfailed" in expression and "smssent" in expression  # the texts taken out


# --- the log filter ------------------------------------------------------------------------


def filters(system: str) -> dict[str, dict[str, Any]]:
    return resources(system, "AWS::Logs::MetricFilter")


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A CloudWatch regex filter pattern (%...%) as Python reads the same constructs."""
    assert pattern.startswith("%") and pattern.endswith("%"), pattern
    return re.compile(pattern[1:-1])


@pytest.mark.parametrize("system", SEEDS)
def test_every_function_log_group_feeds_log_errors(system: str) -> None:
    groups = {name for name in resources(system, "AWS::Logs::LogGroup")}
    by_group = {f["LogGroupName"]["Ref"]: f for f in filters(system).values()}
    assert set(by_group) == groups
    for found in by_group.values():
        [transformation] = found["MetricTransformations"]
        assert transformation["MetricName"] == "LogErrors"
        assert transformation["MetricNamespace"] == f"backoffice/{PREFIX[system]}"
        assert transformation["MetricValue"] == "1"


LINES_THAT_COUNT = [
    "[ERROR] ValueError: the sheet has no header",
    '{"event": "consume_failed", "error": "InjectedFault", "message_id": "m1"}',
    "2026-12-01T08:00:30Z 1f2e Task timed out after 30.03 seconds",
    "botocore.exceptions.ClientError: An error occurred (ThrottlingException)",
    "httpx.ReadTimeout: timed out",
    "Throttled by the platform: retry in 60 s",
]


@pytest.mark.parametrize("system", SEEDS)
def test_the_filter_counts_error_throttle_and_timeout_lines(system: str) -> None:
    patterns = {f["FilterPattern"] for f in filters(system).values()}
    assert len(patterns) == 1
    regex = pattern_regex(patterns.pop())
    assert all(regex.search(line) for line in LINES_THAT_COUNT)


def test_the_filter_is_quiet_while_all_goes_well(emitted: Emitted) -> None:
    """The lines of calls that went well (ticks that ran, sends that went, pages that opened)
    say none of the words, EMF lines included."""
    [pattern] = {f["FilterPattern"] for f in filters("expiry-watcher").values()}
    regex = pattern_regex(pattern)
    assert emitted.quiet, "the run printed nothing"
    assert [line for line in emitted.quiet if regex.search(line)] == []


# --- what the handlers emit ----------------------------------------------------------------


class Emitted(NamedTuple):
    documents: list[dict[str, Any]]  # every EMF document printed, in order
    quiet: list[str]  # the lines printed by calls where nothing went wrong


Key = tuple[str, str, frozenset[tuple[str, str]]]  # namespace, metric, dimension values


def metric_keys(documents: list[dict[str, Any]]) -> set[Key]:
    keys = set()
    for document in documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dims = frozenset((name, document[name]) for name in dimension_set)
                for metric in directive["Metrics"]:
                    keys.add((directive["Namespace"], metric["Name"], dims))
    return keys


@pytest.mark.parametrize("system", SEEDS)
def test_every_alarm_on_our_metrics_reads_what_a_handler_writes(
    system: str, emitted: Emitted
) -> None:
    written = metric_keys(emitted.documents)
    namespace = f"backoffice/{PREFIX[system]}"
    for name, alarm in alarms(system).items():
        for read in reads(alarm):
            if not read.namespace.startswith("backoffice/"):
                continue  # AWS's own metrics (Lambda errors, SQS depth, SES reputation)
            assert read.namespace == namespace, name
            if read.name == "LogErrors":
                assert read.dimensions == {}  # a log filter's metric has none
                continue  # fed by the filters (test_every_function_log_group_feeds_log_errors)
            key = (read.namespace, read.name, frozenset(read.dimensions.items()))
            assert key in written, f"{name} reads {key}, which no handler wrote"


def test_the_lines_are_embedded_metric_format(emitted: Emitted) -> None:
    assert emitted.documents
    for document in emitted.documents:
        aws = document["_aws"]
        assert isinstance(aws["Timestamp"], int) and aws["Timestamp"] > 1_600_000_000_000
        [directive] = aws["CloudWatchMetrics"]
        prefix = document["System"]
        assert directive["Namespace"] == f"backoffice/{prefix}"
        assert directive["Dimensions"][0] == ["System"]
        for dimension_set in directive["Dimensions"]:
            assert all(isinstance(document[name], str) for name in dimension_set)
        assert directive["Metrics"]
        for metric in directive["Metrics"]:
            assert metric["Unit"] == "Count"
            values = document[metric["Name"]]
            assert all(v >= 0 for v in (values if isinstance(values, list) else [values]))


def emf_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if '"_aws"' in line]


def test_an_invocation_is_one_line_even_when_it_raises_and_nothing_outside_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from backoffice.handlers import metrics

    metrics.count(metrics.SENT)  # `backoffice serve`, the CLI: no invocation, no line
    with metrics.invocation("ew"):
        pass  # nothing counted, nothing written
    assert emf_lines(capsys.readouterr().out) == []
    with pytest.raises(ValueError), metrics.invocation("ew"):
        metrics.count(metrics.SIGNATURE_REJECTED)
        metrics.count(metrics.SIGNATURE_REJECTED)
        metrics.count_delivery("deferred", "sms")  # not an outcome a rate is made of
        raise ValueError("the handler failed after counting")
    [line] = emf_lines(capsys.readouterr().out)
    assert line["SignatureRejected"] == [2.0] and line["System"] == "ew"
    assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["System"]]


# --- the representative calls --------------------------------------------------------------


@contextlib.contextmanager
def wired_to(harness: Harness) -> Iterator[None]:
    """The Lambda entry points on the harness's fake ports, as wiring would give them."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(factories, "wired", lambda system: (harness.ports, harness.settings))
        yield


def bus_details(harness: Harness) -> list[dict[str, Any]]:
    details = [d for _, d in harness.bus.events]
    harness.bus.events.clear()
    return details


def failing_sends(harness: Harness, times: int = 20) -> None:
    """Every send refused for good, the admin's notice about it too."""
    harness.mailer.faults.fail_next("send", Unbuildable("no such address"), times)
    harness.chat.faults.fail_next("post", Unbuildable("no such channel"), times)
    harness.sms.faults.fail_next("send", Unbuildable("not a number"), times)
    for name in ("facebook", "site", "instagram"):
        harness.posting.faults.fail_next(f"publish:{name}", Unbuildable("refused"), times)


def http_event(
    method: str,
    path: str,
    query: str = "",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    return event_from_request(method, path, query, headers or {}, body, "req-metrics")


def tick_fails(harness: Harness, handler: Handler) -> None:
    harness.blobs.faults.fail_next("get", times=5)
    with pytest.raises(InjectedFault):
        handler({})
    harness.blobs.faults.clear()


def dispatched(
    make: Callable[[], Harness], tick_handler: Handler, send: Handler, fail: bool
) -> None:
    """The tick's moves, each through the dispatch handler: sent, or all refused for good."""
    harness = make()
    with wired_to(harness):
        tick_handler({})
        booked = [p["move"] for _, p in harness.scheduler.booked.values()]
        details = bus_details(harness) + booked
        assert details, "the tick planned nothing to send"
        if fail:
            failing_sends(harness)
        statuses = {send({"detail": d})["status"] for d in details}
    assert ("failed" if fail else "sent") in statuses, statuses


def expiry_watcher(quiet: Quiet) -> None:
    from backoffice.handlers import expiry_watcher as h

    rows = [["LIC-1", "Licence", "2026-12-20", "maria@example.com", "", ""]]
    start = datetime(2026, 12, 1, 8, 0, tzinfo=NY)
    quiet(lambda: dispatched(lambda: World(rows, start), h.watcher, h.dispatch, fail=False))
    dispatched(lambda: World(rows, start), h.watcher, h.dispatch, fail=True)
    world = World(rows, start)
    with wired_to(world):
        assert h.ack_handler(http_event("GET", "/ew/ack", "t=forged.token"))["statusCode"] == 400
        payload = {"type": "block_actions", "user": {"id": "U1"}}
        refused = slack_request(start, payload, "not-the-signing-secret")
        assert h.ack_handler(refused)["statusCode"] == 401
        tick_fails(world, h.watcher)


def appointment_reminder(quiet: Quiet) -> None:
    from backoffice.handlers import appointment_reminder as h

    rows = ["A1,Mei,9123 4567,,2026-12-02 14:30"]
    start = datetime(2026, 12, 1, 14, 30, tzinfo=SALON_TZ)
    quiet(lambda: dispatched(lambda: Salon(rows, start), h.reminder, h.dispatch, fail=False))
    dispatched(lambda: Salon(rows, start), h.reminder, h.dispatch, fail=True)
    salon = Salon(rows, start)
    with wired_to(salon):
        page = h.reply_handler(http_event("GET", "/ar/r/A1/not-the-code"))
        assert page["statusCode"] == 410
        tick_fails(salon, h.reminder)


def onboarding_guide(quiet: Quiet) -> None:
    from backoffice.handlers import onboarding_guide as h

    rows = ["c1,Ada,ada@example.com,starter,2026-12-01 07:30,founder@example.com,,"]
    start = datetime(2026, 12, 1, 9, 0, tzinfo=SAAS_TZ)
    quiet(lambda: dispatched(lambda: Saas(rows, start), h.guide, h.sender, fail=False))
    dispatched(lambda: Saas(rows, start), h.guide, h.sender, fail=True)
    saas = Saas(rows, start)
    with wired_to(saas):
        headers = {"x-webhook-secret": "not-the-secret"}
        answer = h.enroll(http_event("POST", "/og/enroll", body=b"{}", headers=headers))
        assert answer["statusCode"] == 401
        bounce = {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bouncedRecipients": [{"emailAddress": "ada@example.com"}],
                "feedbackId": "f1",
            },
        }
        record = {"Sns": {"MessageId": "n1", "Message": json.dumps(bounce)}}
        assert h.bounce_handler({"Records": [record]})["outcomes"] == {"paused": 1}
        tick_fails(saas, h.guide)


def social_scheduler(quiet: Quiet) -> None:
    from backoffice.handlers import social_scheduler as h

    rows = ['p1,"Post p1","facebook",,2026-12-03 08:00,TRUE,']
    start = datetime(2026, 12, 3, 8, 0, tzinfo=CAFE_TZ)
    quiet(lambda: dispatched(lambda: Cafe(rows, start), h.scheduler, h.sender, fail=False))
    dispatched(lambda: Cafe(rows, start), h.scheduler, h.sender, fail=True)
    cafe = Cafe(rows, start)
    with wired_to(cafe):
        headers = {"x-webhook-secret": "not-the-secret"}
        draft = h.intake_draft_helper(http_event("POST", "/ss/draft", body=b"{}", headers=headers))
        assert draft["statusCode"] == 401
        tick_fails(cafe, h.scheduler)


def social_inbox(quiet: Quiet) -> None:
    from backoffice.handlers import social_inbox as h

    start = datetime(2026, 12, 3, 10, 0, tzinfo=SHOP_TZ)
    shop = Shop(start)
    body = json.dumps(messenger("c1", "m1", "Where is my order?", start)).encode()
    path = "/siu/webhook/facebook"

    def goes_well() -> None:
        with wired_to(shop):
            headers = {"x-hub-signature-256": signed(body)}
            assert (
                h.fb_connector(http_event("POST", path, body=body, headers=headers))["statusCode"]
                == 200
            )
            records = [{"messageId": "m1", "body": shop.queue.sent[0]}]
            assert h.labeler({"Records": records}) == {"batchItemFailures": []}
            h.sla_sweeper({})

    quiet(goes_well)
    with wired_to(shop):
        forged = {"x-hub-signature-256": signed(body, "not-the-app-secret")}
        assert (
            h.fb_connector(http_event("POST", path, body=body, headers=forged))["statusCode"] == 401
        )
        failed = h.labeler({"Records": [{"messageId": "m9", "body": "not a message"}]})
        assert failed == {"batchItemFailures": [{"itemIdentifier": "m9"}]}
        reply_fails(shop, h.reply_handler)
        tick_fails(shop, h.sla_sweeper)


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def reply_fails(shop: Shop, handler: Handler) -> None:
    """A teammate signs in by link and replies; the platform refuses the reply."""
    cookies: dict[str, str] = {}

    def call(method: str, path: str, form: dict[str, str] | None = None) -> dict[str, Any]:
        path, _, query = path.partition("?")
        headers = {"cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        if form is not None:
            headers["content-type"] = "application/x-www-form-urlencoded"
        body = urlencode(form or {}).encode()
        response = handler(http_event(method, path, query, body, headers))
        cookie = response["headers"].get("set-cookie", "")
        if cookie:
            name, _, rest = cookie.partition("=")
            cookies[name] = rest.split(";", 1)[0]
        return response

    csrf = CSRF.findall(call("GET", "/siu/inbox")["body"])[0]
    call("POST", "/siu/inbox/sign-in", {"csrf": csrf, "contact": "mei@shop.example"})
    [link] = re.findall(r"/siu/inbox/enter\?t=(\S+)", shop.mailer.sent[-1].text)
    call("POST", "/siu/inbox/enter", {"t": link})
    thread = next(t for t in shop.threads() if t.customer_id == "c1")
    here = f"/siu/inbox/t/{thread.thread_id}"
    csrf = CSRF.findall(call("GET", here)["body"])[0]
    shop.replies.faults.fail_next("send", ReplyRefused("(#10) outside of allowed window"))
    answer = call("POST", f"{here}/reply", {"csrf": csrf, "text": "On its way"})
    assert "problem=1" in answer["headers"]["location"]


SYSTEMS = (expiry_watcher, appointment_reminder, onboarding_guide, social_scheduler, social_inbox)


@pytest.fixture(scope="module")
def emitted() -> Emitted:
    out, quiet_lines = io.StringIO(), []

    def quiet(call: Callable[[], None]) -> None:
        """A call where nothing goes wrong: its lines are kept apart."""
        mark = len(out.getvalue())
        call()
        quiet_lines.extend(out.getvalue()[mark:].splitlines())

    with contextlib.redirect_stdout(out):
        for exercise in SYSTEMS:
            exercise(quiet)
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    documents = [line for line in lines if "_aws" in line]
    return Emitted(documents, quiet_lines)
