"""What every system's services share: local time, the calendar, sending text, signed links."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from attrs import frozen

from backoffice.core.business_time import Calendar, holiday_dates
from backoffice.core.settings import HolidaySpec, Settings
from backoffice.core.sheet import is_slack_channel, is_slack_user
from backoffice.core.tokens import LinkClaim, mint, nonce_for
from backoffice.ports import Button, ChatMessage, Clock, Email, Ports


def local_now(clock: Clock, settings: Settings) -> datetime:
    """The clock read once, in the system's timezone."""
    return clock.now().astimezone(ZoneInfo(settings.timezone))


def calendar_for(settings: Settings, now: datetime, zone: str = "") -> Calendar:
    """The business calendar around `now` (holidays for last, this and next year), its hours
    read in `zone` when a row has its own timezone."""
    return _calendar(
        zone or settings.timezone,
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
                to=to,
                text=text,
                buttons=tuple(links),
                idempotency_key=key,
                title="" if subject == text else subject,
            )
        )
    return ports.mailer.send(
        Email(to=(to,), subject=subject, text=text, links=tuple(links), idempotency_key=key)
    )


def tell_admin(ports: Ports, settings: Settings, subject: str, text: str, key: str) -> str:
    """A notice for a person: to the admin on their own channel, and when that channel is the
    one failing (a wrong SMTP password, a revoked Slack token), by the other one the workspace
    has: the staff channel in Slack, or the business's own address by mail."""
    routes = [settings.admin]
    for other in (settings.staff_channel, settings.mail_from):
        if other and channel_of(other) != channel_of(settings.admin) and other not in routes:
            routes.append(other)
    for to in routes[:-1]:
        try:
            return deliver_text(ports, to, subject, text, (), key)
        except Exception:  # the next route is tried; the last one's failure is raised
            continue
    return deliver_text(ports, routes[-1], subject, text, (), key)


def channel_of(recipient: str) -> str:
    """How `deliver_text` reaches someone."""
    return "slack" if is_slack_user(recipient) or is_slack_channel(recipient) else "email"


@frozen
class LinkTarget:
    """What a set of answer links is about; each action gets its own single-use token."""

    system: str
    subject: str
    chain: str
    nonce_seed: str  # the same seed always yields the same nonces (one message, one set)
    to: str
    path: str
    detail: str = ""  # what within the chain the links are about (an onboarding step)


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
        detail=target.detail,
    )
    return mint(secret, claim)
