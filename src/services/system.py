"""One description per system: everything the CLI, the wiring, the handlers, the lanes, the Slack
actions and the proposals need to know of it, in one frozen value.

A system's service package builds its `System`; `services.registry` lists them. Nothing else
names a system's prefix, sheet, tables or use cases.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from attrs import field, frozen

from backoffice.core.business_time import local_at
from backoffice.core.intake import heuristic_proposal
from backoffice.core.problems import Problem
from backoffice.core.settings import Settings
from backoffice.core.vocabulary import Plan
from backoffice.ports import Images, Model, Ports, TableSchema
from backoffice.ports.calendar import CalendarEvent
from backoffice.services.engine import Delivery
from backoffice.services.links import ActionResult, LinkAnswer, LinkPage


@frozen
class SheetSpec:
    """The owner's sheet: its file (locally; the mirror's key in AWS), columns and tab."""

    file: str
    id_column: str
    title_column: str  # what a proposal or a notice calls a row
    columns: tuple[str, ...]
    tab: str  # the Google Sheet's tab
    required: tuple[str, ...] = ()  # the columns a row cannot do without


@frozen
class Storage:
    """The system's tables, by role. `sends` is where claim, send, confirm happens."""

    sends: TableSchema
    audit: TableSchema
    archive: TableSchema
    nonces: TableSchema
    others: tuple[TableSchema, ...] = ()

    @property
    def all(self) -> tuple[TableSchema, ...]:
        return (self.sends, self.audit, self.archive, self.nonces, *self.others)

    @classmethod
    def standard(
        cls, prefix: str, subject_key: str, sends: str, sends_sort_key: str, *others: TableSchema
    ) -> Storage:
        """The tables every system keeps the same way, named from its prefix: the sends and
        their archive (keyed by the row's id), the audit, the spent link nonces, the proposals."""
        return cls(
            sends=TableSchema(sends, subject_key, sends_sort_key),
            audit=TableSchema(f"{prefix}-audit", subject_key, "ts"),
            archive=TableSchema(f"{sends}-archive", subject_key, "archive_index"),
            nonces=TableSchema(f"{prefix}-link-nonces", "nonce", "kind"),
            others=(*others, TableSchema(f"{prefix}-proposals", "proposal_id", "kind")),
        )


@frozen
class LinkAction:
    """One answer an owner gives from an email link or a Slack button."""

    action: str  # the id a button and a token carry; never its label
    label: str
    asks: Literal["", "date", "fields"] = ""  # one tap, a date, or the proposed row's fields


@frozen
class Links:
    """A set of signed single-use links: where they point, what they offer, how they open (GET,
    changes nothing) and act (POST or a Slack button)."""

    path: str
    actions: tuple[LinkAction, ...]
    open: Callable[[System, Ports, Settings, str], LinkPage]
    act: Callable[[System, Ports, Settings, LinkAnswer], ActionResult]

    def label(self, action: str) -> str:
        return next((a.label for a in self.actions if a.action == action), action)

    def asks(self, action: str) -> str | None:
        """What the action asks for, or None when these links do not offer it."""
        return next((a.asks for a in self.actions if a.action == action), None)


Guess = Callable[[str, str, str], Mapping[str, str]]  # (subject, text, forwarded by) -> row
Reader = Callable[[Settings, date], Guess]


def column_reader(columns: tuple[str, ...]) -> Reader:
    """The reader without a model for rows of dates and text: the dates the forwarded text
    points at (read in the workspace's date order), the forwarder, values by column name."""

    def reader(settings: Settings, today: date) -> Guess:
        return lambda subject, text, sender: heuristic_proposal(
            subject, text, sender, columns, dayfirst=bool(settings.dayfirst), today=today
        )

    return reader


@frozen
class CalendarLane:
    """Calendar events carrying the system's tag become proposed rows."""

    tag: str
    propose: Callable[[System, Ports, Settings, CalendarEvent], bool]


@frozen
class Intake:
    """New rows from other lanes: a forwarded document read into a proposed row, and (for the
    systems that have one) calendar events carrying the system's tag."""

    date_columns: tuple[str, ...]
    time_columns: tuple[str, ...]  # a date with a time of day (an appointment's start)
    owner_column: str  # the forwarder's address goes here ("" for none)
    heuristic: Reader  # the reader when there is no model
    calendar: CalendarLane | None = None
    textract: bool = True  # forwarded PDFs read by Textract in AWS (else read in the function)


@frozen
class Schedule:
    """A recurring run, as its SAM template schedules it (EventBridge Scheduler expression, in
    the system's timezone)."""

    handler: str
    expression: str


def no_moves(ports: Ports, settings: Settings, detail: Mapping[str, Any]) -> Delivery:
    """The dispatch of a system that plans no moves (its work comes by a queue)."""
    raise ValueError(f"this system plans no moves; got {dict(detail).get('kind')!r}")


@frozen
class TickResult:
    now: datetime
    plan: Plan
    problems: tuple[Problem, ...]  # the rows' and the plan's


@frozen
class Documents:
    """The documents a workspace's `check` reads: the sheet's bytes (decoded line by line), the
    rules and voice texts, the files of the system's folders (`images/...`) and what reads
    an image's real type."""

    sheet: bytes
    rules: str
    voice: str
    files: Mapping[str, bytes] = field(factory=dict)
    images: Images | None = None


@frozen
class System:
    name: str  # the CLI name, `system` in backoffice.toml
    stem: str  # module name: core.<stem>, services.<stem>, handlers.<stem>
    prefix: str  # table names, secret names, move keys, the bus source backoffice.<prefix>
    sheet: SheetSpec
    storage: Storage
    schedules: tuple[Schedule, ...]
    # Locally: daily at `tick_at`, at minute 0, or every minute (an event-driven system, whose
    # tick sweeps and whose queue is drained first).
    tick_every: Literal["day", "hour", "minute"]
    tick: Callable[[Ports, Settings], TickResult]
    dispatch: Callable[[Ports, Settings, Mapping[str, Any]], Delivery]
    reports: Callable[[Ports, Settings], Sequence[Delivery]]  # digests due after a tick
    summary: Callable[[Ports, Settings, Model], Sequence[Delivery]]
    check: Callable[[Documents, Settings], list[Problem]]
    proposals: Links
    intake: Intake
    example: tuple[str, ...]  # the files `init` writes
    demo_days: int
    links: Links | None = None  # the owner's answers to the system's messages, if it has any
    settings_keys: frozenset[str] = frozenset()  # settings only this system reads
    folders: tuple[str, ...] = ()  # workspace folders its documents include (images/)
    documents: tuple[str, ...] = ("rules.toml", "voice.toml")  # besides the sheet
    # An event-driven system's work: made once per batch of queued records (what they share
    # is read once), then called with each record's body, done or raising (then it is retried
    # by the queue, and dead-lettered after its last receive). Returns what became of it.
    consumer: Callable[[Ports, Settings], Callable[[str], str]] | None = None
    # The signature header of an example's sample request (`samples/...`), as its sender
    # would sign it with the workspace's fresh secret.
    sign_sample: Callable[[Settings, str, bytes], str] | None = None
    # What `preview` shows when it is not the ticks ahead: an event-driven system's answer to
    # "who would get what now" (run on a copy of the workspace's state).
    preview: Callable[[Ports, Settings], Sequence[Delivery]] | None = None
    # What `check` mentions without calling it a problem (a text billed as two, a date past).
    notes: Callable[[Documents, Settings, datetime], list[str]] = field(
        default=lambda docs, settings, now: []
    )

    @property
    def link_sets(self) -> tuple[Links, ...]:
        return (self.links, self.proposals) if self.links else (self.proposals,)

    def offering(self, action: str) -> Links | None:
        """The links that offer `action` (a button's or a token's action id)."""
        return next((links for links in self.link_sets if links.asks(action) is not None), None)

    @property
    def variable(self) -> str:
        """The prefix of the environment variables its SAM template sets (EW_..., AR_...)."""
        return self.prefix.upper()

    def tick_times(self, start: datetime, days: int, settings: Settings) -> list[datetime]:
        """Every scheduled tick from the day of `start` for `days` days."""
        zone = ZoneInfo(settings.timezone)
        times = []
        for offset in range(days):
            day = start.date() + timedelta(days=offset)
            if self.tick_every == "hour":
                times += [local_at(day, time(hour, 0), zone) for hour in range(24)]
            elif self.tick_every == "minute":  # a preview samples it as the sweeper runs
                times += [local_at(day, time(m // 60, m % 60), zone) for m in range(0, 1440, 5)]
            else:
                times.append(local_at(day, settings.tick_at, zone))
        return times
