"""The owner's answers on a review card: approve, hold, send now. Each one moves the post's
epoch on, so whatever was booked before it (a one-off, a stale event) posts nothing."""

from __future__ import annotations

from datetime import datetime

from attrs import evolve

from backoffice.core.social_scheduler.plan import Status
from backoffice.core.social_scheduler.sheet import APPROVED, Post
from backoffice.core.vocabulary import (
    Action,
    SheetWrite,
    Transition,
    audit_entry,
    rejected,
)

ACTIONS = ("approve", "hold", "send_now")


def apply_action(
    post: Post | None, status: Status, action: Action, now: datetime
) -> Transition[Status]:
    """The status after the answer and the sheet cell it sets. Booking and cancelling the
    post's one-offs follows from the new status (the service plans them)."""
    if post is None:
        return rejected(action, now, "This post is no longer in the sheet; nothing was changed.")
    if action.kind not in ACTIONS:
        return rejected(action, now, f"Unknown answer {action.kind!r}; nothing was changed.")
    if status.state == "sent":
        return rejected(action, now, "This post has already gone out; nothing was changed.")
    after = _after(status, action.kind)
    flag = "" if action.kind == "hold" else APPROVED
    before, changed = _audited(status, post), _audited(after, post, approved=flag)
    return Transition(
        accepted=True,
        message=MESSAGES[action.kind],
        audit=audit_entry(action, now, before, changed, accepted=True),
        record=after,
        sheet_writes=(SheetWrite(post.post_id, "approved", flag),),
    )


MESSAGES = {
    "approve": "Approved: it goes out at its minute on every channel.",
    "hold": "Held: it is back to draft and will not go out until it is approved again.",
    "send_now": "Sending now, after the same checks every post passes.",
}


def _after(status: Status, kind: str) -> Status:
    state = "draft" if kind == "hold" else "queued"
    return evolve(status, state=state, epoch=status.epoch + 1, reason=kind)


def _audited(status: Status, post: Post, approved: str | None = None) -> dict[str, str]:
    flag = ("TRUE" if post.approved else "") if approved is None else approved
    return {"state": status.state, "epoch": str(status.epoch), "approved": flag}
