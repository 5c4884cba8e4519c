"""What each channel accepts: text length as the platform counts it, links, the image's real
type and size. A post that fails on any of its channels goes nowhere."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from backoffice.core.images import ImageFacts
from backoffice.core.social_scheduler.rules import ChannelRules, Rules
from backoffice.core.social_scheduler.sheet import Post
from backoffice.core.text import slack_escaped

_LINK = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)


def counted_length(text: str, kind: str) -> int:
    """Characters as the platform counts them. Slack counts the text it receives, with &, < and
    > escaped; Meta's limits are on UTF-16 units (an emoji is two), as its web clients count;
    a webhook receives code points. Text is NFC-normalised first, as every platform stores it."""
    normal = unicodedata.normalize("NFC", text)
    if kind == "slack":
        return len(slack_escaped(normal))
    if kind in ("facebook-page", "instagram"):
        return len(normal.encode("utf-16-le")) // 2
    return len(normal)


def link_count(text: str) -> int:
    return len(_LINK.findall(text))


def channel_problems(post: Post, channel: ChannelRules, image: ImageFacts | None) -> list[str]:
    """Why `channel` would refuse the post ([] when it takes it)."""
    problems = []
    length = counted_length(post.text, channel.kind)
    if length > channel.max_chars:
        problems.append(f"{length} characters, over its limit of {channel.max_chars}")
    links = link_count(post.text)
    if channel.max_links is not None and links > channel.max_links:
        problems.append(f"{links} links, over its limit of {channel.max_links}")
    if channel.kind == "instagram" and not post.image:
        problems.append("Instagram posts need an image")
    if image is not None:
        problems += image_problems(image, channel)
    return problems


def image_problems(image: ImageFacts, channel: ChannelRules) -> list[str]:
    if not image.content_type:
        return ["the image file is not an image (or is damaged)"]
    problems = []
    if image.content_type not in channel.image_types:
        accepted = ", ".join(channel.image_types)
        problems.append(f"the image is {image.content_type}; it takes {accepted}")
    if image.size > channel.max_image_bytes:
        megabytes = image.size / 1024 / 1024
        problems.append(f"the image is {megabytes:.1f} MB, over its {channel.max_image_mb:g} MB")
    return problems


def post_problems(
    post: Post, rules: Rules, images: Mapping[str, ImageFacts]
) -> dict[str, list[str]]:
    """Every refusing channel of the post, with its reasons; empty when all take it. An image
    that could not be read counts against every channel."""
    image = images.get(post.image) if post.image else None
    if post.image and image is None:
        image = ImageFacts("", 0)
    found = {}
    for name in post.channels:
        problems = channel_problems(post, rules.channels[name], image)
        if problems:
            found[name] = problems
    return found


def describe_problems(found: Mapping[str, list[str]]) -> str:
    return "; ".join(f"{name}: {', '.join(reasons)}" for name, reasons in sorted(found.items()))
