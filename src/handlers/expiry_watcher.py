"""Lambda entry points of the expiry watcher. Thin: translate the event, call a service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backoffice.core.settings import Settings
from backoffice.handlers import pages, web
from backoffice.services import expiry_watcher as service
from backoffice.services.runtime import Ports


def ack_handler(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """Function URL: the links in alert emails (GET confirms, POST acts)."""
    from backoffice.handlers.wiring import expiry_watcher

    ports, settings = expiry_watcher()
    return handle_ack(event, ports, settings)


def handle_ack(event: Mapping[str, Any], ports: Ports, settings: Settings) -> dict[str, Any]:
    request = web.request_from_event(event)
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
        )
        return web.html_response(result.status, pages.page(result.title, result.message))
    return web.text_response(405, "Use GET to open a link and POST to confirm it.")
