"""Posting one post on one channel: its image rendered for the channel, one `ss-sends` row per
attempt, and a refused token turned into one "reconnect this channel" alert that holds the
channel until its secret changes."""

from __future__ import annotations

from datetime import datetime

from backoffice.core import social_scheduler as ss
from backoffice.core.settings import Settings
from backoffice.ports import (
    Absent,
    Channel,
    ConditionFailed,
    Picture,
    Ports,
    PostRefused,
    Publication,
    TokenRejected,
)
from backoffice.services.delivery import Unbuildable, Waiting, describe, stamp
from backoffice.services.records import append
from backoffice.services.runtime import tell_admin
from backoffice.services.social_scheduler.state import CHANNELS, CLAIM, IMAGE_PREFIX, SENDS

TOKEN = "token"


def channel_of(rules: ss.ChannelRules) -> Channel:
    return Channel(rules.name, rules.kind, rules.endpoint, rules.token_secret)


def blocked_channels(ports: Ports, rules: ss.Rules) -> frozenset[str]:
    """The channels whose token was refused and whose secret has not changed since."""
    if ports.posting is None:
        return frozenset()
    blocked = set()
    for row in ports.tables.scan(CHANNELS.name):
        name = row["channel"]
        if name in rules.channels and row.get("refused_version"):
            version = ports.posting.token_version(channel_of(rules.channels[name]))
            if version == row["refused_version"]:
                blocked.add(name)
    return frozenset(blocked)


def post_on(
    ports: Ports,
    settings: Settings,
    rules: ss.ChannelRules,
    post: ss.Post,
    move: ss.Move,
    now: datetime,
) -> str:
    """Runs under the channel's fresh claim. Returns the post's URL (or its id)."""
    assert ports.posting is not None  # checked by the tick and dispatch before
    attempt = _attempt_number(ports, move)
    channel = channel_of(rules)
    try:
        picture = _picture(ports, post, rules)
        publication = Publication(channel, post.post_id, post.text, picture, move.key)
        posted = ports.posting.publish(publication, now)
    except TokenRejected as error:
        _record(ports, move, attempt, now, error=describe(error))
        _hold_channel(ports, settings, channel, describe(error), now)
        raise Waiting(f"{rules.name} refused its token: reconnect the channel") from None
    except PostRefused as error:
        _record(ports, move, attempt, now, error=describe(error))
        raise Unbuildable(f"{rules.name} refused the post: {error}") from None
    except Exception as error:
        _record(ports, move, attempt, now, error=describe(error))
        raise
    _record(ports, move, attempt, now, url=posted.url)
    return posted.url or posted.platform_id


def _attempt_number(ports: Ports, move: ss.Move) -> int:
    claim = ports.tables.get(SENDS.name, f"{move.subject}#{move.fields['channel']}", CLAIM)
    return int((claim or {}).get("attempts") or 0) + 1


def _picture(ports: Ports, post: ss.Post, rules: ss.ChannelRules) -> Picture | None:
    if not post.image:
        return None
    assert ports.images is not None
    blob = ports.blobs.get(IMAGE_PREFIX + post.image)
    if blob is None:
        raise Unbuildable(f"the image {post.image!r} is no longer in the images folder")
    facts = ports.images.inspect(blob.body)
    return ports.images.render(blob.body, facts.content_type, rules.max_image_bytes, rules.max_side)


def _record(
    ports: Ports, move: ss.Move, attempt: int, now: datetime, url: str = "", error: str = ""
) -> None:
    """One row per attempt, beside the channel's claim: result, the post's URL, why not."""
    channel = move.fields["channel"]
    row = {
        "post_channel": f"{move.subject}#{channel}",
        "attempt": f"attempt#{attempt:03d}",
        "post_id": move.subject,
        "channel": channel,
        "result": "fail" if error else "ok",
        "posted_url": url,
        "error": error,
        "sent_at": stamp(now),
    }
    append(ports.tables, SENDS.name, row, "attempt")


def _hold_channel(
    ports: Ports, settings: Settings, channel: Channel, reason: str, now: datetime
) -> None:
    """Remember which secret was refused, and tell the owner once for that secret (a failed
    alert is tried again by the next refusal)."""
    assert ports.posting is not None
    version = ports.posting.token_version(channel)
    row = {"channel": channel.name, "kind": TOKEN, "refused_version": version, "reason": reason}
    ports.tables.put(CHANNELS.name, {**row, "refused_at": stamp(now)})
    alert = f"alert#{version}"
    try:
        ports.tables.put(CHANNELS.name, {**row, "kind": alert}, Absent())
    except ConditionFailed:
        return
    try:
        tell_admin(ports, settings, *reconnect_words(channel, reason), f"ss:{channel.name}:{alert}")
    except Exception:
        ports.tables.delete_many(CHANNELS.name, [(channel.name, alert)])
        raise


def reconnect_words(channel: Channel, reason: str) -> tuple[str, str]:
    subject = f"Reconnect the {channel.name} channel"
    text = (
        f"{channel.name} ({channel.kind}) refused its access token, so nothing more is posted "
        f"there until it is reconnected.\n\nWhat the platform said: {reason}\n\nReconnect "
        f"the account and store the new token in the secret {channel.token_secret}. Posts "
        "waiting for this channel go out at the first tick after that, if they are less than "
        "a day late; the other channels are not affected."
    )
    return subject, text
