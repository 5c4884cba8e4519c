"""Slack buttons and modals that carry a system's signed link tokens.

The same token works from an email page and from a Slack button; Slack only changes how the
question is asked (a modal instead of a page) and how the outcome is shown (the original message
is updated). Every request answers well inside Slack's three seconds: one state change at most.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from attrs import frozen

from backoffice.core.settings import Settings
from backoffice.handlers import slack_requests, web
from backoffice.services.links import ActionResult, LinkPage
from backoffice.services.runtime import Ports

PATH = "/slack/actions"

Open = Callable[[Ports, Settings, str], LinkPage]
Act = Callable[..., ActionResult]  # (ports, settings, token, date, request_id, by_user=, fields=)


@frozen
class LinkActions:
    """How a system's links open and act, and which of its actions need more than one tap."""

    prefix: str  # modal callback ids: "<prefix>_edit", "<prefix>_renew"
    open: Open
    act: Act
    labels: Mapping[str, str]
    date_actions: tuple[str, ...] = ()  # a date modal first (Renew, Snooze)
    one_tap: tuple[str, ...] = ("approve", "discard")


def handle(
    request: web.Request, ports: Ports, settings: Settings, actions: LinkActions
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
            return _button(payload, user, request, ports, settings, actions)
        if payload.get("type") == "view_submission":
            return _modal(payload, user, request, ports, settings, actions)
    except (KeyError, IndexError, TypeError, ValueError):
        return web.text_response(400, "The payload is missing a field this action needs.")
    return web.text_response(400, f"Unsupported interaction type {payload.get('type')!r}.")


def _button(
    payload: dict[str, Any],
    user: str,
    request: web.Request,
    ports: Ports,
    settings: Settings,
    actions: LinkActions,
) -> dict[str, Any]:
    action = payload["actions"][0]
    token = str(action.get("value", ""))
    container = payload["container"]
    channel = container["channel_id"]
    metadata = json.dumps({"t": token, "m": f"{channel}:{container['message_ts']}"})
    name = action["action_id"]
    if name in actions.date_actions or name == "edit":
        view = actions.open(ports, settings, token)
        form = view.form
        if form is None or (name != "edit" and form.date_label is None):
            ports.chat.whisper(channel, user, view.message)
        else:
            ports.chat.open_modal(payload["trigger_id"], _form_modal(actions, name, form, metadata))
        return slack_requests.json_response({})
    if name not in actions.one_tap:
        return web.text_response(400, f"Unknown action {name!r}.")
    result = actions.act(ports, settings, token, "", request.request_id, by_user=f"slack:{user}")
    if result.accepted:
        ports.chat.update(json.loads(metadata)["m"], f"{result.message} (<@{user}>)")
    else:
        ports.chat.whisper(channel, user, result.message)
    return slack_requests.json_response({})


def _form_modal(actions: LinkActions, name: str, form: Any, metadata: str) -> dict[str, Any]:
    """The page's form as a modal: a date picker, or one text input per proposed field."""
    from backoffice.adapters.slack.blocks import date_modal, fields_modal  # slack_sdk on demand

    if name == "edit":
        return fields_modal(
            f"{actions.prefix}_edit", "Proposed row", form.button, form.fields, metadata
        )
    initial = form.date_default or form.date_min
    return date_modal(
        callback_id=f"{actions.prefix}_{name}",
        title=actions.labels[form.action],
        label=form.date_label,
        submit=form.button,
        initial=initial.isoformat() if initial else None,
        metadata=metadata,
    )


def _modal(
    payload: dict[str, Any],
    user: str,
    request: web.Request,
    ports: Ports,
    settings: Settings,
    actions: LinkActions,
) -> dict[str, Any]:
    view = payload["view"]
    meta = json.loads(view["private_metadata"])
    values = view["state"]["values"]
    by_user = f"slack:{user}"
    if view.get("callback_id") == f"{actions.prefix}_edit":
        edits = {name: str(block["value"].get("value") or "") for name, block in values.items()}
        result = actions.act(
            ports, settings, meta["t"], "", request.request_id, by_user=by_user, fields=edits
        )
    else:
        chosen = values["date_block"]["date"].get("selected_date") or ""
        result = actions.act(
            ports, settings, meta["t"], chosen, request.request_id, by_user=by_user
        )
    if not result.accepted:
        block = "date_block" if "date_block" in values else next(iter(values), "date_block")
        return slack_requests.json_response(
            {"response_action": "errors", "errors": {block: result.message}}
        )
    ports.chat.update(meta["m"], f"{result.message} (<@{user}>)")
    return slack_requests.json_response({"response_action": "clear"})
