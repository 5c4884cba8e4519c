"""The weekly digest (finished, stuck, paused) and the monthly activation summary, to the admin,
once each."""

from __future__ import annotations

from datetime import datetime, timedelta

from backoffice.core import onboarding_guide as og
from backoffice.core.business_time import next_allowed
from backoffice.core.keys import move_key
from backoffice.core.settings import Settings
from backoffice.ports import Model, Ports
from backoffice.services import engine
from backoffice.services.delivery import Slot
from backoffice.services.engine import Delivery
from backoffice.services.onboarding_guide.state import (
    ARCHIVE,
    REPORTS_ID,
    SENDS,
    load_documents,
    load_state,
    sent_from_row,
)
from backoffice.services.runtime import calendar_for, local_now


def digest(ports: Ports, settings: Settings) -> list[Delivery]:
    """Sent by the first run on or after the digest day at which delivery is allowed, once a
    week. Empty when it is not due or was already sent."""
    now = local_now(ports.clock, settings)
    if settings.digest_day is None or next_allowed(now, calendar_for(settings, now)) != now:
        return []
    today = now.date()
    anchor = today - timedelta(days=(today.weekday() - settings.digest_day) % 7)
    key = move_key(og.PREFIX, "digest", anchor.isoformat())
    sent = ports.tables.get(SENDS.name, REPORTS_ID, key)
    if sent is not None and sent.get("status") == "sent":
        return []
    docs = load_documents(ports.blobs, settings)
    composed = og.compose_digest(docs.customers, load_state(ports.tables), today)
    return _to_admin(ports, settings, key, "digest", composed.subject, composed.text, now)


def summary(ports: Ports, settings: Settings, model: Model) -> list[Delivery]:
    """Last month in one paragraph by the model over the facts, with the facts under it; the
    facts alone (saying so) when the model fails. Once a month."""
    now = local_now(ports.clock, settings)
    if next_allowed(now, calendar_for(settings, now)) != now:
        return []
    month_end = now.date().replace(day=1) - timedelta(days=1)
    month_start = month_end.replace(day=1)
    key = move_key(og.PREFIX, "summary", month_start.strftime("%Y-%m"))
    docs = load_documents(ports.blobs, settings)
    rows = [*ports.tables.scan(SENDS.name), *ports.tables.scan(ARCHIVE.name)]
    sends = [sent_from_row(r) for r in rows if "step" in r and not r["customer_id"].startswith("~")]
    state = load_state(ports.tables)
    facts = og.summary_facts(docs.customers, state, sends, month_start, month_end)
    text = engine.narrate(model, og.SUMMARY_INSTRUCTIONS, facts, "this month")
    subject = f"Onboarding: {month_start:%B %Y} in summary"
    return _to_admin(ports, settings, key, "summary", subject, text, now)


def _to_admin(
    ports: Ports, settings: Settings, key: str, kind: str, subject: str, text: str, now: datetime
) -> list[Delivery]:
    row = {"customer_id": REPORTS_ID, "step_kind": key, "key": key, "kind": kind}
    slot = Slot(SENDS.name, REPORTS_ID, key, {**row, "recipient": settings.admin})
    delivery = engine.report_once(ports, slot, settings.admin, subject, text, now, kind)
    return [delivery] if delivery is not None else []
