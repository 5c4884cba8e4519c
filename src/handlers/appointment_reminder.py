"""Lambda entry points of the appointment reminders (deploy/appointment-reminder.yaml names
them), and the customers' reply pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backoffice.core.settings import Settings
from backoffice.handlers import factories, pages, web
from backoffice.handlers.logs import log
from backoffice.handlers.web import Request, Route
from backoffice.ports import Ports
from backoffice.services.appointment_reminder import REPLY_PATH, SYSTEM, replies


def _reply_page(
    request: Request, params: Mapping[str, str], ports: Ports, settings: Settings
) -> dict[str, Any]:
    """GET from the text's short link: Confirm, Pick another time, Cancel."""
    return _choices(replies.reply_page(ports, settings, params["appt_id"], params["code"]))


def _slots_page(
    request: Request, params: Mapping[str, str], ports: Ports, settings: Settings
) -> dict[str, Any]:
    return _choices(replies.slots_page(ports, settings, request.query.get("t", "")))


def _answer(
    request: Request, params: Mapping[str, str], ports: Ports, settings: Settings
) -> dict[str, Any]:
    form = request.form()
    page = replies.answer(
        ports, settings, form.get("t", ""), form.get("slot", ""), request.request_id
    )
    if page.status >= 400:
        log("link_refused", path=request.path, status=page.status, request_id=request.request_id)
    return _choices(page)


def _calendar_file(
    request: Request, params: Mapping[str, str], ports: Ports, settings: Settings
) -> dict[str, Any]:
    ics = replies.calendar_file(ports, settings, params["appt_id"], params["code"])
    if ics is None:
        return web.text_response(410, "This appointment has changed since; use the newest link.")
    return web.file_response(ics, "text/calendar; charset=utf-8", "appointment.ics")


def _choices(page: replies.ReplyPage) -> dict[str, Any]:
    html = pages.render(
        "choices.html",
        title=page.title,
        message=page.message,
        choices=page.choices,
        answer_path=replies.ANSWER_PATH,
        calendar_link=page.calendar_link,
    )
    return web.html_response(page.status, html)


ROUTES = (
    Route("GET", REPLY_PATH + "/{appt_id}/{code}", _reply_page),
    Route("GET", replies.ANSWER_PATH, _slots_page),
    Route("POST", replies.ANSWER_PATH, _answer),
    Route("GET", replies.CALENDAR_PATH + "/{appt_id}/{code}", _calendar_file),
)

reminder = factories.tick(SYSTEM)
dispatch = factories.dispatch(SYSTEM)
summary = factories.summary(SYSTEM)
drive_sync = factories.drive_sync(SYSTEM)
calendar_sync = factories.calendar_sync(SYSTEM)
intake_ses_parser = factories.intake_ses_parser(SYSTEM)
# The customers' links, the admin's proposal links and Slack's buttons.
HTTP = reply_handler = factories.http(SYSTEM, ROUTES)
