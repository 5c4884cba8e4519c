"""What every system's services share: the set of ports, local time, the calendar, sending text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from functools import lru_cache
from html import escape
from zoneinfo import ZoneInfo

from attrs import frozen

from backoffice.core.business_time import Calendar, holiday_dates
from backoffice.core.settings import HolidaySpec, Settings
from backoffice.core.sheet import is_slack_channel, is_slack_user
from backoffice.core.tokens import LinkClaim, mint, nonce_for
from backoffice.ports import (
    Blobs,
    Bus,
    Button,
    Chat,
    ChatMessage,
    Clock,
    Email,
    Mailer,
    Scheduler,
    Sheet,
    Sms,
    Tables,
)


@frozen
class Ports:
    clock: Clock
    tables: Tables
    blobs: Blobs
    sheet: Sheet
    scheduler: Scheduler
    mailer: Mailer
    chat: Chat
    bus: Bus
    sms: Sms


def local_now(clock: Clock, settings: Settings) -> datetime:
    """The clock read once, in the system's timezone."""
    return clock.now().astimezone(ZoneInfo(settings.timezone))


def calendar_for(settings: Settings, now: datetime) -> Calendar:
    """The business calendar around `now` (holidays for last, this and next year)."""
    return _calendar(
        settings.timezone,
        settings.quiet_hours,
        settings.business_days,
        settings.holidays,
        now.year,
    )


@lru_cache(maxsize=32)
def _calendar(
    timezone: str,
    quiet: tuple[time, time] | None,
    business_days: frozenset[int],
    holidays: HolidaySpec,
    year: int,
) -> Calendar:
    quiet_start, quiet_end = quiet if quiet else (None, None)
    return Calendar(
        timezone=timezone,
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        business_days=business_days,
        holidays=holiday_dates(
            holidays.country, holidays.subdivision, holidays.extra, range(year - 1, year + 2)
        ),
    )


def deliver_text(
    ports: Ports,
    to: str,
    subject: str,
    text: str,
    links: Sequence[Button],
    key: str,
) -> str:
    """Send to a Slack member id as a DM with buttons, or to an email address with links."""
    if is_slack_user(to) or is_slack_channel(to):
        return ports.chat.post(
            ChatMessage(
                to=to, text=f"*{subject}*\n{text}", buttons=tuple(links), idempotency_key=key
            )
        )
    return ports.mailer.send(
        Email(
            to=(to,),
            subject=subject,
            text=_email_text(text, links),
            html=_email_html(text, links) if links else None,
            idempotency_key=key,
        )
    )


def channel_of(recipient: str) -> str:
    """How `deliver_text` reaches someone."""
    return "slack" if is_slack_user(recipient) or is_slack_channel(recipient) else "email"


def _email_text(text: str, links: Sequence[Button]) -> str:
    if not links:
        return text + "\n"
    lines = [text, "", "Answer with one click (you will be asked to confirm):"]
    lines += [f"  {link.label}: {link.url}" for link in links]
    return "\n".join(lines) + "\n"


def _email_html(text: str, links: Sequence[Button]) -> str:
    """The same message for mail clients that show HTML: paragraphs, then one button per answer."""
    paragraphs = "".join(
        f"<p>{escape(block).replace(chr(10), '<br>')}</p>" for block in text.split("\n\n") if block
    )
    buttons = " ".join(
        f'<a href="{escape(link.url)}" style="display:inline-block;padding:10px 18px;margin:4px;'
        f'border-radius:6px;background:#1a6b43;color:#ffffff;text-decoration:none">'
        f"{escape(link.label)}</a>"
        for link in links
    )
    return (
        '<!doctype html><html><body style="font-family:Arial,sans-serif;line-height:1.5">'
        f"{paragraphs}<p>{buttons}</p>"
        '<p style="color:#666;font-size:12px">Each button opens a page that asks you to '
        "confirm; nothing changes until you do.</p></body></html>"
    )


@frozen
class LinkTarget:
    """What a set of answer links is about; each action gets its own single-use token."""

    system: str
    subject: str
    chain: str
    nonce_seed: str  # the same seed always yields the same nonces (one message, one set)
    to: str
    path: str


def answer_links(
    settings: Settings, target: LinkTarget, labels: Mapping[str, str], now: datetime
) -> tuple[Button, ...]:
    """One signed link per action (in `labels` order); a Slack button carries the same token."""
    expires_at = int((now + timedelta(days=settings.link_days)).timestamp())
    buttons = []
    for action, label in labels.items():
        token = link_token(settings, target, action, expires_at)
        buttons.append(
            Button(action, label, f"{settings.public_url}{target.path}?t={token}", token)
        )
    return tuple(buttons)


def link_token(settings: Settings, target: LinkTarget, action: str, expires_at: int) -> str:
    """The signed, single-use token of one answer; the same target and action always get the
    same nonce, so a message sent twice still answers once."""
    secret = settings.secret("link_secret")
    claim = LinkClaim(
        system=target.system,
        subject=target.subject,
        action=action,
        chain=target.chain,
        nonce=nonce_for(secret, target.nonce_seed, action),
        expires_at=expires_at,
        by=target.to,
    )
    return mint(secret, claim)
