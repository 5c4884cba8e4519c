"""The customers' reply pages of the appointment reminders (the short link in a text, the
choices, the answer, the calendar file), served by the reply handler's Function URL only."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from backoffice.core.settings import Settings
from backoffice.handlers import metrics, pages, web
from backoffice.handlers.logs import log
from backoffice.handlers.web import Request, Route
from backoffice.ports import Ports
from backoffice.services.answers import LINK_SECRET
from backoffice.services.appointment_reminder import REPLY_PATH, replies
from backoffice.services.appointment_reminder.state import load_documents, short_code


def _reply_page(
    request: Request, params: Mapping[str, str], ports: Ports, settings: Settings
) -> dict[str, Any]:
    """GET from the text's short link: Confirm, Pick another time, Cancel."""
    appt_id, code = params["appt_id"], params["code"]
    page = replies.reply_page(ports, settings, appt_id, code)
    if page.status == 410 and _code_refused(ports, settings, appt_id, code):
        metrics.count(metrics.SIGNATURE_REJECTED)
    return _choices(page)


def _code_refused(ports: Ports, settings: Settings, appt_id: str, code: str) -> bool:
    """Whether a text's short code fails against the appointment (or names none). The page
    says 410 for this and for an appointment that started or was cancelled; only a code that
    does not verify is what a rotated or leaked secret looks like."""
    appointment = load_documents(ports.blobs, settings).appointment(appt_id)
    return appointment is None or not hmac.compare_digest(code, short_code(settings, appointment))


def _slots_page(
    request: Request, params: Mapping[str, str], ports: Ports, settings: Settings
) -> dict[str, Any]:
    token = request.query.get("t", "")
    page = replies.slots_page(ports, settings, token)
    if page.status >= 400:
        metrics.count_refused_token(settings.secret(LINK_SECRET), token, ports.clock.now())
    return _choices(page)


def _answer(
    request: Request, params: Mapping[str, str], ports: Ports, settings: Settings
) -> dict[str, Any]:
    form = request.form()
    token = form.get("t", "")
    page = replies.answer(ports, settings, token, form.get("slot", ""), request.request_id)
    if page.status >= 400:
        log("link_refused", path=request.path, status=page.status, request_id=request.request_id)
        metrics.count_refused_token(settings.secret(LINK_SECRET), token, ports.clock.now())
    return _choices(page)


def _calendar_file(
    request: Request, params: Mapping[str, str], ports: Ports, settings: Settings
) -> dict[str, Any]:
    ics = replies.calendar_file(ports, settings, params["appt_id"], params["code"])
    if ics is None:  # the same verdict as _code_refused: the code fails or names nothing
        metrics.count(metrics.SIGNATURE_REJECTED)
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
