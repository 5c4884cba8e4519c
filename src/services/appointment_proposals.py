"""Proposed appointments: a forwarded booking confirmation or a calendar event tagged #appt
becomes a row the admin approves, edits or discards through signed links."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from backoffice.core import appointment_reminder as ar
from backoffice.core.settings import Settings
from backoffice.core.tokens import LinkClaim
from backoffice.ports.calendar import CalendarEvent
from backoffice.services import proposals
from backoffice.services.appointment_reminder import link_store, write_audit
from backoffice.services.links import ActionResult, Answered, LinkPage
from backoffice.services.runtime import Ports, local_now

PROPOSAL_PATH = "/ar/proposal"
CALENDAR_TAG = "#appt"


def propose_row(
    ports: Ports,
    settings: Settings,
    proposal_id: str,
    values: Mapping[str, str],
    source: str,
    problems: Sequence[str],
) -> bool:
    """A candidate appointment row for the admin; False when it was proposed before."""
    complete = {column: values.get(column, "") for column in ar.COLUMNS}
    complete["appt_id"] = complete["appt_id"] or proposals.new_row_id(proposal_id)
    return proposals.propose(
        ports,
        settings,
        prefix=ar.PREFIX,
        system=ar.SYSTEM,
        link_path=PROPOSAL_PATH,
        proposal_id=proposal_id,
        values=complete,
        source=source,
        problems=problems,
        now=local_now(ports.clock, settings),
        title_column="customer_name",
    )


def propose_from_event(ports: Ports, settings: Settings, event: CalendarEvent) -> bool:
    """A timed event tagged #appt: its start is the appointment's, its title the customer, the
    first phone number and email address in its description the contact."""
    name = re.sub(re.escape(CALENDAR_TAG), "", event.summary, flags=re.IGNORECASE).strip(" -:")
    phone, email = ar.contact_in(event.description, settings.default_country)
    problems = []
    if len(event.start) <= len("2026-12-01"):
        problems.append("the event lasts all day: add the time to starts_at")
    if not (phone or email):
        problems.append("no phone number or email address in the event: add one")
    values = {
        "customer_name": name,
        "starts_at": event.start,
        "phone": phone,
        "email": email,
        "staff": event.creator,
    }
    return propose_row(
        ports,
        settings,
        f"cal-{event.calendar_id}-{event.event_id}",
        values,
        f"the calendar event {event.summary!r} on {event.start[:10]}",
        problems,
    )


def open_proposal(ports: Ports, settings: Settings, token: str) -> LinkPage:
    """GET: what approving, editing or discarding will do. Changes nothing."""

    def view(claim: LinkClaim) -> LinkPage:
        if claim.action not in proposals.ACTIONS:
            return LinkPage(400, "Link not valid", "This link is not about a proposed row.")
        return proposals.page(ports, ar.PREFIX, claim, token)

    return link_store(ports, settings).open(token, local_now(ports.clock, settings), view)


def act_on_proposal(
    ports: Ports,
    settings: Settings,
    token: str,
    request_id: str,
    fields: Mapping[str, str] | None = None,
) -> ActionResult:
    """POST: approve (the row is appended to the sheet), edit then approve, or discard; once."""
    now = local_now(ports.clock, settings)

    def apply(claim: LinkClaim) -> Answered:
        if claim.action not in proposals.ACTIONS:
            return Answered(False, "This link is not about a proposed row. Nothing changed.")
        edits = fields if claim.action == "edit" else None
        decision = proposals.decide(
            ports, ar.PREFIX, claim.subject, claim.action, claim.by or "link", now, edits
        )
        write_audit(
            ports.tables,
            decision.values.get("appt_id") or claim.subject,
            now,
            request_id,
            claim.action if decision.accepted else "rejected",
            {
                "proposal": claim.subject,
                "values": dict(decision.values),
                "result": decision.message,
            },
        )
        return Answered(decision.accepted, decision.message)

    def refused(claim: LinkClaim | None, reason: str) -> None:
        subject = claim.subject if claim else "(unverified link)"
        write_audit(ports.tables, subject, now, request_id, "rejected", {"reason": reason})

    return link_store(ports, settings).act(token, now, apply, refused)
