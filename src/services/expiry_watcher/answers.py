"""The owner's answers to an alert (Renew, Snooze, Ack only) through links or Slack buttons."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from backoffice.core import expiry_watcher as ew
from backoffice.core.settings import Settings
from backoffice.core.tokens import LinkClaim
from backoffice.ports import Ports
from backoffice.services.answers import act_on_link, link_store
from backoffice.services.expiry_watcher.state import (
    ACKS,
    ARCHIVE,
    AUDIT,
    PINGS,
    current_item,
    load_state,
)
from backoffice.services.expiry_watcher.tick import LABELS
from backoffice.services.links import ActionResult, Answered, LinkAnswer, LinkForm, LinkPage
from backoffice.services.records import archive_chains, write_audit
from backoffice.services.runtime import local_now

if TYPE_CHECKING:
    from backoffice.services.system import System

OUT_OF_DATE = (
    "This message is about a date that has since changed, so the link no longer applies. "
    "Nothing was changed."
)


def open_link(system: System, ports: Ports, settings: Settings, token: str) -> LinkPage:
    """GET: explain what the link will do and ask for confirmation. Changes nothing."""
    now = local_now(ports.clock, settings)
    return link_store(system, ports, settings).open(
        token, now, lambda claim: _page(ports, settings, claim, token, now)
    )


def _page(
    ports: Ports, settings: Settings, claim: LinkClaim, token: str, now: datetime
) -> LinkPage:
    item = current_item(ports.blobs, settings, claim.subject)
    if item is None or item.chain_id != claim.chain or claim.action not in LABELS:
        return LinkPage(410, "Out of date", OUT_OF_DATE)
    title = f"{LABELS[claim.action]}: {item.name}"
    if claim.action == "renew":
        message = (
            f"{item.name} currently expires on {item.expires_on.isoformat()}. "
            "Enter the new expiry date."
        )
        earliest = item.expires_on + timedelta(days=1)
        form = LinkForm(token, "renew", "Renew", "New expiry date", date_min=earliest)
        return LinkPage(200, title, message, form)
    if claim.action == "snooze":
        return LinkPage(200, title, _snooze_text(item), _snooze_form(item, token, now))
    message = (
        f"Confirm that you have seen the alert for {item.name} and are handling it. Reminders "
        "stop; the escalation contact is still told if it is not renewed close to the date."
    )
    return LinkPage(200, title, message, LinkForm(token, "ack_only", "Confirm"))


def _snooze_text(item: ew.Item) -> str:
    return (
        f"Pause reminders for {item.name} until a date no later than "
        f"{item.act_by.isoformat()}, when it must be acted on."
    )


def _snooze_form(item: ew.Item, token: str, now: datetime) -> LinkForm:
    today = now.date()
    return LinkForm(
        token,
        "snooze",
        "Snooze",
        "Remind me again on",
        date_default=min(today + timedelta(days=7), item.act_by),
        date_min=today + timedelta(days=1),
        date_max=item.act_by,
    )


def act(system: System, ports: Ports, settings: Settings, answer: LinkAnswer) -> ActionResult:
    """POST from the confirmation page, or a Slack button: spend the link, then apply it."""

    def apply(action: ew.Action, claim: LinkClaim, now: datetime) -> Answered:
        transition = perform(ports, settings, action, now)
        return Answered(transition.accepted, transition.message)

    return act_on_link(system, ports, settings, answer, apply)


def perform(
    ports: Ports, settings: Settings, action: ew.Action, now: datetime
) -> ew.Transition[ew.Ack]:
    """Apply one owner answer: the core decides, then sheet, archive, ack and audit are written."""
    item = current_item(ports.blobs, settings, action.subject)
    current = ew.Current(item, load_state(ports.tables, action.subject))
    transition = ew.apply_action(current, action, now)
    for write in transition.sheet_writes:
        ports.sheet.update_cell(write.row_id, write.column, write.value)
    archive_chains(ports.tables, PINGS, ARCHIVE, transition.archive)
    if transition.record is not None:
        ports.tables.put(ACKS.name, ack_row(transition.record, action, now, item))
    write_audit(ports.tables, AUDIT, transition.audit)
    return transition


def ack_row(ack: ew.Ack, action: ew.Action, now: datetime, item: ew.Item | None) -> dict[str, Any]:
    return {
        "item_id": ack.item_id,
        "ack_date": f"{now.isoformat()}#{action.request_id}",
        "action": ack.action,
        "by_user": action.by,
        "chain_id": ack.chain_id,
        "snooze_until": ack.snooze_until.isoformat() if ack.snooze_until else None,
        "old_expiry": item.expires_on.isoformat() if item else None,
        "new_expiry": ack.new_expiry.isoformat() if ack.new_expiry else None,
    }
