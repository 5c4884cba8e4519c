"""The daily tick and dispatching one move: alerts, reminders and escalations, with their
Renew / Snooze / Ack only links."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from attrs import evolve

from backoffice.core import expiry_watcher as ew
from backoffice.core.settings import Settings
from backoffice.core.templates import TemplateError
from backoffice.ports import Button, Ports
from backoffice.services import engine
from backoffice.services.delivery import Unbuildable, stamp
from backoffice.services.documents import voiced
from backoffice.services.engine import Delivery, Outgoing
from backoffice.services.expiry_watcher.state import (
    ARCHIVE,
    PINGS,
    load_documents,
    load_state,
    load_voice,
    ping_slot,
)
from backoffice.services.records import archive_chains
from backoffice.services.runtime import (
    LinkTarget,
    answer_links,
    calendar_for,
    channel_of,
    deliver_text,
    local_now,
    tell_admin,
)
from backoffice.services.system import TickResult

LINK_PATH = "/ew/ack"
LABELS = {"renew": "Renew", "snooze": "Snooze", "ack_only": "Ack only"}


def tick(ports: Ports, settings: Settings) -> TickResult:
    """Decide this tick's moves and hand each to dispatch through the bus."""
    now = local_now(ports.clock, settings)
    docs = load_documents(ports.blobs, settings)
    plan = ew.plan_tick(docs.items, load_state(ports.tables), docs.rules, now)
    archive_chains(ports.tables, PINGS, ARCHIVE, plan.archive)
    moves, waiting = voiced(plan.moves, docs.voice, docs.voice_text)
    ports.bus.emit([(f"ew.{move.kind}", move.as_json()) for move in moves])
    planned = evolve(plan, moves=tuple(moves))
    return TickResult(now, planned, (*docs.problems, *waiting, *plan.problems))


def dispatch(ports: Ports, settings: Settings, detail: Mapping[str, Any]) -> Delivery:
    """Deliver one move now, defer it to the next allowed minute, or drop it if no longer due."""
    move = ew.Move.from_json(detail, ew.MOVES)
    now = local_now(ports.clock, settings)
    channel = channel_of(move.to[0])
    outgoing = Outgoing.of(move, channel, ping_slot(move))
    if not ew.still_due(move, load_state(ports.tables, move.subject), now.date()):
        return outgoing.report("dropped", now)

    def send() -> str:
        try:
            composed = ew.compose(move, load_voice(ports.blobs))
        except (KeyError, TemplateError) as error:
            raise Unbuildable(f"its words cannot be written: {error}") from None
        links = action_links(settings, move, now)
        return deliver_text(ports, move.to[0], composed.subject, composed.text, links, move.key)

    return engine.deliver(
        ports,
        lambda when: calendar_for(settings, when),
        outgoing,
        now,
        send,
        {"ping_date": now.date().isoformat(), "dispatched_via": channel, "sent_at": stamp(now)},
        lambda failure: tell_admin_of_failure(
            ports, settings, move, failure.attempts, failure.error
        ),
    )


def action_links(settings: Settings, move: ew.Move, now: datetime) -> tuple[Button, ...]:
    """Renew, Snooze and Ack only, each a signed single-use link bound to the move's chain."""
    target = LinkTarget(ew.SYSTEM, move.subject, move.chain, move.key, move.to[0], LINK_PATH)
    return answer_links(settings, target, LABELS, now)


def tell_admin_of_failure(
    ports: Ports, settings: Settings, move: ew.Move, attempts: int, error: str
) -> None:
    """A send that failed for good is put in front of a person; it is never dropped silently."""
    what, name = move.kind.replace("_", " "), move.fields["item_name"]
    subject = f"Could not deliver the {what} for {name}"
    text = (
        f"backoffice tried {attempts} times to send the {what} about {name} (item "
        f"{move.subject}, act by {move.fields['act_by']}) to {move.to[0]}, and every try "
        f"failed.\n\nLast error: {error}\n\nPlease check the address and pass the message on "
        "yourself; it will not be retried automatically."
    )
    tell_admin(ports, settings, subject, text, f"{move.key}:failed")
