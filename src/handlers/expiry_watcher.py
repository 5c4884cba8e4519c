"""Lambda entry points of the expiry watcher. Thin: translate the event, call a service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backoffice.core.settings import Settings
from backoffice.handlers import lanes, pages, slack_actions, web
from backoffice.handlers.logs import log
from backoffice.services import expiry_watcher as service
from backoffice.services.runtime import Ports


def watcher(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """Daily schedule: decide the tick's moves and put them on the bus."""
    from backoffice.handlers.wiring import expiry_watcher

    ports, settings = expiry_watcher()
    result = service.tick(ports, settings)
    for problem in result.problems:
        log("sheet_problem", **problem.as_json())
    log(
        "tick",
        moves=len(result.moves),
        problems=len(result.problems),
        archived=len(result.archived),
        at=result.now.isoformat(),
    )
    return {"moves": len(result.moves), "problems": len(result.problems)}


def dispatch(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """A move from the bus rule (`detail`) or from a deferred one-off (`move`). An exception
    fails the invocation, so the platform retries it; the claim makes a retry safe."""
    from backoffice.handlers.wiring import expiry_watcher

    detail = event.get("move") or event.get("detail")
    if not isinstance(detail, Mapping):
        raise ValueError("dispatch expects an EventBridge event with a detail, or a move payload")
    ports, settings = expiry_watcher()
    delivery = service.dispatch(ports, settings, detail)
    log(
        "dispatch",
        key=delivery.key,
        status=delivery.status,
        channel=delivery.channel,
        until=delivery.until.isoformat() if delivery.until else None,
        error=delivery.error,
    )
    return {"status": delivery.status, "key": delivery.key}


def digest(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """Weekly schedule: the digest to the admin, once per week."""
    from backoffice.handlers.wiring import expiry_watcher

    ports, settings = expiry_watcher()
    delivery = service.digest(ports, settings)
    status = delivery.status if delivery else "not_due"
    log("digest", status=status)
    return {"status": status}


def summary(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """Monthly schedule: last month in a paragraph by the model, or the plain table."""
    from backoffice.handlers.wiring import expiry_watcher, expiry_watcher_system, language_model

    ports, settings = expiry_watcher()
    delivery = service.summary(ports, settings, language_model(expiry_watcher_system()))
    status = delivery.status if delivery else "not_due"
    log("summary", status=status)
    return {"status": status}


def drive_sync(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """Every 15 minutes: mirror the registry sheet and the rules and voice docs to S3."""
    from backoffice.handlers.wiring import expiry_watcher, expiry_watcher_system

    return lanes.drive_sync(expiry_watcher_system(), *expiry_watcher())


CALENDAR_TAG = "#expires"


def calendar_sync(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """Hourly: events tagged #expires in the configured calendars become proposals, once each."""
    from backoffice.handlers.wiring import expiry_watcher, expiry_watcher_system

    ports, settings = expiry_watcher()
    return lanes.calendar_sync(
        expiry_watcher_system(),
        ports,
        settings,
        CALENDAR_TAG,
        lambda found: service.propose_from_event(ports, settings, found, CALENDAR_TAG),
    )


INTAKE = lanes.Intake(service.ROWS, ("expires_on",), "owner")


def intake_ses_parser(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """A forwarded email (S3 event) or a Textract completion (SNS event): on to a proposal."""
    from backoffice.handlers.wiring import expiry_watcher, expiry_watcher_system

    return lanes.intake_ses_parser(event, expiry_watcher_system(), *expiry_watcher(), INTAKE)


def ack_handler(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """Function URL: the links in alert emails (GET confirms, POST acts)."""
    from backoffice.handlers.wiring import expiry_watcher

    ports, settings = expiry_watcher()
    return handle_ack(event, ports, settings)


def handle_ack(event: Mapping[str, Any], ports: Ports, settings: Settings) -> dict[str, Any]:
    request = web.request_from_event(event)
    if request.path.rstrip("/") == slack_actions.PATH and request.method == "POST":
        return slack_actions.handle(request, ports, settings, SLACK)
    if request.path.rstrip("/") != service.LINK_PATH:
        return web.text_response(404, "Not found.")
    if request.method == "GET":
        token = request.query.get("t", "")
        view = service.open_link(ports, settings, token)
        form = ""
        if view.form is not None:
            f = view.form
            form = pages.confirm_form(
                service.LINK_PATH,
                f.token,
                f.button,
                f.date_label,
                f.date_default,
                f.date_min,
                f.date_max,
                f.fields,
            )
        return web.html_response(view.status, pages.page(view.title, view.message, form))
    if request.method == "POST":
        form_values = request.form()
        result = service.act_on_link(
            ports,
            settings,
            form_values.get("t", ""),
            form_values.get("date", ""),
            request.request_id,
            fields={k: v for k, v in form_values.items() if k not in ("t", "date")},
        )
        return web.html_response(result.status, pages.page(result.title, result.message))
    return web.text_response(405, "Use GET to open a link and POST to confirm it.")


SLACK = slack_actions.LinkActions(
    prefix="ew",
    open=service.open_link,
    act=service.act_on_link,
    labels=service.LABELS,
    date_actions=("renew", "snooze"),
    one_tap=("ack_only", "approve", "discard"),
)
