"""The appointment reminders' hourly tick over 10k upcoming appointments, 1 % of them due: each
figure beside its floor.

Every 100th appointment starts within the next 24 hours, the rest days away; every number is
written in E.164 and no two are the same. Each figure is measured beside the least work that
could produce it, in the same run:

- parse: the sheet's bytes to appointments with their problems, as a fresh process's tick reads
  them (nothing remembered of earlier sheets: each start is read once, the slots repeat) /
  floor: `csv.DictReader` over the same text, `datetime.fromisoformat` of each row's start,
  and the one check no cheaper way makes of a number already in E.164,
  `phonenumbers.is_valid_number` (once per distinct number);
- plan_tick / floor: a bare loop over the appointments comparing each one's time to its start
  with the widest window;
- full local tick (a fresh process's: documents parsed, no cache) / floor: one read of the
  sheet (the parse floor), one SQLite transaction per delivered message and one atomic write of
  each message's bytes, with the embedded backend's journal settings.

    python bench/appointments.py [--rows 10000] [--repeat 3]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from attrs import evolve
from common import Figure, rows_floor, script, tick_floor, timed, timed_tick, workspace_with

from backoffice.core import appointment_reminder as ar
from backoffice.core.appointment_reminder import sheet as appointment_sheet
from backoffice.services.appointment_reminder import SYSTEM
from backoffice.services.appointment_reminder import state as documents

SG = ZoneInfo("Asia/Singapore")
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=SG)
RULES = evolve(
    ar.load_rules(
        (Path(__file__).parents[1] / "src/cli/examples/appointment-reminder/rules.toml").read_text()
    ),
    staff_channel="C0STAFF001",
)
READING = documents.Reading("Asia/Singapore", "SG", True, "C0STAFF001")


def sheet(rows: int) -> str:
    """Every 100th appointment starts within the next 24 hours; the rest are days away."""
    lines = ["appt_id,customer_name,phone,email,service,starts_at"]
    for n in range(rows):
        hours = 3 + n % 20 if n % 100 == 0 else 30 + n % 300
        start = (NOW + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M")
        lines.append(f"A{n:06d},Customer {n},+65912{n % 100000:05d},,default,{start}")
    return "\n".join(lines) + "\n"


def parse(body: bytes) -> tuple[tuple[ar.Appointment, ...], tuple[Any, ...]]:
    cold()
    return documents.parse_appointments(body, RULES, READING)


def cold() -> None:
    """Forget what a process remembers of the documents, as a new one (a new Lambda) would."""
    documents.parsed_documents.cache_clear()
    appointment_sheet._start.cache_clear()


def parse_floor_with_numbers(body: bytes) -> list[dict[str, str]]:
    rows = rows_floor(body, "starts_at")
    for phone in {row["phone"] for row in rows}:
        code, national = int(phone[1:3]), int(phone[3:])  # every number here is +65...
        phonenumbers.is_valid_number(
            phonenumbers.PhoneNumber(country_code=code, national_number=national)
        )
    return rows


def plan_floor(appointments: tuple[ar.Appointment, ...]) -> list[ar.Appointment]:
    service = RULES.service("default")
    widest = timedelta(
        hours=max(
            service.first_reminder_hours, service.second_reminder_hours, service.gap_alert_hours
        )
    )
    return [a for a in appointments if timedelta(0) < a.starts_at - NOW <= widest]


def one_tick(text: str, counter: Counter[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        workspace = workspace_with(SYSTEM, Path(folder), text, NOW.date())
        # Each hourly run starts cold, as a new process would.
        run = timed_tick(SYSTEM, workspace, NOW, counter, lambda _: cold())
        sheet = workspace / ar.SHEET_FILE
        floor = tick_floor(Path(folder), sheet, run["outbox"], parse_floor_with_numbers)
        return {**run, "floor": floor}


def figures(repeat: int = 3, rows: int = 10_000) -> list[Figure]:
    body = sheet(rows).encode()
    floor, _ = timed(lambda: parse_floor_with_numbers(body), repeat)
    took, (appointments, _) = timed(lambda: parse(body), repeat)
    if len(appointments) != rows:
        raise RuntimeError("a row the floor reads was refused")
    plan_base, due = timed(lambda: plan_floor(appointments), repeat)
    empty = ar.State.of((), ())
    plan_took, plan = timed(lambda: ar.plan_tick(appointments, empty, RULES, NOW), repeat)
    if {m.subject for m in plan.moves} != {a.appt_id for a in due}:
        raise RuntimeError("the floor picks other appointments than the plan")
    calls: Counter[str] = Counter()
    runs = [one_tick(body.decode(), calls if n == 0 else Counter()) for n in range(repeat)]
    sent = runs[0]["sent"]
    per_move = {k: round(v / max(sent, 1), 2) for k, v in calls.items() if k != "tables.scan"}
    note = f"{rows:,} rows, {len(plan.moves):,} moves"
    return [
        Figure(SYSTEM.name, "parse", took, floor, 2.5, note=f"{rows:,} rows"),
        Figure(SYSTEM.name, "plan_tick", plan_took, plan_base, 4.0, note=note),
        Figure(
            SYSTEM.name,
            "full local tick",
            statistics.median(r["tick"] for r in runs),
            statistics.median(r["floor"] for r in runs),
            3.0,
            note=f"{sent:,} sent; {per_move}",
        ),
    ]


if __name__ == "__main__":
    sys.exit(script(__doc__, figures, "rows", 10_000))
