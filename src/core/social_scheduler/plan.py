"""The daily tick: for each approved post, one `post` move per channel still to go (sent now
when due, booked for its exact minute when due before the next tick), or a `flag` to the owner
when a channel would refuse it or its minute passed long before anyone approved it.

A post's minute is its `publish_at`, moved to the next allowed minute when it falls outside the
posting window or on a blackout day.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
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


class DueMinutes:
    """`due_minute` for many posts under one calendar. Most posts sit inside the window on a
    day that may post, and then their minute is their own: whether it is can be told from the
    wall clock's minute as an integer and the date, as `is_allowed` tells it. The others search
    for the next allowed minute once per stretch of minutes that lands in the same place."""

    __slots__ = ("_blackouts", "_calendar", "_moved", "_openings", "_quick", "_quiet", "_zone")

    def __init__(self, calendar: Calendar) -> None:
        self._calendar = calendar
        self._zone = calendar.zone
        self._blackouts = calendar.holidays
        start, end = calendar.quiet_start, calendar.quiet_end
        self._quiet = None if start is None or end is None else (_minute(start), _minute(end))
        # A calendar closed on some weekdays, or quiet from a second that is not a minute's
        # first, is left to next_allowed whole.
        self._quick = calendar.business_days == ALL_DAYS and all(
            b is None or not (b.second or b.microsecond) for b in (start, end)
        )
        self._openings: dict[date, list[datetime]] = {}
        self._moved: dict[tuple[date, int], datetime] = {}

    def __call__(self, at: datetime) -> datetime:
        minute = at.replace(second=0, microsecond=0) if at.second or at.microsecond else at
        if not self._quick or minute.tzinfo is not self._zone:
            return next_allowed(minute, self._calendar)
        if self._allowed(minute):
            return minute
        return self._next_opening(minute)

    def of_posts(self, posts: Iterable[Post]) -> list[datetime]:
        """Each post's minute, as `self(post.publish_at)`: the test for a whole minute inside
        the window written out in one loop, which runs once per post of the sheet."""
        if not self._quick or self._quiet is None:
            return [self(post.publish_at) for post in posts]
        zone, blackouts, (start, end) = self._zone, self._blackouts, self._quiet
        # The window as the minutes it allows: [low, high), or all but [high, low) overnight.
        low, high, inside = (end, start, True) if end < start else (start, end, False)
        dues = []
        for post in posts:
            at = post.publish_at
            if at.tzinfo is not zone or at.second or at.microsecond:
                dues.append(self(at))
            elif (low <= at.hour * 60 + at.minute < high) is inside and not (
                blackouts and at.date() in blackouts
            ):
                dues.append(at)
            else:
                dues.append(self._next_opening(at))
        return dues

    def _allowed(self, local: datetime) -> bool:
        """`is_allowed` for a minute in the calendar's zone, on a calendar open every weekday."""
        if self._blackouts and local.date() in self._blackouts:
            return False
        if self._quiet is None:
            return True
        start, end = self._quiet
        clock = local.hour * 60 + local.minute
        if start < end:
            return not start <= clock < end
        return end <= clock < start

    def _next_opening(self, local: datetime) -> datetime:
        """next_allowed of a minute that may not post. It takes the first of the openings
        (each day's midnight and window start, days that may not post left out) after
        `local`; times in one zone compare by their wall clocks, and the later days' openings
        all come after any minute of this day. So minutes of one day with the same openings
        at or before them go to the same place, and it is looked for once."""
        day = local.date()
        openings = self._openings.get(day)
        if openings is None:
            openings = self._openings[day] = self._day_openings(day)
        stretch = (day, bisect_right(openings, local))
        found = self._moved.get(stretch)
        if found is None:
            found = self._moved[stretch] = next_allowed(local, self._calendar)
        return found

    def _day_openings(self, day: date) -> list[datetime]:
        if day in self._blackouts:
            return []
        starts = [local_at(day, time(0, 0), self._zone)]
        if self._calendar.quiet_end is not None:
            starts.append(local_at(day, self._calendar.quiet_end, self._zone))
        return sorted(starts)


def _minute(at: time) -> int:
    return at.hour * 60 + at.minute


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
    due_of = DueMinutes(posting_calendar(rules.posting, str(now.tzinfo)))
    said: dict[datetime, str] = {}  # the moved posts share a few minutes to go out at
    posts = tuple(posts)
    for post, due in zip(posts, due_of.of_posts(posts), strict=True):
        at = post.publish_at
        if due is not at and due != at:
            message = said.get(due) or said.setdefault(due, _goes_out(due))
            problems.append(_moved(post, message))
        if post.approved:
            if due >= next_tick:  # nothing to do before the next tick: post_moves says so too
                continue
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
    return _moved(post, _goes_out(due))


def _goes_out(due: datetime) -> str:
    return f"outside the posting window or on a blackout day; it goes out {due:%a %Y-%m-%d %H:%M}"


def _moved(post: Post, message: str) -> Problem:
    return Problem(SHEET_FILE, post.line, "publish_at", _minute_text(post.publish_at), message)


def _minute_text(at: datetime) -> str:
    """`f"{at:%Y-%m-%d %H:%M}"` at half of strftime's cost (which writes years before 1000
    without their zeros: it keeps those)."""
    if at.year < 1000:
        return f"{at:%Y-%m-%d %H:%M}"
    return at.isoformat(" ", "minutes")[:16]


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
