"""The weekly digest and the monthly summary, to the admin, once each."""

from __future__ import annotations

from datetime import datetime, timedelta

from backoffice.core import expiry_watcher as ew
from backoffice.core.business_time import next_allowed
from backoffice.core.keys import move_key
from backoffice.core.settings import Settings
from backoffice.ports import Model, Ports
from backoffice.services import engine
from backoffice.services.delivery import Slot
from backoffice.services.documents import voiced
from backoffice.services.engine import Delivery
from backoffice.services.expiry_watcher.state import DIGEST_ID, PINGS, load_documents, load_state
from backoffice.services.runtime import calendar_for, local_now


def digest(ports: Ports, settings: Settings) -> list[Delivery]:
    """The weekly digest to the admin: sent by the first run on or after the digest day at which
    delivery is allowed, once per week. Empty when it is not due or was already sent."""
    now = local_now(ports.clock, settings)
    if settings.digest_day is None or next_allowed(now, calendar_for(settings, now)) != now:
        return []
    today = now.date()
    anchor = today - timedelta(days=(today.weekday() - settings.digest_day) % 7)
    key = move_key(ew.PREFIX, "digest", anchor.isoformat())
    sent = ports.tables.get(PINGS.name, DIGEST_ID, key)
    if sent is not None and sent.get("status") == "sent":
        return []
    docs = load_documents(ports.blobs, settings)
    state = load_state(ports.tables)
    plan = ew.plan_tick(docs.items, state, docs.rules, now)
    _, waiting = voiced(plan.moves, docs.voice, docs.voice_text)
    problems = (*docs.problems, *waiting, *plan.problems)
    composed = ew.compose_digest(docs.items, state, problems, today, window_days=30)
    return _to_admin(ports, settings, key, "digest", composed.subject, composed.text, now)


def summary(ports: Ports, settings: Settings, model: Model) -> list[Delivery]:
    """Last month in one paragraph by the model, with the facts table under it; when the model
    fails or says nothing usable, the table alone goes out, saying so. Once per month."""
    now = local_now(ports.clock, settings)
    if next_allowed(now, calendar_for(settings, now)) != now:
        return []
    month_end = now.date().replace(day=1) - timedelta(days=1)
    month_start = month_end.replace(day=1)
    key = move_key(ew.PREFIX, "summary", month_start.strftime("%Y-%m"))
    docs = load_documents(ports.blobs, settings)
    facts = ew.summary_facts(docs.items, load_state(ports.tables), month_start, month_end)
    text = engine.narrate(model, ew.SUMMARY_INSTRUCTIONS, facts, "this month")
    subject = f"Expiry watcher: {month_start:%B %Y} in summary"
    return _to_admin(ports, settings, key, "summary", subject, text, now)


def _to_admin(
    ports: Ports, settings: Settings, key: str, kind: str, subject: str, text: str, now: datetime
) -> list[Delivery]:
    """A message of the system's own (digest, summary) to the admin, at most once per key."""
    row = {"item_id": DIGEST_ID, "chain_index": key, "key": key, "chain_id": DIGEST_ID}
    slot = Slot(PINGS.name, DIGEST_ID, key, {**row, "move": kind, "recipient": settings.admin})
    delivery = engine.report_once(ports, slot, settings.admin, subject, text, now, kind)
    return [delivery] if delivery is not None else []
