"""The draft helper's words: what the model is told for each channel, and whether its draft
fits the channel."""

from __future__ import annotations

from backoffice.core.social_scheduler.checks import counted_length
from backoffice.core.social_scheduler.rules import ChannelRules

DRAFT_INSTRUCTIONS = (
    "You draft one social media post for a small business from the owner's note. Write only "
    "the post's text: no quotes around it, no hashtags unless the note has them, no made-up "
    "facts, prices or dates. Keep the business's tone as described."
)


def draft_prompt(note: str, channel: ChannelRules, tone: str) -> str:
    limit = channel.max_chars
    links = "" if channel.max_links is None else f" and at most {channel.max_links} link(s)"
    return (
        f"Channel: {channel.name} ({channel.kind}). At most {limit} characters{links}.\n"
        f"Tone: {tone or 'friendly and plain'}\n\nThe owner's note:\n{note}"
    )


def shorten_prompt(draft: str, channel: ChannelRules) -> str:
    length = counted_length(draft, channel.kind)
    return (
        f"This draft for {channel.name} is {length} characters; the limit is "
        f"{channel.max_chars}. Shorten it to fit, keeping its meaning. Write only the post.\n\n"
        f"{draft}"
    )


def over_limit(draft: str, channel: ChannelRules) -> str:
    """Why the draft does not fit ("" when it does)."""
    length = counted_length(draft, channel.kind)
    if length <= channel.max_chars:
        return ""
    return f"{length} characters, over {channel.name}'s limit of {channel.max_chars}"
