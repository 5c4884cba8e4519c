"""SES bounce and complaint notifications (through SNS): a customer whose address hard-bounced
or who complained is paused, and their owner is told once.

A soft bounce (a full mailbox, a server that was away) pauses nobody: SES keeps trying, and
the next step may well arrive.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import frozen

from backoffice.core import onboarding_guide as og
from backoffice.core.settings import Settings
from backoffice.ports import Ports
from backoffice.services.onboarding_guide.answers import perform
from backoffice.services.onboarding_guide.state import load_documents, load_state
from backoffice.services.runtime import local_now

HARD = ("Permanent", "Undetermined")


@frozen
class Bounced:
    address: str
    outcome: str  # paused | unchanged | soft | unknown_address
    customer_id: str = ""


@frozen
class Feedback:
    """What one SES notification says: which addresses, why, and its id (the same for every
    copy SNS delivers)."""

    kind: str  # bounce | complaint | other
    hard: bool
    addresses: tuple[str, ...]
    reason: str
    feedback_id: str

    @classmethod
    def of(cls, notification: Mapping[str, Any]) -> Feedback:
        # SES writes notificationType for identity notifications, eventType for a configuration
        # set's event publishing; the rest of the shape is the same.
        kind = str(notification.get("notificationType") or notification.get("eventType") or "")
        if kind == "Bounce":
            bounce = notification.get("bounce") or {}
            recipients = bounce.get("bouncedRecipients") or []
            reason = f"the address bounced ({bounce.get('bounceSubType') or 'hard bounce'})"
            hard = bounce.get("bounceType") in HARD
            return cls(
                "bounce", hard, _addresses(recipients), reason, str(bounce.get("feedbackId", ""))
            )
        if kind == "Complaint":
            complaint = notification.get("complaint") or {}
            recipients = complaint.get("complainedRecipients") or []
            reason = "they marked our e-mail as spam"
            return cls(
                "complaint",
                True,
                _addresses(recipients),
                reason,
                str(complaint.get("feedbackId", "")),
            )
        return cls("other", False, (), "", "")


def _addresses(recipients: list[Any]) -> tuple[str, ...]:
    found = (str(r.get("emailAddress", "")) for r in recipients if isinstance(r, Mapping))
    return tuple(a for a in found if a)


def bounced(ports: Ports, settings: Settings, notification: Mapping[str, Any]) -> list[Bounced]:
    """Pause every active customer at a hard-bounced or complaining address. A second copy of
    the same notification finds them paused already and changes nothing."""
    feedback = Feedback.of(notification)
    if not feedback.hard:
        return [Bounced(address, "soft") for address in feedback.addresses]
    now = local_now(ports.clock, settings)
    customers = load_documents(ports.blobs, settings).customers
    outcomes = []
    for address in feedback.addresses:
        matching = [c for c in customers if c.email.casefold() == address.casefold()]
        if not matching:
            outcomes.append(Bounced(address, "unknown_address"))
        for customer in matching:
            if load_state(ports.tables, customer.customer_id).journey(customer.journey).paused:
                outcomes.append(Bounced(address, "unchanged", customer.customer_id))
                continue
            action = og.Action(
                "bounce",
                customer.customer_id,
                customer.journey,
                by=f"ses:{feedback.kind}",
                request_id=feedback.feedback_id or f"{feedback.kind}:{address}",
                value=feedback.reason,
            )
            transition = perform(ports, settings, action, now)
            outcome = "paused" if transition.accepted else "unchanged"
            outcomes.append(Bounced(address, outcome, customer.customer_id))
    return outcomes
