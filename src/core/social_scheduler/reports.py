"""The weekly digest (posted, failed, coming up) and the monthly recap's facts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from attrs import frozen

from backoffice.core.digest import text_table
from backoffice.core.social_scheduler.sheet import Post

RECAP_INSTRUCTIONS = (
    "You write a short monthly recap for the owner of a small business about their social "
    "media posts last month. Use only the facts given. Plain words, no headings, no lists, at "
    "most 100 words. Say how many posts went out on which channels, which failed and why, and "
    "what is planned next."
)


@frozen
class Attempt:
    """One channel attempt of one post, as `ss-sends` records it."""

    post_id: str
    channel: str
    ok: bool
    at: datetime
    url: str = ""
    error: str = ""


@frozen
class Composed:
    subject: str
    text: str


def _between(attempts: Iterable[Attempt], start: date, end: date) -> list[Attempt]:
    return sorted(
        (a for a in attempts if start <= a.at.date() <= end), key=lambda a: (a.at, a.channel)
    )


def posted_and_failed(
    attempts: Iterable[Attempt], start: date, end: date
) -> tuple[list[Attempt], list[Attempt]]:
    """The channels posted in the period, and the failures of channels that never posted."""
    inside = _between(attempts, start, end)
    posted = [a for a in inside if a.ok]
    done = {(a.post_id, a.channel) for a in posted}
    failed = {
        (a.post_id, a.channel): a for a in inside if not a.ok and (a.post_id, a.channel) not in done
    }
    return posted, list(failed.values())


def facts(
    posts: Sequence[Post], attempts: Iterable[Attempt], start: date, end: date, upcoming: date
) -> str:
    """Posted, failed, and the approved posts from `end` up to `upcoming`, as tables."""
    posted, failed = posted_and_failed(attempts, start, end)
    coming = sorted(
        (p for p in posts if p.approved and end < p.publish_at.date() <= upcoming),
        key=lambda p: p.publish_at,
    )
    return "\n".join(
        [
            f"Posted ({len(posted)}):",
            text_table(
                ("when", "post", "channel", "link"),
                [(f"{a.at:%a %d %b %H:%M}", a.post_id, a.channel, a.url) for a in posted],
            ),
            "",
            f"Failed ({len(failed)}):",
            text_table(
                ("post", "channel", "why"), [(a.post_id, a.channel, a.error) for a in failed]
            ),
            "",
            f"Coming up ({len(coming)}):",
            text_table(
                ("when", "post", "channels"),
                [
                    (f"{p.publish_at:%a %d %b %H:%M}", p.post_id, ", ".join(p.channels))
                    for p in coming
                ],
            ),
        ]
    )


def compose_digest(
    posts: Sequence[Post], attempts: Iterable[Attempt], start: date, end: date, upcoming: date
) -> Composed:
    text = facts(posts, attempts, start, end, upcoming)
    return Composed(f"Social posts: the week to {end:%d %B %Y}", text)
