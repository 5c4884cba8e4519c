"""Slack buttons and modals that carry a system's signed link tokens.

The same token works from an email page and from a Slack button; Slack only changes how the
question is asked (a modal instead of a page) and how the outcome is shown (the original message
is updated). Buttons are told apart by their action id, never by their label. Every request
answers well inside Slack's three seconds: one state change at most.
"""

from __future__ import annotations

import json
from typing import Any

from backoffice.core.settings import Settings
from backoffice.handlers import metrics, slack_requests, web
from backoffice.ports import Ports
from backoffice.services.answers import LINK_SECRET
from backoffice.services.links import LinkAnswer, LinkForm
from backoffice.services.system import Links, System

PATH = "/slack/actions"


def handle(
    system: System, request: web.Request, ports: Ports, settings: Settings
) -> dict[str, Any]:
    try:
        payload = slack_requests.verified_payload(
            request, settings.secret("slack_signing_secret"), ports.clock.now()
        )
    except slack_requests.Refused as refused:
        return refused.response
    user = str(payload["user"].get("id", ""))
    try:
        if payload.get("type") == "block_actions":
            return _button(system, payload, user, request, ports, settings)
        if payload.get("type") == "view_submission":
            return _modal(system, payload, user, request, ports, settings)
    except (KeyError, IndexError, TypeError, ValueError):
        return web.text_response(400, "The payload is missing a field this action needs.")
    return web.text_response(400, f"Unsupported interaction type {payload.get('type')!r}.")


def _button(
    system: System,
    payload: dict[str, Any],
    user: str,
    request: web.Request,
    ports: Ports,
    settings: Settings,
) -> dict[str, Any]:
    pressed = payload["actions"][0]
    action, token = str(pressed["action_id"]), str(pressed.get("value", ""))
    container = payload["container"]
    channel = container["channel_id"]
    message = f"{channel}:{container['message_ts']}"
    links = system.offering(action)
    if links is None:
        return web.text_response(400, f"Unknown action {action!r}.")
    if links.asks(action):
        view = links.open(system, ports, settings, token)
        if view.status >= 400:
            _refused(token, ports, settings)
        if view.form is None:
            ports.chat.whisper(channel, user, view.message)
        else:
            metadata = json.dumps({"t": token, "m": message, "a": action})
            ports.chat.open_modal(
                payload["trigger_id"], _form_modal(system, links, view.form, metadata)
            )
        return slack_requests.json_response({})
    answer = LinkAnswer(token, request.request_id, by=f"slack:{user}")
    result = links.act(system, ports, settings, answer)
    if result.accepted:
        ports.chat.update(message, result.message, by=user)
    else:
        _refused(token, ports, settings)
        ports.chat.whisper(channel, user, result.message)
    return slack_requests.json_response({})


def _refused(token: str, ports: Ports, settings: Settings) -> None:
    """A button's link refused: counted as the same link from an e-mail would be."""
    metrics.count_refused_token(settings.secret(LINK_SECRET), token, ports.clock.now())


def _form_modal(system: System, links: Links, form: LinkForm, metadata: str) -> dict[str, Any]:
    """The page's form as a modal: a date picker, or one text input per proposed field."""
    from backoffice.adapters.slack.blocks import date_modal, fields_modal  # slack_sdk on demand

    callback = f"{system.prefix}_{form.action}"
    if links.asks(form.action) == "fields":
        return fields_modal(callback, "Proposed row", form.button, form.fields, metadata)
    initial = form.date_default or form.date_min
    return date_modal(
        callback_id=callback,
        title=links.label(form.action),
        label=form.date_label or "Date",
        submit=form.button,
        initial=initial.isoformat() if initial else None,
        metadata=metadata,
    )


def _modal(
    system: System,
    payload: dict[str, Any],
    user: str,
    request: web.Request,
    ports: Ports,
    settings: Settings,
) -> dict[str, Any]:
    view = payload["view"]
    meta = json.loads(view["private_metadata"])
    values = view["state"]["values"]
    # The action rides in the metadata; the callback id names it too (prefix_action).
    action = str(meta.get("a") or view.get("callback_id", "")).removeprefix(f"{system.prefix}_")
    links = system.offering(action)
    if links is None:
        return web.text_response(400, "This dialog is not one of ours.")
    if links.asks(action) == "fields":
        edits = {name: str(block["value"].get("value") or "") for name, block in values.items()}
        answer = LinkAnswer(meta["t"], request.request_id, fields=edits, by=f"slack:{user}")
    else:
        chosen = values["date_block"]["date"].get("selected_date") or ""
        answer = LinkAnswer(meta["t"], request.request_id, value=chosen, by=f"slack:{user}")
    result = links.act(system, ports, settings, answer)
    if not result.accepted:
        _refused(meta["t"], ports, settings)
        block = "date_block" if "date_block" in values else next(iter(values), "date_block")
        return slack_requests.json_response(
            {"response_action": "errors", "errors": {block: result.message}}
        )
    ports.chat.update(meta["m"], result.message, by=user)
    return slack_requests.json_response({"response_action": "clear"})
