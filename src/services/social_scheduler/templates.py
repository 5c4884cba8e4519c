"""Template sync: each standing post (`[templates.<name>]`) gets a row for every time its
schedule fires within its `lead_days`, with the approved flag unset, and a review card. A row
already in the sheet is never dropped again, so running it twice drops one row."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime, timedelta

from attrs import frozen

from backoffice.core import social_scheduler as ss
from backoffice.core.schedules import fires_between
from backoffice.core.settings import Settings
from backoffice.core.sheet import normalise_header
from backoffice.ports import ConditionFailed, Ports
from backoffice.services.documents import bytes_of, text_of
from backoffice.services.runtime import local_now
from backoffice.services.social_scheduler.state import (
    documents_of,
    loaded_rules,
    save_status,
    sheet_facts,
)


@frozen
class Dropped:
    post_id: str
    template: str
    publish_at: datetime


def template_sync(ports: Ports, settings: Settings) -> list[Dropped]:
    now = local_now(ports.clock, settings)
    # The rules and the sheet's ids, not its posts: a row dropped here changes the sheet, and
    # the posts are read (once) from the sheet as it is then.
    sheet = bytes_of(ports.blobs, ss.SHEET_FILE)
    rules = loaded_rules(text_of(ports.blobs, ss.RULES_FILE))
    existing, header = _sheet_ids(sheet)
    dropped: list[Dropped] = []
    if not header:  # no sheet to drop rows into (yet)
        return dropped
    for template in rules.templates.values():
        horizon = now + timedelta(days=template.lead_days)
        for fire in fires_between(template.schedule, now, horizon, settings.timezone):
            post_id = f"{template.name}-{fire:%Y-%m-%d}"
            if post_id in existing:
                continue
            row = _row(template, post_id, fire)
            try:
                ports.sheet.append({k: v for k, v in row.items() if normalise_header(k) in header})
            except (KeyError, ValueError):  # a sheet that cannot be written: the tick says why
                return dropped
            existing.add(post_id)
            dropped.append(Dropped(post_id, template.name, fire))
    _review(ports, settings, dropped)
    return dropped


def _sheet_ids(sheet: bytes) -> tuple[set[str], set[str]]:
    """The post ids in the sheet (rows with problems too), and its columns; a sheet without a
    post_id column gets no rows (its problem is the tick's to report)."""
    facts = sheet_facts(sheet)
    if "post_id" not in facts.header:
        return set(), set()
    return set(facts.ids), set(facts.header)


def _row(template: ss.Template, post_id: str, fire: datetime) -> dict[str, str]:
    return {
        "post_id": post_id,
        "text": ss.template_text(template, fire.date()),
        "channels": ", ".join(template.channels),
        "image": "",
        "publish_at": f"{fire:%Y-%m-%d %H:%M}",
        "approved": "",
        "template": template.name,
    }


def _review(ports: Ports, settings: Settings, dropped: list[Dropped]) -> None:
    """A review card per new row, read back from the sheet as the sender will read it, sent
    through the engine as the tick's flags are (once, in business hours, retried)."""
    if not dropped:
        return
    docs = documents_of(ports, settings)
    calendar = ss.posting_calendar(docs.rules.posting, settings.timezone)
    cards = []
    for item in dropped:
        post = docs.post(item.post_id)
        if post is None:
            continue
        due = ss.due_minute(post, calendar)
        why = f"The standing post {item.template!r} has a new row waiting for approval."
        cards.append(ss.flag(post, settings.admin, "review", why, 0, due))
        with suppress(ConditionFailed):  # answered already: the answer stands
            reviewed = ss.Status(post.post_id, "reviewed", due_at=due)
            save_status(ports.tables, ss.Status(post.post_id), reviewed)
    ports.bus.emit([("ss.flag", card.as_json()) for card in cards])
