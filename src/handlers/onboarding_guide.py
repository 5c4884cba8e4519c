"""Lambda entry points of the onboarding guide (deploy/onboarding-guide.yaml names them): the
signup webhook, the daily guide, the done links and the owner's Slack buttons, SES bounces."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from backoffice.core.settings import Settings
from backoffice.handlers import factories, metrics
from backoffice.handlers.logs import log
from backoffice.handlers.web import Request, Route
from backoffice.ports import Ports
from backoffice.services import onboarding_guide as og
from backoffice.services.onboarding_guide.bounces import Feedback


def _enroll(
    request: Request, params: Mapping[str, str], ports: Ports, settings: Settings
) -> dict[str, Any]:
    """POST /og/enroll from the product: the signup becomes a row, once."""
    secret = request.headers.get("x-webhook-secret", "")
    answer = og.enroll(ports, settings, secret, request.body)
    for _ in range(WAITS):  # a concurrent retry of the same signup: wait for its answer
        if answer.body.get("status") != "in_progress":
            break
        time.sleep(WAIT_SECONDS)
        answer = og.enroll(ports, settings, secret, request.body)
    log(
        "enroll",
        status=answer.status,
        outcome=answer.body.get("status"),
        request_id=request.request_id,
    )
    if answer.status == 401:  # the product's shared secret did not match
        metrics.count(metrics.SIGNATURE_REJECTED)
    return _json(answer.status, answer.body)


def _json(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    if status == 503:
        headers["retry-after"] = "5"
    return {"statusCode": status, "headers": headers, "body": json.dumps(body)}


WAITS, WAIT_SECONDS = 20, 0.1
ENROLL = (Route("POST", og.ENROLL_PATH, _enroll),)


def _bounces(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """SES bounce and complaint notifications, one SNS record each. A record that is not an
    SES notification is logged and left: retrying it would not make it one."""
    with metrics.invocation(og.SYSTEM.prefix):
        outcomes = _feedback(event)
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    log("bounces", **counts, customers=[o.customer_id for o in outcomes if o.customer_id])
    return {"outcomes": counts}


def _feedback(event: Mapping[str, Any]) -> list[og.Bounced]:
    ports, settings = factories.wired(og.SYSTEM)
    outcomes = []
    for record in event.get("Records", []):
        try:
            notification = json.loads(record["Sns"]["Message"])
        except (KeyError, TypeError, ValueError):
            log("bounce_unreadable", message_id=record.get("Sns", {}).get("MessageId"))
            continue
        if isinstance(notification, dict):
            outcomes += og.bounced(ports, settings, notification)
            metrics.count(metrics.BOUNCED, _hard_bounces(notification))
    return outcomes


def _hard_bounces(notification: Mapping[str, Any]) -> int:
    """The addresses a notification reports as hard-bounced: what SES's bounce rate counts
    (soft bounces and complaints are not bounces there)."""
    feedback = Feedback.of(notification)
    return len(feedback.addresses) if feedback.kind == "bounce" and feedback.hard else 0


enroll = factories.Http(og.SYSTEM, ENROLL)
guide = factories.tick(og.SYSTEM)
sender = factories.dispatch(og.SYSTEM)
digest = factories.reports(og.SYSTEM)
summary = factories.summary(og.SYSTEM)
drive_sync = factories.drive_sync(og.SYSTEM)
intake_ses_parser = factories.intake_ses_parser(og.SYSTEM)
bounce_handler = _bounces
# The done links, the owner's links and Slack buttons; `backoffice serve` answers the webhook
# on the same table.
HTTP = factories.http(og.SYSTEM, ENROLL)
done_handler = factories.http(og.SYSTEM)
