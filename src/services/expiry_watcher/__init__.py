"""The expiry watcher's use cases: the daily tick, dispatching one move, the owner's answers,
the digest and the summary; and its description, `SYSTEM`.

Each use case reads the clock once, loads what the core needs in a few batch calls, asks the core
what to do, and applies the answer through the ports.
"""

from __future__ import annotations

from backoffice.core import expiry_watcher as ew
from backoffice.core.documents import problems_of
from backoffice.core.problems import Problem
from backoffice.core.settings import Settings
from backoffice.core.sheet import read_sheet
from backoffice.ports import Ports
from backoffice.ports.calendar import CalendarEvent
from backoffice.services import proposals
from backoffice.services.expiry_watcher.answers import act, open_link, perform
from backoffice.services.expiry_watcher.reports import digest, summary
from backoffice.services.expiry_watcher.state import (
    ACKS,
    ARCHIVE,
    AUDIT,
    DIGEST_ID,
    PINGS,
    STORAGE,
    Documents,
    load_documents,
    load_state,
)
from backoffice.services.expiry_watcher.tick import LABELS, LINK_PATH, dispatch, tick
from backoffice.services.system import (
    CalendarLane,
    Intake,
    LinkAction,
    Links,
    Schedule,
    SheetSpec,
    System,
    column_reader,
)
from backoffice.services.system import Documents as Texts

CALENDAR_TAG = "#expires"


def check(texts: Texts, settings: Settings) -> list[Problem]:
    """Every problem in the rules, the voice and the sheet."""
    table, problems = read_sheet(texts.sheet, ew.SHEET_FILE)
    rows = ew.parse_rows(table, dayfirst=settings.dayfirst, admin=settings.admin)[1]
    documents = problems_of(lambda: ew.load_rules(texts.rules), lambda: ew.load_voice(texts.voice))
    return [*documents, *problems, *rows]


def propose_from_event(
    system: System, ports: Ports, settings: Settings, event: CalendarEvent
) -> bool:
    """A calendar event tagged #expires: its date is the expiry date, its title the name."""
    tagged = proposals.tagged_event(event, CALENDAR_TAG)
    values = {
        "name": tagged.title,
        "expires_on": event.start[:10],
        "owner": event.creator,
        "notes": tagged.description[:500],
    }
    return proposals.propose(ports, settings, system, tagged.proposal_id, values, tagged.source, ())


SYSTEM = System(
    name=ew.SYSTEM,
    stem="expiry_watcher",
    prefix=ew.PREFIX,
    sheet=SheetSpec(
        ew.SHEET_FILE, "item_id", "name", ew.COLUMNS, tab="Registry", required=ew.REQUIRED_COLUMNS
    ),
    storage=STORAGE,
    schedules=(
        Schedule("watcher", "cron(0 8 * * ? *)"),
        # Daily, as the tick: the digest goes at the first run on or after digest_day that the
        # calendar allows (a Sunday-evening run, as first drawn, is never allowed Mon-Fri).
        Schedule("digest", "cron(0 8 * * ? *)"),
        Schedule("drive_sync", "rate(15 minutes)"),
        Schedule("calendar_sync", "rate(1 hour)"),
        # Every Monday: the month's summary goes at the first allowed one (a first Monday
        # can be a holiday, Labor Day in the US).
        Schedule("summary", "cron(0 9 ? * MON *)"),
    ),
    tick_every="day",
    tick=tick,
    dispatch=dispatch,
    reports=digest,
    summary=summary,
    check=check,
    links=Links(
        LINK_PATH,
        (
            LinkAction("renew", LABELS["renew"], asks="date"),
            LinkAction("snooze", LABELS["snooze"], asks="date"),
            LinkAction("ack_only", LABELS["ack_only"]),
        ),
        open_link,
        act,
    ),
    proposals=Links(LINK_PATH, proposals.link_actions(), proposals.open_link, proposals.act),
    intake=Intake(
        ("expires_on",),
        (),
        "owner",
        column_reader(ew.COLUMNS),
        CalendarLane(CALENDAR_TAG, propose_from_event),
    ),
    example=("backoffice.toml", "rules.toml", "voice.toml", "registry.csv"),
    demo_days=30,
)

__all__ = [
    "ACKS",
    "ARCHIVE",
    "AUDIT",
    "DIGEST_ID",
    "LABELS",
    "LINK_PATH",
    "PINGS",
    "SYSTEM",
    "Documents",
    "act",
    "check",
    "digest",
    "dispatch",
    "load_documents",
    "load_state",
    "open_link",
    "perform",
    "propose_from_event",
    "summary",
    "tick",
]
