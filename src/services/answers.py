"""The flow every system's link answers share: read the clock once, spend the link, turn the
claim and what the person entered into an Action, apply it, and audit a refused link."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from backoffice.core.settings import Settings
from backoffice.core.tokens import LinkClaim
from backoffice.core.vocabulary import Action, rejected
from backoffice.ports import Ports
from backoffice.services.links import ActionResult, Answered, LinkAnswer, Links
from backoffice.services.records import write_audit
from backoffice.services.runtime import local_now

if TYPE_CHECKING:
    from backoffice.services.system import System

LINK_SECRET = "link_secret"
Apply = Callable[[Action, LinkClaim, datetime], Answered]


def link_store(system: System, ports: Ports, settings: Settings) -> Links:
    return Links(ports.tables, system.storage.nonces.name, settings.secret(LINK_SECRET))


def action_of(claim: LinkClaim, answer: LinkAnswer) -> Action:
    """Who answered: the channel's word (Slack's user) over the link's addressee."""
    return Action(
        kind=claim.action,
        subject=claim.subject,
        chain=claim.chain,
        by=answer.by or claim.by or "link",
        request_id=answer.request_id,
        value=answer.value or next(iter(answer.fields.values()), ""),  # a one-field form
        detail=claim.detail,
    )


def act_on_link(
    system: System, ports: Ports, settings: Settings, answer: LinkAnswer, apply: Apply
) -> ActionResult:
    """POST from a confirmation page, or a Slack button: spend the link, then `apply` it."""
    now = local_now(ports.clock, settings)

    def refused(claim: LinkClaim | None, reason: str) -> None:
        if claim is None:
            return  # not one of ours: nothing to audit, and junk cannot grow the audit table
        action = Action(
            claim.action, claim.subject, claim.chain, answer.by or claim.by, answer.request_id
        )
        write_audit(ports.tables, system.storage.audit, rejected(action, now, reason).audit)

    return link_store(system, ports, settings).act(
        answer.token, now, lambda claim: apply(action_of(claim, answer), claim, now), refused
    )
