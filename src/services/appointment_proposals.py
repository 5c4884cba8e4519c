"""Proposed appointments: a forwarded booking confirmation or a calendar event tagged #appt
becomes a row the admin approves, edits or discards through signed links."""

from __future__ import annotations

from collections.abc import Mapping

from backoffice.core import appointment_intake as booking
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


ROWS = proposals.RowKind(
    ar.PREFIX, ar.SYSTEM, PROPOSAL_PATH, ar.COLUMNS, "appt_id", "customer_name"
)


def propose_from_event(ports: Ports, settings: Settings, event: CalendarEvent) -> bool:
    """A timed event tagged #appt: its start is the appointment's, its title the customer, the
    first phone number and email address in its description the contact."""
    tagged = proposals.tagged_event(event, CALENDAR_TAG)
    phone, email = booking.contact_in(tagged.description, settings.default_country)
    problems = []
    if len(event.start) <= len("2026-12-01"):
        problems.append("the event lasts all day: add the time to starts_at")
    if not (phone or email):
        problems.append("no phone number or email address in the event: add one")
    values = {
        "customer_name": tagged.title,
        "starts_at": event.start,
        "phone": phone,
        "email": email,
        "staff": event.creator,
    }
    return proposals.propose(
        ports, settings, ROWS, tagged.proposal_id, values, tagged.source, problems
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
    by_user: str | None = None,
) -> ActionResult:
    """POST (or a Slack button): approve (the row is appended to the sheet), edit then approve,
    or discard; once. `by_user` names who answered when the channel knows better than the link."""
    now = local_now(ports.clock, settings)

    def apply(claim: LinkClaim) -> Answered:
        if claim.action not in proposals.ACTIONS:
            return Answered(False, "This link is not about a proposed row. Nothing changed.")
        edits = fields if claim.action == "edit" else None
        decision = proposals.decide(
            ports, ar.PREFIX, claim.subject, claim.action, by_user or claim.by or "link", now, edits
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
