"""The answers to the guide's messages: a customer's done link for a step, and the owner's
Pause, Hand off and Done on a flag, from an e-mail page or a Slack button; a bounced address
pauses the customer the same way."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from backoffice.core import onboarding_guide as og
from backoffice.core.settings import Settings
from backoffice.core.tokens import LinkClaim
from backoffice.ports import ConditionFailed, Ports
from backoffice.services import engine
from backoffice.services.answers import act_on_link, link_store
from backoffice.services.delivery import Slot
from backoffice.services.links import ActionResult, Answered, LinkAnswer, LinkForm, LinkPage
from backoffice.services.onboarding_guide.state import (
    ARCHIVE,
    AUDIT,
    REPORTS_ID,
    SENDS,
    load_documents,
    load_state,
    save_journey,
)
from backoffice.services.onboarding_guide.tick import LABELS
from backoffice.services.records import archive_chains, write_audit
from backoffice.services.runtime import local_now

if TYPE_CHECKING:
    from backoffice.services.system import System

OUT_OF_DATE = "This link is from an earlier signup of this customer; nothing was changed."
GONE = "This customer is no longer in the onboarding sheet; nothing was changed."
TRIES = 3  # two answers at the same moment: the later one is decided again on the new state


def open_link(system: System, ports: Ports, settings: Settings, token: str) -> LinkPage:
    """GET: say what the link will do and ask for confirmation. Changes nothing."""
    now = local_now(ports.clock, settings)
    return link_store(system, ports, settings).open(
        token, now, lambda claim: _page(ports, settings, claim, token)
    )


def _page(ports: Ports, settings: Settings, claim: LinkClaim, token: str) -> LinkPage:
    customer = load_documents(ports.blobs, settings).customer(claim.subject)
    if customer is None:
        return LinkPage(410, "Out of date", GONE)
    if customer.journey != claim.chain or claim.action not in LABELS:
        return LinkPage(410, "Out of date", OUT_OF_DATE)
    journey = load_state(ports.tables, claim.subject).journey(claim.chain)
    step, name = claim.detail, customer.name
    if claim.action == "step_done":
        if step in journey.steps_done:
            return LinkPage(409, "Already done", f"“{step}” is already marked done. Thank you!")
        message = f"{name}, confirm that you have done the step “{step}”."
        return LinkPage(
            200, "Mark the step done", message, LinkForm(token, "step_done", "Yes, done")
        )
    if journey.finished:
        return LinkPage(409, "Already finished", f"{name}'s onboarding is already finished.")
    return _owner_page(claim.action, name, step, token)


def _owner_page(action: str, name: str, step: str, token: str) -> LinkPage:
    if action == "pause":
        message = f"Pause the onboarding e-mails to {name}. Add a note for the team if you like."
        return LinkPage(
            200, f"Pause {name}", message, LinkForm(token, "pause", "Pause", fields=(("note", ""),))
        )
    if action == "hand_off":
        message = (
            f"Hand {name} to a colleague: their e-mail address or Slack member id. The guide "
            "stops writing to the customer; your colleague takes it from here."
        )
        form = LinkForm(token, "hand_off", "Hand off", fields=(("hand_off_to", ""),))
        return LinkPage(200, f"Hand off {name}", message, form)
    message = (
        f"Mark {name}'s onboarding finished (they were stuck on “{step}”). Nothing more is sent."
    )
    return LinkPage(200, f"Finish {name}", message, LinkForm(token, "finish", "Done"))


def act(system: System, ports: Ports, settings: Settings, answer: LinkAnswer) -> ActionResult:
    """POST from the confirmation page, or a Slack button or modal: spend the link, apply it."""

    def apply(action: og.Action, claim: LinkClaim, now: datetime) -> Answered:
        transition = perform(ports, settings, action, now)
        return Answered(transition.accepted, transition.message)

    return act_on_link(system, ports, settings, answer, apply)


def perform(
    ports: Ports, settings: Settings, action: og.Action, now: datetime
) -> og.Transition[og.Journey]:
    """The core decides; the journey is written over the version it was decided on, then the
    sheet, the archive, the notices and the audit."""
    for attempt in range(TRIES):
        docs = load_documents(ports.blobs, settings)
        customer = docs.customer(action.subject)
        state = load_state(ports.tables, action.subject)
        steps = tuple(s.id for s in docs.rules.plan(customer.plan).steps) if customer else ()
        transition = og.apply_action(og.Current(customer, state, steps), action, now)
        if transition.record is None:
            break
        try:
            save_journey(
                ports.tables, action.subject, state.journey(action.chain).version, transition.record
            )
        except ConditionFailed:
            if attempt == TRIES - 1:
                raise
            continue
        _effects(ports, settings, transition, now)
        break
    write_audit(ports.tables, AUDIT, transition.audit)
    return transition


def _effects(
    ports: Ports, settings: Settings, transition: og.Transition[og.Journey], now: datetime
) -> None:
    for write in transition.sheet_writes:
        try:
            ports.sheet.update_cell(write.row_id, write.column, write.value)
        except KeyError:
            continue  # no status column, or the row was removed: the stored journey is enough
    archive_chains(ports.tables, SENDS, ARCHIVE, transition.archive)
    for notice in transition.notices:
        row = {"customer_id": REPORTS_ID, "step_kind": notice.key, "key": notice.key}
        slot = Slot(SENDS.name, REPORTS_ID, notice.key, row)
        subject = notice.text if len(notice.text) <= 80 else notice.text[:77] + "..."
        engine.report_once(
            ports, slot, notice.to, engine.written(subject, notice.text), now, "notice"
        )
