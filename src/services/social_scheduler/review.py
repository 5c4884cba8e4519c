"""The review card: a post as it will go out, with Approve, Hold and Send now, each a signed
single-use link (a Slack button when the admin is a Slack member id)."""

from __future__ import annotations

from datetime import datetime

from backoffice.core import social_scheduler as ss
from backoffice.core.settings import Settings
from backoffice.ports import Button
from backoffice.services.runtime import LinkTarget, answer_links

REVIEW_PATH = "/ss/review"
LABELS = {"approve": "Approve", "hold": "Hold", "send_now": "Send now"}


def review_links(settings: Settings, post: ss.Post, now: datetime) -> tuple[Button, ...]:
    """One set per version of the post: a card for an edited post answers afresh."""
    seed = f"{post.post_id}:{post.publish_at.isoformat()}:{post.text}"
    target = LinkTarget(ss.SYSTEM, post.post_id, post.post_id, seed, settings.admin, REVIEW_PATH)
    return answer_links(settings, target, LABELS, now)


def card_words(post: ss.Post, why: str) -> tuple[str, str]:
    text = (
        f"{why}\n\nPost {post.post_id}, for {post.publish_at:%a %d %b %Y %H:%M} on "
        f"{', '.join(post.channels)}:\n\n{post.text}"
        + (f"\n\nImage: {post.image}" if post.image else "")
    )
    return f"Review the post {post.post_id}", text
