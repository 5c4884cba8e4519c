"""Lambda entry points of the expiry watcher. Thin: translate the event, call a service."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from backoffice.core.settings import Settings
from backoffice.handlers import lanes, pages, slack_requests, web
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
    if request.path.rstrip("/") == SLACK_PATH and request.method == "POST":
        return handle_slack(request, ports, settings)
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


# --- Slack interactivity -----------------------------------------------------------------------

SLACK_PATH = "/slack/actions"
DATE_ACTIONS = ("renew", "snooze")
ONE_TAP_ACTIONS = ("ack_only", "approve", "discard")


def handle_slack(request: web.Request, ports: Ports, settings: Settings) -> dict[str, Any]:
    """Buttons and modals. Answers well inside Slack's three seconds: one state change at most,
    and the outcome is shown by updating the original message."""
    try:
        payload = slack_requests.verified_payload(
            request, settings.secret("slack_signing_secret"), ports.clock.now()
        )
    except slack_requests.Refused as refused:
        return refused.response
    user = str(payload["user"].get("id", ""))
    try:
        if payload.get("type") == "block_actions":
            return _button(payload, user, request, ports, settings)
        if payload.get("type") == "view_submission":
            return _modal(payload, user, request, ports, settings)
    except (KeyError, IndexError, TypeError, ValueError):
        return web.text_response(400, "The payload is missing a field this action needs.")
    return web.text_response(400, f"Unsupported interaction type {payload.get('type')!r}.")


def _button(
    payload: dict[str, Any], user: str, request: web.Request, ports: Ports, settings: Settings
) -> dict[str, Any]:
    action = payload["actions"][0]
    token = str(action.get("value", ""))
    container = payload["container"]
    channel, message = (
        container["channel_id"],
        f"{container['channel_id']}:{container['message_ts']}",
    )
    if action["action_id"] in DATE_ACTIONS:
        from backoffice.adapters.slack.blocks import date_modal  # slack_sdk only when needed

        view = service.open_link(ports, settings, token)
        if view.form is None or view.form.date_label is None:
            ports.chat.whisper(channel, user, view.message)
            return slack_requests.json_response({})
        initial = view.form.date_default or view.form.date_min
        ports.chat.open_modal(
            payload["trigger_id"],
            date_modal(
                callback_id=f"ew_{action['action_id']}",
                title=service.LABELS[view.form.action],
                label=view.form.date_label,
                submit=view.form.button,
                initial=initial.isoformat() if initial else None,
                metadata=json.dumps({"t": token, "m": message}),
            ),
        )
        return slack_requests.json_response({})
    if action["action_id"] == "edit":
        from backoffice.adapters.slack.blocks import fields_modal

        page = service.open_link(ports, settings, token)
        if page.form is None:
            ports.chat.whisper(channel, user, page.message)
            return slack_requests.json_response({})
        ports.chat.open_modal(
            payload["trigger_id"],
            fields_modal(
                "ew_edit",
                "Proposed row",
                page.form.button,
                page.form.fields,
                json.dumps({"t": token, "m": message}),
            ),
        )
        return slack_requests.json_response({})
    if action["action_id"] not in ONE_TAP_ACTIONS:
        return web.text_response(400, f"Unknown action {action['action_id']!r}.")
    result = service.act_on_link(
        ports, settings, token, "", request.request_id, by_user=f"slack:{user}"
    )
    if result.accepted:
        ports.chat.update(message, f"{result.message} (<@{user}>)")
    else:
        ports.chat.whisper(channel, user, result.message)
    return slack_requests.json_response({})


def _modal(
    payload: dict[str, Any], user: str, request: web.Request, ports: Ports, settings: Settings
) -> dict[str, Any]:
    view = payload["view"]
    meta = json.loads(view["private_metadata"])
    values = view["state"]["values"]
    if view.get("callback_id") == "ew_edit":
        edits = {name: str(block["value"].get("value") or "") for name, block in values.items()}
        result = service.act_on_link(
            ports,
            settings,
            meta["t"],
            "",
            request.request_id,
            by_user=f"slack:{user}",
            fields=edits,
        )
    else:
        chosen = values["date_block"]["date"].get("selected_date") or ""
        result = service.act_on_link(
            ports, settings, meta["t"], chosen, request.request_id, by_user=f"slack:{user}"
        )
    if not result.accepted:
        block = "date_block" if "date_block" in values else next(iter(values), "date_block")
        return slack_requests.json_response(
            {"response_action": "errors", "errors": {block: result.message}}
        )
    ports.chat.update(meta["m"], f"{result.message} (<@{user}>)")
    return slack_requests.json_response({"response_action": "clear"})
