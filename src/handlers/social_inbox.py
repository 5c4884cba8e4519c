"""Lambda entry points of the social inbox (deploy/social-inbox.yaml names them): a connector
per platform (its Function URL answers Meta's handshake and webhooks), the labeler on the
intake queue, the router, the SLA sweeper, the digest, and the reply handler's links."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backoffice.core.settings import Settings
from backoffice.handlers import factories, metrics
from backoffice.handlers.logs import log
from backoffice.handlers.web import Endpoint, Request, Route
from backoffice.ports import Ports
from backoffice.services import social_inbox as si


def _verify(
    request: Request, params: Mapping[str, str], ports: Ports, settings: Settings
) -> dict[str, Any]:
    """GET: Meta's subscription handshake."""
    answer = si.handshake(settings, params["platform"], request.query)
    log("webhook_handshake", platform=params["platform"], status=answer.status)
    if answer.status == 403:  # the subscription's verify token did not match
        metrics.count(metrics.SIGNATURE_REJECTED)
    return _response(answer)


def _webhook(
    request: Request, params: Mapping[str, str], ports: Ports, settings: Settings
) -> dict[str, Any]:
    """POST: a platform's webhook, verified over its raw bytes, its messages queued."""
    signature = request.headers.get("x-hub-signature-256", "")
    answer = si.receive(ports, settings, params["platform"], request.body, signature)
    log("webhook", platform=params["platform"], status=answer.status, **answer.counts)
    if answer.status == 401:  # X-Hub-Signature-256 did not match the body
        metrics.count(metrics.SIGNATURE_REJECTED)
    metrics.count(metrics.MESSAGES_QUEUED, answer.counts.get("queued", 0))
    return _response(answer)


def _response(answer: si.Answer) -> dict[str, Any]:
    return {
        "statusCode": answer.status,
        "headers": {"content-type": answer.content_type},
        "body": answer.body,
    }


WEBHOOKS = (
    Route("GET", f"{si.WEBHOOK_PATH}/{{platform}}", _verify),
    Route("POST", f"{si.WEBHOOK_PATH}/{{platform}}", _webhook),
)


def _connector(platform: str) -> factories.Http:
    """One platform's Function URL: its own path only, so a body signed with its secret is
    never taken as another platform's."""

    def bound(endpoint: Endpoint) -> Endpoint:
        return lambda request, params, ports, settings: endpoint(
            request, {"platform": platform}, ports, settings
        )

    path = f"{si.WEBHOOK_PATH}/{platform}"
    routes = (Route("GET", path, bound(_verify)), Route("POST", path, bound(_webhook)))
    return factories.Http(si.SYSTEM, routes)


# `backoffice serve` answers all three paths on the inbox's table.
ig_connector = _connector("instagram")
fb_connector = _connector("facebook")
wa_connector = _connector("whatsapp")
labeler = factories.queue_consumer(si.SYSTEM)
sla_sweeper = factories.tick(si.SYSTEM)
# The seed's router, on demand: what the sweeper does every 5 minutes (queued threads to whoever
# is free, breached ones to a backup), when an operator wants it now.
router = sla_sweeper
digest = factories.reports(si.SYSTEM)
drive_sync = factories.drive_sync(si.SYSTEM)


def _inbox() -> tuple[Route, ...]:
    """The teammates' inbox pages, imported by the two functions that serve them only."""
    from backoffice.handlers import inbox_web

    return inbox_web.ROUTES


HTTP = factories.http(si.SYSTEM, lambda: (*WEBHOOKS, *_inbox()))
reply_handler = factories.http(si.SYSTEM, _inbox)  # the teammates' inbox
