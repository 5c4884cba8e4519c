"""The onboarding guide's daily tick over 10k customers: each figure beside its floor.

Customers signed up over the last 30 days (a tenth in Asia/Tokyo, a tenth in Europe/Paris);
every move due before today went out on its day and no step was marked done, so a tick sends
today's steps, nudges and flags (a third of the customers get one). Each figure is measured
beside the least work that could produce it, in the same run:

- parse: the sheet's bytes to customers with their problems, as a tick reads them / floor:
  `csv.DictReader` over the same text and `datetime.fromisoformat` of each row's signup;
- plan_tick / floor: a bare loop over the customers comparing each one's day count with the
  days their plan moves on (the same customers come out: everything earlier went on its day);
- full local tick (a fresh process's: documents parsed, no cache; not a digest day) / floor:
  one read of the sheet (the parse floor), one SQLite transaction per delivered message and
  one atomic write of each message's bytes, with the embedded backend's journal settings.

    python bench/onboarding.py [--rows 10000] [--repeat 3]
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from attrs import astuple
from common import Figure, rows_floor, script, tick_floor, timed, timed_tick, workspace_with

from backoffice.core import onboarding_guide as og
from backoffice.ports import Ports
from backoffice.services.onboarding_guide import SENDS, SYSTEM
from backoffice.services.onboarding_guide import state as documents
from backoffice.services.onboarding_guide.state import sent_from_row

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=NY)  # a Tuesday, the daily run
ZONES = ("", "", "", "", "", "", "", "", "Asia/Tokyo", "Europe/Paris")
RULES = og.load_rules(
    (Path(__file__).parents[1] / "src/cli/examples/onboarding-guide/rules.toml").read_text()
)
READING = documents.Reading("America/New_York", False, "founder@example.com")


def sheet(rows: int) -> str:
    lines = [",".join(og.COLUMNS)]
    for n in range(rows):
        signed = (NOW - timedelta(days=n % 30, hours=n % 7)).strftime("%Y-%m-%d %H:%M")
        plan = "team" if n % 3 == 0 else "starter"
        lines.append(
            f"c{n:06d},Customer {n},c{n}@example.com,{plan},{signed},"
            f"owner{n % 20}@example.com,{ZONES[n % len(ZONES)]},"
        )
    return "\n".join(lines) + "\n"


def moving_days(plan: og.PlanRules) -> list[tuple[str, int, str]]:
    """Each (step, day, kind) of a plan's moves when each goes out on its day."""
    found = []
    for step in plan.steps:
        found.append((step.id, step.day, "step_due"))
        if step.nudge_after_days is not None:
            nudge = step.day + step.nudge_after_days
            found.append((step.id, nudge, "nudge"))
            if plan.flag_after_days is not None:
                found.append((step.id, nudge + plan.flag_after_days, "flag"))
    return found


def past_sends(customers: tuple[og.Customer, ...]) -> list[dict[str, Any]]:
    """Everything due before today went out on its day: steps, their nudges, the flags."""
    rows = []
    for customer in customers:
        days = og.days_since_signup(customer, NOW)
        for step, day, kind in moving_days(RULES.plan(customer.plan)):
            if day < days:
                on = customer.signed_up_on + timedelta(days=day)
                rows.append(_sent(customer, step, kind, on))
    return rows


def _sent(customer: og.Customer, step: str, kind: str, on: date) -> dict[str, Any]:
    return {
        "customer_id": customer.customer_id,
        "step_kind": f"{step}#{kind}",
        "key": f"og:{customer.customer_id}:{step}:{kind}",
        "journey": customer.journey,
        "chain_id": customer.journey,
        "step": step,
        "kind": kind,
        "status": "sent",
        "local_date": on.isoformat(),
    }


def parse(body: bytes) -> tuple[tuple[og.Customer, ...], tuple[Any, ...]]:
    return documents.parse_customers(body, RULES.plans, READING)


def parse_floor(body: bytes) -> list[dict[str, str]]:
    return rows_floor(body, "signed_up_at")


def plan_floor(
    customers: tuple[og.Customer, ...], due: Mapping[str, Collection[int]]
) -> list[og.Customer]:
    zones = {READING.timezone, *ZONES} - {""}
    today = {zone: NOW.astimezone(ZoneInfo(zone)).date().toordinal() for zone in zones}
    return [c for c in customers if today[c.zone] - c.signed_up_on.toordinal() in due[c.plan]]


def plan_figure(customers: tuple[og.Customer, ...], repeat: int) -> Figure:
    # As a tick reads them: out of the store's JSON, not sharing the bench's strings.
    rows = json.loads(json.dumps(past_sends(customers)))
    state = og.State.of(sent_from_row(row) for row in rows)
    due = {name: {day for _, day, _ in moving_days(plan)} for name, plan in RULES.plans.items()}
    floor, moving = timed(lambda: plan_floor(customers, due), repeat)
    took, plan = timed(lambda: og.plan_tick(customers, state, RULES, NOW), repeat)
    if {m.subject for m in plan.moves} != {c.customer_id for c in moving}:
        raise RuntimeError("the floor picks other customers than the plan")
    # What no plan avoids: the moves themselves, made again from their values.
    values = [(astuple(m, recurse=False)[:-1], m.fields) for m in plan.moves]
    built, _ = timed(lambda: [og.Move(*v, fields=dict(f)) for v, f in values], repeat)
    note = (
        f"{len(customers):,} customers, {len(plan.moves):,} moves; "
        f"making the moves alone {built * 1e3:.1f} ms"
    )
    return Figure(SYSTEM.name, "plan_tick", took, floor, 4.0, note=note)


def one_tick(text: str, counter: Counter[str]) -> dict[str, Any]:
    def seeded(ports: Ports) -> None:
        customers, _ = parse(text.encode())
        ports.tables.put_many(SENDS.name, past_sends(customers))
        documents._parsed.cache_clear()  # each daily run starts cold, as a new process would

    with tempfile.TemporaryDirectory() as folder:
        workspace = workspace_with(SYSTEM, Path(folder), text, NOW.date(), digest=False)
        run = timed_tick(SYSTEM, workspace, NOW, counter, seeded)
        floor = tick_floor(Path(folder), workspace / og.SHEET_FILE, run["outbox"], parse_floor)
        return {**run, "floor": floor}


def figures(repeat: int = 3, rows: int = 10_000) -> list[Figure]:
    text = sheet(rows)
    body = text.encode()
    floor, _ = timed(lambda: parse_floor(body), repeat)
    took, (customers, _) = timed(lambda: parse(body), repeat)
    calls: Counter[str] = Counter()
    runs = [one_tick(text, calls if n == 0 else Counter()) for n in range(repeat)]
    sent = runs[0]["sent"]
    per_move = {k: round(v / max(sent, 1), 2) for k, v in calls.items() if k != "tables.scan"}
    return [
        Figure(SYSTEM.name, "parse", took, floor, 2.5, note=f"{rows:,} rows"),
        plan_figure(customers, repeat),
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
