"""The onboarding guide's daily tick over 10k customers, each with its floor.

Customers signed up over the last 30 days (a tenth in Asia/Tokyo, a tenth in Europe/Paris);
every step due before today went out on its day, so a tick sends today's steps and nudges.
Each figure is measured beside the least work that could produce it, in the same run:

- parse sheet / floor: reading the CSV into rows with `csv.reader`;
- plan_tick / floor: one local date per customer (the day count every plan needs);
- full local tick / floor: the outbox mailer writing the same messages, no plan or claims.

    python bench/onboarding.py [--rows 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tick import counted, timed

from backoffice.adapters.local.outbox import OutboxMailer
from backoffice.cli.running import run_tick
from backoffice.cli.workspace import write_example
from backoffice.core import onboarding_guide as og
from backoffice.core.sheet import read_csv
from backoffice.handlers.machine import local_ports
from backoffice.handlers.wiring import read_settings
from backoffice.ports import Email
from backoffice.services.onboarding_guide import SENDS, SYSTEM, parsed_documents
from backoffice.services.onboarding_guide.state import sent_from_row

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=NY)  # a Tuesday, the daily run
ZONES = ("", "", "", "", "", "", "", "", "Asia/Tokyo", "Europe/Paris")
RULES = (Path(__file__).parents[1] / "src/cli/examples/onboarding-guide/rules.toml").read_text()


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


def past_sends(customers: list[og.Customer], rules: og.Rules) -> list[dict[str, Any]]:
    """Everything due before today went out on its day: steps, their nudges, the flags."""
    rows = []
    for customer in customers:
        plan = rules.plan(customer.plan)
        zone = ZoneInfo(customer.zone)
        today = NOW.astimezone(zone).date()
        start = customer.signed_up_at.astimezone(zone).date()
        for step in plan.steps:
            on = start + timedelta(days=step.day)
            nudge = on + timedelta(days=step.nudge_after_days or 10_000)
            flag = nudge + timedelta(days=plan.flag_after_days or 10_000)
            for kind, day in (("step_due", on), ("nudge", nudge), ("flag", flag)):
                if day < today:
                    rows.append(_sent(customer, step.id, kind, day))
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    text = sheet(args.rows)
    rules = og.load_rules(RULES)
    table, _ = read_csv(text, og.SHEET_FILE)

    def parse() -> list[og.Customer]:
        return og.parse_rows(
            table, rules.plans, timezone="America/New_York", dayfirst=False, admin="a@b.co"
        )[0]

    read_floor, _ = timed(lambda: list(csv.reader(io.StringIO(text))), args.repeat)
    parse_time, customers = timed(parse, args.repeat)
    sends = past_sends(customers, rules)
    state = og.State.of(sent_from_row(row) for row in sends)
    plan_floor, _ = timed(
        lambda: [NOW.astimezone(ZoneInfo(c.zone)).date() for c in customers], args.repeat
    )
    plan_time, plan = timed(lambda: og.plan_tick(customers, state, rules, NOW), args.repeat)

    tick_times, floor_times, sent, calls = [], [], 0, Counter[str]()
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as folder:
            workspace = Path(folder) / "saas"
            write_example(SYSTEM, workspace, NOW.date())
            (workspace / og.SHEET_FILE).write_text(text)
            settings = read_settings(workspace)
            events: list[dict[str, Any]] = []
            ports = local_ports(
                workspace, settings, SYSTEM, lambda _t, d, sink=events.append: sink(d), NOW
            )
            ports.tables.put_many(SENDS.name, sends)
            calls = Counter()
            parsed_documents.cache_clear()  # each daily run starts cold, as a new process would
            watched = counted(ports, calls)
            elapsed, result = timed(
                lambda w=watched, s=settings, e=events, d=ports.scheduler.due: run_tick(  # type: ignore[attr-defined]
                    SYSTEM, w, s, e, d
                ),
                1,
            )
            tick_times.append(elapsed)
            deliveries = [d for d in result[0] if d.status == "sent"]
            sent = len(deliveries)
            floor = OutboxMailer(Path(folder) / "floor", settings.mail_from)
            messages = [
                Email((d.to[0],), "Subject of a step", "Body\n" * 8, idempotency_key=d.key)
                for d in deliveries
            ]
            floor_time, _ = timed(lambda f=floor, ms=messages: [f.send(m) for m in ms], 1)
            floor_times.append(floor_time)
    tick_time, tick_floor = (
        sorted(tick_times)[len(tick_times) // 2],
        sorted(floor_times)[len(floor_times) // 2],
    )
    print(
        "| customers | due moves | sent now | parse / floor | plan_tick / floor "
        "| full tick / floor | store calls |"
    )
    print("|---:|---:|---:|---|---|---|---|")
    print(
        f"| {args.rows:,} | {len(plan.moves)} | {sent} | "
        f"{parse_time:.3f} s / {read_floor:.3f} s = {parse_time / read_floor:.1f}x | "
        f"{plan_time:.3f} s / {plan_floor:.3f} s = {plan_time / plan_floor:.1f}x | "
        f"{tick_time:.2f} s / {tick_floor:.2f} s = {tick_time / tick_floor:.1f}x | {dict(calls)} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
