"""Lambda entry points of the appointment reminders. Thin: translate the event, call a service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backoffice.core.settings import Settings
from backoffice.handlers import lanes, pages, slack_actions, web
from backoffice.handlers.logs import log
from backoffice.services import appointment_proposals as proposed
from backoffice.services import appointment_reminder as service
from backoffice.services import appointment_replies as replies
from backoffice.services import proposals
from backoffice.services.links import ActionResult
from backoffice.services.runtime import Ports


def reminder(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """Hourly schedule: decide the reminders and staff alerts, put them on the bus."""
    from backoffice.handlers.wiring import appointment_reminder

    ports, settings = appointment_reminder()
    result = service.tick(ports, settings)
    for problem in result.problems:
        log("sheet_problem", **problem.as_json())
    log("tick", moves=len(result.moves), problems=len(result.problems))
    return {"moves": len(result.moves), "problems": len(result.problems)}


def dispatch(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """A move from the bus rule (`detail`) or from a deferred one-off (`move`)."""
    from backoffice.handlers.wiring import appointment_reminder

    detail = event.get("move") or event.get("detail")
    if not isinstance(detail, Mapping):
        raise ValueError("dispatch expects an EventBridge event with a detail, or a move payload")
    ports, settings = appointment_reminder()
    delivery = service.dispatch(ports, settings, detail)
    log("dispatch", key=delivery.key, status=delivery.status, error=delivery.error)
    return {"status": delivery.status, "key": delivery.key}


def summary(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """Weekly, Monday morning: last week for the staff channel and the owner."""
    from backoffice.handlers.wiring import (
        appointment_reminder,
        appointment_reminder_system,
        language_model,
    )
    from backoffice.services.appointment_summary import summary as weekly

    ports, settings = appointment_reminder()
    deliveries = weekly(ports, settings, language_model(appointment_reminder_system()))
    sent = {d.to[0]: d.status for d in deliveries}
    log("summary", sent=sent)
    return {"sent": sent}


def drive_sync(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """Every 5 minutes: mirror the appointment sheet and the rules and voice docs to S3."""
    from backoffice.handlers.wiring import appointment_reminder, appointment_reminder_system

    return lanes.drive_sync(appointment_reminder_system(), *appointment_reminder())


def calendar_sync(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """Hourly: events tagged #appt in the configured calendars become proposed appointments."""
    from backoffice.handlers.wiring import appointment_reminder, appointment_reminder_system

    ports, settings = appointment_reminder()
    return lanes.calendar_sync(
        appointment_reminder_system(),
        ports,
        settings,
        proposed.CALENDAR_TAG,
        lambda found: proposed.propose_from_event(ports, settings, found),
    )


# No owner column: whoever forwards a booking confirmation is staff, not the customer.
INTAKE = lanes.Intake(proposed.ROWS, (), "", time_columns=("starts_at",))


def intake_ses_parser(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """A forwarded booking confirmation (S3 event) or a Textract completion (SNS event)."""
    from backoffice.handlers.wiring import appointment_reminder, appointment_reminder_system

    return lanes.intake_ses_parser(
        event, appointment_reminder_system(), *appointment_reminder(), INTAKE
    )


def reply_handler(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """Function URL: the customer's link (GET pages; POST answers)."""
    from backoffice.handlers.wiring import appointment_reminder

    ports, settings = appointment_reminder()
    return handle_reply(event, ports, settings)


def handle_reply(event: Mapping[str, Any], ports: Ports, settings: Settings) -> dict[str, Any]:
    request = web.request_from_event(event)
    path = request.path.rstrip("/")
    if request.method == "GET" and path.startswith(service.REPLY_PATH + "/"):
        parts = path.removeprefix(service.REPLY_PATH + "/").split("/")
        if len(parts) != 2:
            return web.text_response(404, "Not found.")
        return _page(replies.reply_page(ports, settings, parts[0], parts[1]))
    if path == replies.ANSWER_PATH and request.method == "GET":
        return _page(replies.slots_page(ports, settings, request.query.get("t", "")))
    if path == replies.ANSWER_PATH and request.method == "POST":
        form = request.form()
        page = replies.answer(
            ports, settings, form.get("t", ""), form.get("slot", ""), request.request_id
        )
        return _page(page)
    if path.startswith(replies.CALENDAR_PATH + "/") and request.method == "GET":
        return _calendar_file(path, ports, settings)
    if path == proposed.PROPOSAL_PATH:
        return _proposal(request, ports, settings)
    if path == slack_actions.PATH and request.method == "POST":
        return slack_actions.handle(request, ports, settings, SLACK)
    return web.text_response(404, "Not found.")


def _calendar_file(path: str, ports: Ports, settings: Settings) -> dict[str, Any]:
    parts = path.removeprefix(replies.CALENDAR_PATH + "/").split("/")
    ics = replies.calendar_file(ports, settings, *parts) if len(parts) == 2 else None
    if ics is None:
        return web.text_response(410, "This appointment has changed since; use the newest link.")
    return web.file_response(ics, "text/calendar; charset=utf-8", "appointment.ics")


def _proposal(request: web.Request, ports: Ports, settings: Settings) -> dict[str, Any]:
    """The admin's Approve / Edit / Discard links on a proposed appointment."""
    if request.method == "GET":
        view = proposed.open_proposal(ports, settings, request.query.get("t", ""))
        form = ""
        if view.form is not None:
            form = pages.confirm_form(
                proposed.PROPOSAL_PATH,
                view.form.token,
                view.form.button,
                fields=view.form.fields,
            )
        return web.html_response(view.status, pages.page(view.title, view.message, form))
    if request.method == "POST":
        values = request.form()
        result = proposed.act_on_proposal(
            ports,
            settings,
            values.get("t", ""),
            request.request_id,
            {k: v for k, v in values.items() if k != "t"},
        )
        return web.html_response(result.status, pages.page(result.title, result.message))
    return web.text_response(405, "Use GET to open a link and POST to confirm it.")


def _page(page: replies.ReplyPage) -> dict[str, Any]:
    forms = "".join(_choice(choice) for choice in page.choices)
    if page.calendar_link:
        forms += pages.link_button(page.calendar_link, "Add to calendar")
    return web.html_response(page.status, pages.page(page.title, page.message, forms))


def _choice(choice: replies.Choice) -> str:
    """Confirm and Cancel post at once; Pick another time opens the slot page (GET)."""
    if choice.label == replies.LABELS["reschedule"]:
        return pages.link_button(f"{replies.ANSWER_PATH}?t={choice.token}", choice.label)
    return pages.post_button(
        replies.ANSWER_PATH,
        choice.token,
        choice.label,
        {"slot": choice.value} if choice.value else {},
    )


def _act_on_proposal(
    ports: Ports,
    settings: Settings,
    token: str,
    chosen_date: str,
    request_id: str,
    by_user: str | None = None,
    fields: Mapping[str, str] | None = None,
) -> ActionResult:
    return proposed.act_on_proposal(ports, settings, token, request_id, fields, by_user)


# The admin's proposal buttons when the admin is in Slack (the app's Interactivity URL is this
# function's URL followed by /slack/actions).
SLACK = slack_actions.LinkActions(
    prefix="ar", open=proposed.open_proposal, act=_act_on_proposal, labels=proposals.LABELS
)
