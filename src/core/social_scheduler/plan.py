"""The daily tick: for each approved post, one `post` move per channel still to go (sent now
when due, booked for its exact minute when due before the next tick), or a `flag` to the owner
when a channel would refuse it or its minute passed long before anyone approved it.

A post's minute is its `publish_at`, moved to the next allowed minute when it falls outside the
posting window or on a blackout day.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from attrs import frozen

from backoffice.core.business_time import Calendar, local_at, next_allowed
from backoffice.core.images import ImageFacts
from backoffice.core.keys import move_key
from backoffice.core.problems import Problem
from backoffice.core.social_scheduler.checks import describe_problems, post_problems
from backoffice.core.social_scheduler.rules import PostingRules, Rules
from backoffice.core.social_scheduler.sheet import PREFIX, SHEET_FILE, Post
from backoffice.core.vocabulary import Move, Plan

MoveKind = Literal["post", "flag"]
MOVES: tuple[MoveKind, ...] = ("post", "flag")
ALL_DAYS = frozenset(range(7))
NOT_APPROVED = "This post is due before the next run and is not approved yet."
# A channel that waited for a reconnect is retried if its post is not older than this: an
# offer posted days late does more harm than good.
STALE_AFTER = timedelta(days=1)


@frozen
class Status:
    """A post's state as the system keeps it (`ss-status`): `epoch` grows with every approve,
    hold, send now and drop to draft, so a one-off booked before one of them posts nothing."""

    post_id: str
    state: str = "new"  # new | reviewed | queued | draft | sent | missed
    epoch: int = 0
    due_at: datetime | None = None  # the minute it was last planned for
    reason: str = ""


@frozen
class ChannelSend:
    """One channel of one post in `ss-sends`: sending, retry, sent or failed."""

    status: str
    attempts: int = 0
    retry_at: datetime | None = None
    url: str = ""


@frozen
class State:
    statuses: Mapping[str, Status]
    sends: Mapping[tuple[str, str], ChannelSend]  # (post_id, channel)
    blocked: frozenset[str] = frozenset()  # channels waiting for a reconnect

    def status(self, post_id: str) -> Status:
        return self.statuses.get(post_id, Status(post_id))

    def send(self, post_id: str, channel: str) -> ChannelSend | None:
        return self.sends.get((post_id, channel))


def posting_calendar(posting: PostingRules, timezone: str) -> Calendar:
    """The posting window as a calendar: the hours outside it are quiet, blackout days are
    holidays, every weekday may post."""
    quiet = (posting.window[1], posting.window[0]) if posting.window else (None, None)
    return Calendar(timezone, quiet[0], quiet[1], ALL_DAYS, posting.blackout_days)


def due_minute(post: Post, calendar: Calendar) -> datetime:
    return next_allowed(post.publish_at.replace(second=0, microsecond=0), calendar)


def post_key(post_id: str, channel: str) -> str:
    return move_key(PREFIX, post_id, channel, "post")


def plan_tick(
    posts: Iterable[Post],
    state: State,
    rules: Rules,
    images: Mapping[str, ImageFacts],
    now: datetime,
    next_tick: datetime,
    admin: str,
) -> Plan:
    moves: list[Move] = []
    problems: list[Problem] = []
    calendar = posting_calendar(rules.posting, str(now.tzinfo))
    for post in posts:
        due = due_minute(post, calendar)
        if due != post.publish_at:
            problems.append(moved(post, due))
        if post.approved:
            found, notes = post_moves(post, due, state, rules, images, now, next_tick, admin)
            moves += found
            problems += notes
        elif now <= due < next_tick and _unreviewed(state.status(post.post_id), due):
            moves.append(flag(post, admin, "review", NOT_APPROVED, 0, due))
    return Plan(tuple(moves), tuple(problems))


def _unreviewed(status: Status, due: datetime) -> bool:
    """Never answered, and no review card yet for this minute."""
    return status.state == "new" or (status.state == "reviewed" and status.due_at != due)


def moved(post: Post, due: datetime) -> Problem:
    message = (
        f"outside the posting window or on a blackout day; it goes out {due:%a %Y-%m-%d %H:%M}"
    )
    return Problem(
        SHEET_FILE, post.line, "publish_at", f"{post.publish_at:%Y-%m-%d %H:%M}", message
    )


def post_moves(
    post: Post,
    due: datetime,
    state: State,
    rules: Rules,
    images: Mapping[str, ImageFacts],
    now: datetime,
    next_tick: datetime,
    admin: str,
) -> tuple[list[Move], list[Problem]]:
    """What an approved post needs now: nothing (sent, far off, failed for good), its channels'
    moves, or a flag (a channel refuses it; its minute passed before it was ever sent)."""
    status = state.status(post.post_id)
    pending = [c for c in post.channels if _pending(state.send(post.post_id, c), now)]
    if not pending or due >= next_tick or (status.state == "missed" and status.due_at == due):
        return [], []
    refused = post_problems(post, rules, images)
    if refused:
        return [flag(post, admin, "refused", describe_problems(refused), status.epoch, due)], []
    seen = _seen_in_time(post, state, status, due)
    if not seen and now - due > timedelta(minutes=rules.posting.grace_minutes):
        return [flag(post, admin, "missed", _missed(due, rules), status.epoch, due)], []
    blocked = [c for c in pending if c in state.blocked]
    notes = [_waiting(post, c) for c in blocked]
    if now - due > STALE_AFTER:
        return [], notes
    ready = [c for c in pending if c not in state.blocked]
    return [channel_move(post, c, due, status.epoch) for c in ready], notes


def _seen_in_time(post: Post, state: State, status: Status, due: datetime) -> bool:
    """Planned for this minute before it passed (booked, or a channel already tried): a
    late send of it is a retry, not a post nobody approved in time."""
    started = any(state.send(post.post_id, c) for c in post.channels)
    return started or (status.state == "queued" and status.due_at == due)


def _pending(send: ChannelSend | None, now: datetime) -> bool:
    """Still to go: never tried, left by a crashed sender, or a retry whose booking is due."""
    if send is None or send.status == "sending":
        return True
    return send.status == "retry" and (send.retry_at is None or send.retry_at <= now)


def _missed(due: datetime, rules: Rules) -> str:
    return (
        f"its minute ({due:%a %Y-%m-%d %H:%M}) passed more than "
        f"{rules.posting.grace_minutes} minutes before it was seen approved, so it was not posted"
    )


def _waiting(post: Post, channel: str) -> Problem:
    message = f"{channel} refused its token; the post waits there until the channel is reconnected"
    return Problem(SHEET_FILE, post.line, "channels", channel, message)


def channel_move(post: Post, channel: str, due: datetime, epoch: int) -> Move:
    return Move(
        key=post_key(post.post_id, channel),
        kind="post",
        subject=post.post_id,
        chain=post.post_id,
        to=(channel,),
        line=post.line,
        fields={"channel": channel, "at": due.isoformat(), "epoch": str(epoch)},
    )


def flag(post: Post, admin: str, why: str, reason: str, epoch: int, due: datetime) -> Move:
    """A word to the owner (`why`: refused, missed, or review: due soon and not approved), once
    per reason: the same refusal does not flag again each day; an edited post is new."""
    seen = f"{reason}|{due.isoformat()}|{post.text}" if why == "review" else reason
    digest = hashlib.sha256(seen.encode("utf-8")).hexdigest()[:10]
    return Move(
        key=move_key(PREFIX, post.post_id, "flag", why, digest),
        kind="flag",
        subject=post.post_id,
        chain=post.post_id,
        to=(admin,),
        line=post.line,
        fields={
            "why": why,
            "reason": reason,
            "epoch": str(epoch),
            "at": due.isoformat(),
            "text": post.text,
        },
    )


def next_tick_after(now: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The next daily tick strictly after `now`."""
    day = now.astimezone(zone).date()
    today = local_at(day, at, zone)
    return today if today > now else local_at(day + timedelta(days=1), at, zone)
