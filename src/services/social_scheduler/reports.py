"""The weekly digest (posted, failed, coming up) and the monthly recap, to the admin, once
each."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from backoffice.core import social_scheduler as ss
from backoffice.core.settings import Settings
from backoffice.ports import Model, Ports
from backoffice.services import engine
from backoffice.services.delivery import Slot
from backoffice.services.engine import Delivery, ReportPeriod
from backoffice.services.social_scheduler.state import REPORTS_ID, SENDS, documents_of

UPCOMING = timedelta(days=7)


def attempts(ports: Ports) -> list[ss.Attempt]:
    rows = ports.tables.scan(SENDS.name)
    return [attempt_of(r) for r in rows if str(r.get("attempt", "")).startswith("attempt#")]


def attempt_of(row: Mapping[str, Any]) -> ss.Attempt:
    return ss.Attempt(
        post_id=row["post_id"],
        channel=row["channel"],
        ok=row.get("result") == "ok",
        at=datetime.fromisoformat(row["sent_at"]),
        url=str(row.get("posted_url") or ""),
        error=str(row.get("error") or ""),
    )


def digest(ports: Ports, settings: Settings) -> list[Delivery]:
    """Once a week (see engine.weekly_digest)."""
    period = engine.weekly_digest(ports, settings, ss.PREFIX)
    if period is None or _sent(ports, period):
        return []

    def compose() -> tuple[str, str]:
        posts, upcoming = documents_of(ports, settings).posts, period.end + UPCOMING
        composed = ss.compose_digest(posts, attempts(ports), period.start, period.end, upcoming)
        return composed.subject, composed.text

    return _to_admin(ports, settings, period, "digest", compose)


def recap(ports: Ports, settings: Settings, model: Model) -> list[Delivery]:
    """Last month in a paragraph by the model over the facts; the facts alone when it fails."""
    period = engine.monthly_summary(ports, settings, ss.PREFIX)
    if period is None or _sent(ports, period):
        return []

    def compose() -> tuple[str, str]:
        posts, upcoming = documents_of(ports, settings).posts, period.now.date() + UPCOMING
        facts = ss.facts(posts, attempts(ports), period.start, period.end, upcoming)
        text = engine.narrate(model, ss.RECAP_INSTRUCTIONS, facts, "this month")
        return f"Social posts: {period.start:%B %Y} in review", text

    return _to_admin(ports, settings, period, "summary", compose)


def _sent(ports: Ports, period: ReportPeriod) -> bool:
    row = ports.tables.get(SENDS.name, REPORTS_ID, period.key)
    return row is not None and row.get("status") == "sent"


def _to_admin(
    ports: Ports, settings: Settings, period: ReportPeriod, kind: str, compose: engine.Composed
) -> list[Delivery]:
    key = period.key
    row = {"post_channel": REPORTS_ID, "attempt": key, "key": key, "kind": kind}
    slot = Slot(SENDS.name, REPORTS_ID, key, {**row, "recipient": settings.admin})
    delivery = engine.report_once(ports, slot, settings.admin, compose, period.now, kind)
    return [delivery] if delivery is not None else []
