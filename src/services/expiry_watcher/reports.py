"""The weekly digest and the monthly summary, to the admin, once each."""

from __future__ import annotations

from backoffice.core import expiry_watcher as ew
from backoffice.core.settings import Settings
from backoffice.ports import Model, Ports
from backoffice.services import engine
from backoffice.services.delivery import Slot
from backoffice.services.documents import voiced
from backoffice.services.engine import Delivery, ReportPeriod
from backoffice.services.expiry_watcher.state import DIGEST_ID, PINGS, load_documents, load_state


def digest(ports: Ports, settings: Settings) -> list[Delivery]:
    """The weekly digest to the admin, once per week. Empty when it is not due or was already
    sent."""
    period = engine.weekly_digest(ports, settings, ew.PREFIX)
    if period is None:
        return []
    sent = ports.tables.get(PINGS.name, DIGEST_ID, period.key)
    if sent is not None and sent.get("status") == "sent":
        return []

    def compose() -> tuple[str, str]:
        docs = load_documents(ports.blobs, settings)
        state = load_state(ports.tables)
        plan = ew.plan_tick(docs.items, state, docs.rules, period.now)
        _, waiting = voiced(plan.moves, docs.voice, docs.voice_text)
        problems = (*docs.problems, *waiting, *plan.problems)
        composed = ew.compose_digest(docs.items, state, problems, period.end, window_days=30)
        return composed.subject, composed.text

    return _to_admin(ports, settings, period, "digest", compose)


def summary(ports: Ports, settings: Settings, model: Model) -> list[Delivery]:
    """Last month in one paragraph by the model, with the facts table under it; when the model
    fails or says nothing usable, the table alone goes out, saying so. Once per month."""
    period = engine.monthly_summary(ports, settings, ew.PREFIX)
    if period is None:
        return []

    def compose() -> tuple[str, str]:
        docs = load_documents(ports.blobs, settings)
        facts = ew.summary_facts(docs.items, load_state(ports.tables), period.start, period.end)
        text = engine.narrate(model, ew.SUMMARY_INSTRUCTIONS, facts, "this month")
        return f"Expiry watcher: {period.start:%B %Y} in summary", text

    return _to_admin(ports, settings, period, "summary", compose)


def _to_admin(
    ports: Ports, settings: Settings, period: ReportPeriod, kind: str, compose: engine.Composed
) -> list[Delivery]:
    """A message of the system's own (digest, summary) to the admin, at most once per key."""
    key = period.key
    row = {"item_id": DIGEST_ID, "chain_index": key, "key": key, "chain_id": DIGEST_ID}
    slot = Slot(PINGS.name, DIGEST_ID, key, {**row, "move": kind, "recipient": settings.admin})
    delivery = engine.report_once(ports, slot, settings.admin, compose, period.now, kind)
    return [delivery] if delivery is not None else []
