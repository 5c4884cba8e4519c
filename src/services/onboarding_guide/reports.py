"""The weekly digest (finished, stuck, paused) and the monthly activation summary, to the admin,
once each."""

from __future__ import annotations

from backoffice.core import onboarding_guide as og
from backoffice.core.settings import Settings
from backoffice.ports import Model, Ports
from backoffice.services import engine
from backoffice.services.delivery import Slot
from backoffice.services.engine import Delivery, ReportPeriod
from backoffice.services.onboarding_guide.state import (
    ARCHIVE,
    REPORTS_ID,
    SENDS,
    load_documents,
    load_state,
    sent_from_row,
)


def digest(ports: Ports, settings: Settings) -> list[Delivery]:
    """Once a week (see engine.weekly_digest). Empty when it is not due or was already sent."""
    period = engine.weekly_digest(ports, settings, og.PREFIX)
    if period is None:
        return []
    sent = ports.tables.get(SENDS.name, REPORTS_ID, period.key)
    if sent is not None and sent.get("status") == "sent":
        return []

    def compose() -> tuple[str, str]:
        docs = load_documents(ports.blobs, settings)
        composed = og.compose_digest(docs.customers, load_state(ports.tables), period.end)
        return composed.subject, composed.text

    return _to_admin(ports, settings, period, "digest", compose)


def summary(ports: Ports, settings: Settings, model: Model) -> list[Delivery]:
    """Last month in one paragraph by the model over the facts, with the facts under it; the
    facts alone (saying so) when the model fails. Once a month."""
    period = engine.monthly_summary(ports, settings, og.PREFIX)
    if period is None:
        return []

    def compose() -> tuple[str, str]:
        docs = load_documents(ports.blobs, settings)
        rows = [*ports.tables.scan(SENDS.name), *ports.tables.scan(ARCHIVE.name)]
        sends = [sent_from_row(r) for r in rows if "step" in r and r["customer_id"][:1] != "~"]
        state = load_state(ports.tables)
        facts = og.summary_facts(docs.customers, state, sends, period.start, period.end)
        text = engine.narrate(model, og.SUMMARY_INSTRUCTIONS, facts, "this month")
        return f"Onboarding: {period.start:%B %Y} in summary", text

    return _to_admin(ports, settings, period, "summary", compose)


def _to_admin(
    ports: Ports, settings: Settings, period: ReportPeriod, kind: str, compose: engine.Composed
) -> list[Delivery]:
    key = period.key
    row = {"customer_id": REPORTS_ID, "step_kind": key, "key": key, "kind": kind}
    slot = Slot(SENDS.name, REPORTS_ID, key, {**row, "recipient": settings.admin})
    delivery = engine.report_once(ports, slot, settings.admin, compose, period.now, kind)
    return [delivery] if delivery is not None else []
