"""What the onboarding guide reads: the sheet, rules and voice docs, and the stored state (the
sends and each journey's answers)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from functools import lru_cache
from sys import intern
from typing import Any

from attrs import field, frozen

from backoffice.core import onboarding_guide as og
from backoffice.core.problems import Problem
from backoffice.core.settings import Settings
from backoffice.core.vocabulary import Move
from backoffice.ports import Absent, Blobs, Equals, Tables, TableSchema
from backoffice.services.delivery import Slot
from backoffice.services.documents import bytes_of, collector_paused, text_of
from backoffice.services.system import Storage

JOURNEYS = TableSchema("og-state", "customer_id", "journey")
# Signup ids the webhook has claimed, before their row is appended: a retry finds the claim.
SIGNUPS = TableSchema("og-signups", "signup_id", "kind")
STORAGE = Storage.standard(og.PREFIX, "customer_id", "og-sends", "step_kind", JOURNEYS, SIGNUPS)
SENDS, AUDIT, ARCHIVE = STORAGE.sends, STORAGE.audit, STORAGE.archive
# The system's own messages (the digest, the summary, owner notices) live beside the sends
# under this id; the webhook refuses signup ids that start with "~".
REPORTS_ID = "~reports"


@frozen
class Documents:
    customers: tuple[og.Customer, ...]
    problems: tuple[Problem, ...]  # the sheet's and the voice's
    rules: og.Rules
    voice: og.Voice  # the sections that can be written
    voice_text: str
    by_id: Mapping[str, og.Customer] = field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        # Each dispatch and answer looks up one customer: by id, not along the sheet (the
        # first of an id, as along it).
        by_id = {c.customer_id: c for c in reversed(self.customers)}
        object.__setattr__(self, "by_id", by_id)

    def customer(self, customer_id: str) -> og.Customer | None:
        return self.by_id.get(customer_id)


@frozen
class Reading:
    """The settings that change how the sheet reads."""

    timezone: str
    dayfirst: bool | None
    admin: str

    @classmethod
    def of(cls, settings: Settings) -> Reading:
        return cls(settings.timezone, settings.dayfirst, settings.admin)


def load_documents(blobs: Blobs, settings: Settings) -> Documents:
    """A broken rules doc stops everything with its file and line; a bad row or voice section
    is only a problem (the rest runs)."""
    return parsed_documents(
        bytes_of(blobs, og.SHEET_FILE),
        text_of(blobs, og.RULES_FILE),
        text_of(blobs, og.VOICE_FILE),
        Reading.of(settings),
    )


def parsed_documents(sheet: bytes, rules_text: str, voice: str, reading: Reading) -> Documents:
    """Parsed once per version of the documents: each dispatch and answer reads them afresh
    to look up one customer."""
    return _parsed(_Content(sheet), rules_text, voice, reading)


class _Content:
    """A sheet's bytes as a cache's key: hashed by their length, compared in full. Hashing a
    whole sheet, read afresh by every dispatch, costs ten times the comparison that finds it
    unchanged."""

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body

    def __hash__(self) -> int:
        return len(self.body)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Content) and other.body == self.body


@lru_cache(maxsize=2)
def _parsed(sheet: _Content, rules_text: str, voice: str, reading: Reading) -> Documents:
    rules = og.load_rules(rules_text)
    customers, problems = parse_customers(sheet.body, rules.plans, reading)
    words, errors = og.read_voice(voice, rules)
    voice_problems = [problem for error in errors for problem in error.problems()]
    return Documents(customers, (*voice_problems, *problems), rules, words, voice)


def parse_customers(
    sheet: bytes, plans: Collection[str], reading: Reading
) -> tuple[tuple[og.Customer, ...], tuple[Problem, ...]]:
    """The sheet's customers, with its problems and its rows'."""
    with collector_paused():
        customers, problems = og.parse_customers(
            sheet,
            plans,
            timezone=reading.timezone,
            dayfirst=reading.dayfirst,
            admin=reading.admin,
        )
    return tuple(customers), tuple(problems)


def load_state(tables: Tables, customer_id: str | None = None) -> og.State:
    """Everything (one scan per table), or one customer's rows (one query per table)."""

    def rows(table: TableSchema) -> list[dict[str, Any]]:
        if customer_id is None:
            return tables.scan(table.name)
        return tables.query(table.name, customer_id)

    return og.State.of(
        (sent_from_row(row) for row in rows(SENDS) if not row["customer_id"].startswith("~")),
        (journey_from_row(row) for row in rows(JOURNEYS)),
    )


def sent_from_row(row: Mapping[str, Any]) -> og.Sent:
    on = row.get("local_date")
    # Interned: a tick reads every stored send, whose few steps, kinds and statuses are then
    # held once, and the planner's lookups by step and kind match them at once.
    return og.Sent(
        row["journey"],
        intern(row["step"]),
        intern(row["kind"]),
        intern(row["status"]),
        date.fromisoformat(on) if on else None,
    )


def journey_from_row(row: Mapping[str, Any]) -> og.Journey:
    finished_on = row.get("finished_on")
    return og.Journey(
        journey=row["journey"],
        steps_done=frozenset(row.get("steps_done") or ()),
        paused=bool(row.get("paused")),
        paused_note=str(row.get("paused_note") or ""),
        handed_off_to=str(row.get("handed_off_to") or ""),
        finished=bool(row.get("finished")),
        finished_on=date.fromisoformat(finished_on) if finished_on else None,
        version=int(row.get("version") or 0),
    )


def save_journey(tables: Tables, customer_id: str, before: int, journey: og.Journey) -> None:
    """Written only over the version the answer was decided on: two answers at once cannot
    both land on the same journey (the second raises ConditionFailed and is told to retry)."""
    row = {
        "customer_id": customer_id,
        "journey": journey.journey,
        "steps_done": sorted(journey.steps_done),
        "paused": journey.paused,
        "paused_note": journey.paused_note,
        "handed_off_to": journey.handed_off_to,
        "finished": journey.finished,
        "finished_on": journey.finished_on.isoformat() if journey.finished_on else None,
        "version": journey.version,
    }
    tables.put(JOURNEYS.name, row, Equals("version", before) if before else Absent())


def send_slot(move: Move) -> Slot:
    step = move.fields["step"]
    index = f"{step}#{move.kind}"
    row = {
        "customer_id": move.subject,
        "step_kind": index,
        "key": move.key,
        "chain_id": move.chain,
        "journey": move.chain,
        "step": step,
        "kind": move.kind,
        "to": list(move.to),
    }
    return Slot(SENDS.name, move.subject, index, row)
