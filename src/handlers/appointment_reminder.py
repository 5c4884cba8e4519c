"""Lambda entry points of the appointment reminders. Thin: translate the event, call a service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backoffice.core.settings import Settings
from backoffice.handlers import pages, web
from backoffice.handlers.logs import log
from backoffice.services import appointment_reminder as service
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
        return _page(service.reply_page(ports, settings, parts[0], parts[1]))
    if path == service.ANSWER_PATH and request.method == "GET":
        return _page(service.slots_page(ports, settings, request.query.get("t", "")))
    if path == service.ANSWER_PATH and request.method == "POST":
        form = request.form()
        page = service.answer(
            ports, settings, form.get("t", ""), form.get("slot", ""), request.request_id
        )
        return web.html_response(page.status, pages.page(page.title, page.message))
    return web.text_response(404, "Not found.")


def _page(page: service.ReplyPage) -> dict[str, Any]:
    forms = "".join(_choice(choice) for choice in page.choices)
    return web.html_response(page.status, pages.page(page.title, page.message, forms))


def _choice(choice: service.Choice) -> str:
    """Confirm and Cancel post at once; Pick another time opens the slot page (GET)."""
    if choice.label == service.LABELS["reschedule"]:
        return pages.link_button(f"{service.ANSWER_PATH}?t={choice.token}", choice.label)
    return pages.post_button(
        service.ANSWER_PATH,
        choice.token,
        choice.label,
        {"slot": choice.value} if choice.value else {},
    )
