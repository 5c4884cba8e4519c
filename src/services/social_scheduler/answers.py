"""The review card and its answers: Approve, Hold, Send now, from an e-mail's confirmation
page (GET shows, POST acts) or a Slack button, each link signed and single-use."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING

from attrs import evolve

from backoffice.core import social_scheduler as ss
from backoffice.core.settings import Settings
from backoffice.core.tokens import LinkClaim
from backoffice.ports import ConditionFailed, Equals, Ports
from backoffice.services.answers import act_on_link, link_store
from backoffice.services.links import ActionResult, Answered, LinkAnswer, LinkForm, LinkPage
from backoffice.services.records import write_audit
from backoffice.services.runtime import local_now
from backoffice.services.social_scheduler.review import LABELS
from backoffice.services.social_scheduler.state import (
    AUDIT,
    CLAIM,
    SENDS,
    STATUS,
    documents_of,
    save_status,
    status_from_row,
)
from backoffice.services.social_scheduler.tick import (
    book,
    booking_name,
    moves_for,
)

if TYPE_CHECKING:
    from backoffice.services.system import System

GONE = "This post is no longer in the sheet; nothing was changed."
TRIES = 3


def open_link(system: System, ports: Ports, settings: Settings, token: str) -> LinkPage:
    """GET: what the answer will do. Changes nothing."""
    now = local_now(ports.clock, settings)
    return link_store(system, ports, settings).open(
        token, now, lambda claim: _page(ports, settings, claim, token)
    )


def _page(ports: Ports, settings: Settings, claim: LinkClaim, token: str) -> LinkPage:
    post = documents_of(ports, settings).post(claim.subject)
    if post is None or claim.action not in LABELS:
        return LinkPage(410, "Out of date", GONE)
    label = LABELS[claim.action]
    what = {
        "approve": f"Approve {post.post_id}: it goes out {post.publish_at:%a %d %b %H:%M}",
        "hold": f"Hold {post.post_id}: it goes back to draft and nothing is posted",
        "send_now": f"Send {post.post_id} now, after the usual checks",
    }[claim.action]
    message = f"{what} on {', '.join(post.channels)}.\n\n{post.text}"
    return LinkPage(200, f"{label} this post", message, LinkForm(token, claim.action, label))


def act(system: System, ports: Ports, settings: Settings, answer: LinkAnswer) -> ActionResult:
    def apply(action: ss.Action, claim: LinkClaim, now: datetime) -> Answered:
        transition = perform(ports, settings, action, now)
        return Answered(transition.accepted, transition.message)

    return act_on_link(system, ports, settings, answer, apply)


def perform(
    ports: Ports, settings: Settings, action: ss.Action, now: datetime
) -> ss.Transition[ss.Status]:
    """The core decides over the status it read; the status is written over that epoch (a
    concurrent answer makes this one decide again), then the sheet and the one-offs."""
    for attempt in range(TRIES):
        post = documents_of(ports, settings).post(action.subject)
        row = ports.tables.get(STATUS.name, action.subject, "status")
        status = status_from_row(row) if row else ss.Status(action.subject)
        transition = ss.apply_action(post, status, action, now)
        if transition.record is None or post is None:
            break
        try:
            save_status(ports.tables, status, transition.record)
        except ConditionFailed:
            if attempt == TRIES - 1:
                raise
            continue
        _effects(ports, settings, post, status, transition, now)
        break
    write_audit(ports.tables, AUDIT, transition.audit)
    return transition


def _effects(
    ports: Ports,
    settings: Settings,
    post: ss.Post,
    before: ss.Status,
    transition: ss.Transition[ss.Status],
    now: datetime,
) -> None:
    for write in transition.sheet_writes:
        ports.sheet.update_cell(write.row_id, write.column, write.value)
    after = transition.record
    assert after is not None
    _cancel(ports, post, before)
    if after.state == "draft":
        return
    _reopen_failed(ports, post)
    if transition.audit.action == "send_now":
        moves = [ss.channel_move(post, c, now, after.epoch) for c in post.channels]
        now_moves = [evolve(m, fields={**m.fields, "now": "1"}) for m in moves]
        ports.bus.emit([("ss.post", m.as_json()) for m in now_moves])
        return
    for move in moves_for(ports, settings, evolve(post, approved=True), after, now):
        if move.kind == "post" and datetime.fromisoformat(move.fields["at"]) > now:
            book(ports, move, after)
        else:
            ports.bus.emit([(f"ss.{move.kind}", move.as_json())])


def _reopen_failed(ports: Ports, post: ss.Post) -> None:
    """A channel that failed for good is tried afresh after the owner approves again: they
    were told to, once the channel works. Channels that succeeded stay done."""
    for channel in post.channels:
        pk = f"{post.post_id}#{channel}"
        row = ports.tables.get(SENDS.name, pk, CLAIM)
        if row and row.get("status") == "failed":
            reopened = {**row, "status": "retry", "attempts": 0, "retry_at": None}
            with suppress(ConditionFailed):
                ports.tables.put(SENDS.name, reopened, Equals("status", "failed"))


def _cancel(ports: Ports, post: ss.Post, status: ss.Status) -> None:
    """The one-offs booked for the post's minute: they would find the epoch moved on and post
    nothing, but a cancelled booking costs nothing and leaves no stale schedule behind."""
    if status.due_at is None:
        return
    for channel in post.channels:
        ports.scheduler.cancel(booking_name(ss.post_key(post.post_id, channel), status.due_at))
