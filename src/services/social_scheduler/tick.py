"""The daily tick (each approved post's channels booked for their exact minute, or sent when
due) and the sender: the approved flag and the status read again at send time, every channel's
checks before any channel posts, one `ss-sends` row per attempt, a succeeded channel never
posted to again."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from attrs import evolve

from backoffice.core import social_scheduler as ss
from backoffice.core.business_time import Calendar
from backoffice.core.keys import schedule_name
from backoffice.core.settings import Settings
from backoffice.ports import Button, ConditionFailed, Images, Ports, Posting
from backoffice.services import engine
from backoffice.services.delivery import Unbuildable, stamp
from backoffice.services.engine import Delivery, Outgoing
from backoffice.services.runtime import (
    calendar_for,
    channel_of,
    deliver_text,
    local_now,
    tell_admin,
)
from backoffice.services.social_scheduler.channels import blocked_channels, post_on
from backoffice.services.social_scheduler.review import card_words, review_links
from backoffice.services.social_scheduler.state import (
    STATUS,
    Documents,
    documents_of,
    image_facts,
    load_state,
    save_status,
    save_statuses,
    send_slot,
    status_from_row,
)
from backoffice.services.system import TickResult


def posting_of(ports: Ports) -> Posting:
    if ports.posting is None:
        raise RuntimeError("the social scheduler needs a Posting adapter in its ports")
    return ports.posting


def images_of(ports: Ports) -> Images:
    if ports.images is None:
        raise RuntimeError("the social scheduler needs an Images adapter in its ports")
    return ports.images


def tick(ports: Ports, settings: Settings) -> TickResult:
    """Book each channel due before the next tick at its minute; emit the due ones and the
    owner's flags. A refused post drops to draft here, before anything is booked."""
    now = local_now(ports.clock, settings)
    docs = documents_of(ports, settings)
    facts = image_facts(ports.blobs, images_of(ports), docs.posts)
    state = load_state(ports.tables, blocked_channels(ports, docs.rules))
    next_tick = ss.next_tick_after(now, settings.tick_at, ZoneInfo(settings.timezone))
    plan = ss.plan_tick(docs.posts, state, docs.rules, facts, now, next_tick, settings.admin)
    emitted = []
    queued: dict[str, tuple[ss.Status, ss.Status]] = {}  # a post's channels queue it once
    for move in plan.moves:
        status = state.status(move.subject)
        if move.kind == "flag":
            settle_flag(ports, docs, status, move)
            emitted.append(move)
        elif datetime.fromisoformat(move.fields["at"]) > now:
            after = _booked(ports, move, status)
            if after is not None:
                queued[move.subject] = (status, after)
        else:
            emitted.append(move)
    save_statuses(ports.tables, list(queued.values()))
    ports.bus.emit([(f"ss.{move.kind}", move.as_json()) for move in emitted])
    return TickResult(now, plan, (*docs.problems, *plan.problems))


def book(ports: Ports, move: ss.Move, status: ss.Status) -> None:
    """A one-off at the channel's exact minute, named for it: a new minute is a new booking,
    and the old one finds the minute changed and posts nothing."""
    after = _booked(ports, move, status)
    if after is not None:
        _save(ports, status, after)


def _booked(ports: Ports, move: ss.Move, status: ss.Status) -> ss.Status | None:
    """Book the move; the post's status after it, when that is another."""
    at = datetime.fromisoformat(move.fields["at"])
    ports.scheduler.book(booking_name(move.key, at), at, {"move": move.as_json()})
    if status.state != "queued" or status.due_at != at:
        return evolve(status, state="queued", due_at=at)
    return None


def booking_name(key: str, at: datetime) -> str:
    return schedule_name(f"{key}:{stamp(at)}")


def settle_flag(ports: Ports, docs: Documents, status: ss.Status, move: ss.Move) -> None:
    """A refused post drops to draft (flag unset in the sheet, epoch on); a missed one is
    marked missed. Either way nothing of it is booked or posted until it is approved again.
    A review card is noted, so the next tick does not send it again."""
    due = datetime.fromisoformat(move.fields["at"])
    if move.fields["why"] == "review":
        _save(ports, status, evolve(status, state="reviewed", due_at=due))
        return
    if move.fields["why"] == "missed":
        _save(
            ports, status, evolve(status, state="missed", due_at=due, reason=move.fields["reason"])
        )
        return
    draft = evolve(status, state="draft", epoch=status.epoch + 1, reason=move.fields["reason"])
    _save(ports, status, draft)
    # The row was removed since, or the sheet cannot be written: its status is draft anyway.
    with suppress(KeyError, ValueError):
        ports.sheet.update_cell(move.subject, "approved", "")


def _save(ports: Ports, before: ss.Status, after: ss.Status) -> None:
    with suppress(ConditionFailed):  # an answer changed it meanwhile: its epoch wins
        save_status(ports.tables, before, after)


def dispatch(ports: Ports, settings: Settings, detail: Mapping[str, Any]) -> Delivery:
    move = ss.Move.from_json(detail, ss.MOVES)
    if move.kind == "flag":
        return _flag(ports, settings, move)
    now = local_now(ports.clock, settings)
    docs = documents_of(ports, settings)
    post = docs.post(move.subject)
    channel = move.fields["channel"]
    outgoing = Outgoing.of(move, channel, send_slot(move, docs.rules.posting.max_attempts))
    status = _status(ports, move.subject)
    calendar = ss.posting_calendar(docs.rules.posting, settings.timezone)
    if post is None or not _still_due(post, status, move, calendar):
        return outgoing.report("dropped", now)
    refused = ss.post_problems(
        post, docs.rules, image_facts(ports.blobs, images_of(ports), (post,))
    )
    if refused:
        reason = ss.describe_problems(refused)
        at = datetime.fromisoformat(move.fields["at"]) if not move.fields.get("now") else now
        flagged = ss.flag(post, settings.admin, "refused", reason, status.epoch, at)
        settle_flag(ports, docs, status, flagged)
        _flag(ports, settings, flagged)
        return outgoing.report("dropped", now, error=reason)
    if channel in blocked_channels(ports, docs.rules):
        return outgoing.report("waiting", now, error=f"{channel} waits to be reconnected")
    delivered = engine.deliver(
        ports,
        lambda when: calendar,
        outgoing,
        now,
        lambda: post_on(ports, settings, docs.rules.channels[channel], post, move, now),
        {"sent_at": stamp(now)},
        lambda failure: _tell_owner(ports, settings, post, channel, failure.error),
    )
    if delivered.status == "sent":
        _mark_sent_when_all_are(ports, post, status)
    return delivered


def _status(ports: Ports, post_id: str) -> ss.Status:
    row = ports.tables.get(STATUS.name, post_id, "status")
    return status_from_row(row) if row else ss.Status(post_id)


def _still_due(post: ss.Post, status: ss.Status, move: ss.Move, calendar: Calendar) -> bool:
    """The gate, read at send time: approved in the sheet now, no approve, hold or send now
    since the move was decided, still on that channel, and (unless sent now on request) still
    at that minute."""
    if not post.approved or str(status.epoch) != move.fields.get("epoch"):
        return False
    if status.state == "draft" or move.fields["channel"] not in post.channels:
        return False
    if status.state == "missed" and status.due_at is not None:
        return status.due_at.isoformat() != move.fields["at"]
    if move.fields.get("now"):
        return True
    return ss.due_minute(post, calendar).isoformat() == move.fields["at"]


def _mark_sent_when_all_are(ports: Ports, post: ss.Post, status: ss.Status) -> None:
    state = load_state(ports.tables, frozenset(), post)
    sends = [state.send(post.post_id, c) for c in post.channels]
    if all(s is not None and s.status == "sent" for s in sends):
        current = _status(ports, status.post_id)  # another channel's sender may have moved it
        _save(ports, current, evolve(current, state="sent"))


def _flag(ports: Ports, settings: Settings, move: ss.Move) -> Delivery:
    """The owner told why a post goes nowhere, once per reason, in business hours."""
    now = local_now(ports.clock, settings)
    to = move.to[0]
    slot = send_slot(evolve(move, fields={**move.fields, "channel": "flag"}), 3)
    slot = evolve(slot, sk=move.key, row={**slot.row, "attempt": move.key})
    outgoing = Outgoing.of(move, channel_of(to), slot)
    return engine.deliver(
        ports,
        lambda when: calendar_for(settings, when),
        outgoing,
        now,
        lambda: _tell(ports, settings, move, now),
        {"sent_at": stamp(now)},
        lambda failure: None,  # the flag is itself the notice; its failure stays on record
    )


def _tell(ports: Ports, settings: Settings, move: ss.Move, now: datetime) -> str:
    """A review card carries its answers; a refusal or a missed minute is said plainly."""
    links: tuple[Button, ...] = ()
    if move.fields["why"] == "review":
        post = documents_of(ports, settings).post(move.subject)
        if post is None:
            raise Unbuildable("the post is no longer in the sheet")
        subject, text = card_words(post, move.fields["reason"])
        links = review_links(settings, post, now)
    else:
        subject, text = flag_words(move)
    return deliver_text(ports, move.to[0], subject, text, links, move.key)


def flag_words(move: ss.Move) -> tuple[str, str]:
    post, reason = move.subject, move.fields["reason"]
    if move.fields["why"] == "missed":
        return f"Post {post} was not posted", f"The post {post} was not posted: {reason}."
    text = (
        f"The post {post} was not posted anywhere: {reason}.\n\nIt is back to draft (its "
        f"approved flag is cleared). Fix it in the sheet and approve it again.\n\n"
        f"The text:\n{move.fields.get('text', '')}"
    )
    return f"Post {post} needs a change before it can go out", text


def _tell_owner(ports: Ports, settings: Settings, post: ss.Post, channel: str, error: str) -> None:
    subject = f"Post {post.post_id} could not be posted on {channel}"
    text = (
        f"backoffice tried to post {post.post_id} on {channel} and every try failed.\n\n"
        f"Last error: {error}\n\nThe other channels are not affected. It will not be retried "
        "automatically; approve it again (or use Send now) once the channel works."
    )
    tell_admin(ports, settings, subject, text, f"ss:{post.post_id}:{channel}:failed")


def moves_for(
    ports: Ports, settings: Settings, post: ss.Post, status: ss.Status, now: datetime
) -> Sequence[ss.Move]:
    """The post's channels still to go, as the tick would plan them for this status."""
    docs = documents_of(ports, settings)
    blocked = blocked_channels(ports, docs.rules)
    state = load_state(ports.tables, blocked, post)
    state = evolve(state, statuses={post.post_id: status})
    facts = image_facts(ports.blobs, images_of(ports), (post,))
    next_tick = ss.next_tick_after(now, settings.tick_at, ZoneInfo(settings.timezone))
    calendar = ss.posting_calendar(docs.rules.posting, settings.timezone)
    due = ss.due_minute(post, calendar)
    moves, _ = ss.post_moves(post, due, state, docs.rules, facts, now, next_tick, settings.admin)
    return moves
