"""The appointment reminders' hourly tick over 10k upcoming appointments, 1 % of them due.

Measures the pure plan and a full local tick (plan, dispatch, SMS to the outbox), with the
store calls made. `python bench/appointments.py [--rows 10000]`
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from attrs import evolve
from tick import counted

from backoffice.cli.running import run_tick
from backoffice.cli.workspace import write_example
from backoffice.core import appointment_reminder as ar
from backoffice.core.sheet import read_csv
from backoffice.handlers.machine import local_ports
from backoffice.handlers.wiring import read_settings
from backoffice.services.appointment_reminder import SYSTEM, parsed_documents

SG = ZoneInfo("Asia/Singapore")
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=SG)


def sheet(rows: int) -> str:
    """Every 100th appointment starts within the next 24 hours; the rest are days away."""
    lines = ["appt_id,customer_name,phone,email,service,starts_at"]
    for n in range(rows):
        hours = 3 + n % 20 if n % 100 == 0 else 30 + n % 300
        start = (NOW + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M")
        lines.append(f"A{n:06d},Customer {n},+65912{n % 100000:05d},,default,{start}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    text = sheet(args.rows)
    rules = evolve(
        ar.load_rules(
            (
                Path(__file__).parents[1] / "src/cli/examples/appointment-reminder/rules.toml"
            ).read_text()
        ),
        staff_channel="C0STAFF001",
    )
    table, _ = read_csv(text, "appointments.csv")
    parse_times, plan_times, tick_times = [], [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        rows, _ = ar.parse_rows(
            table, rules, timezone="Asia/Singapore", default_country="SG", dayfirst=False
        )
        parse_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        plan = ar.plan_tick(rows, ar.State.of((), ()), rules, NOW)
        plan_times.append(time.perf_counter() - started)
    calls: Counter[str] = Counter()
    sent = 0
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as folder:
            workspace = Path(folder) / "salon"
            write_example(SYSTEM, workspace, NOW.date())
            (workspace / "appointments.csv").write_text(text)
            settings = read_settings(workspace)
            events: list[dict[str, Any]] = []
            ports = local_ports(
                workspace, settings, SYSTEM, lambda _t, d, sink=events.append: sink(d), NOW
            )
            calls = Counter()
            parsed_documents.cache_clear()  # each hourly run starts cold, as a new process would
            started = time.perf_counter()
            deliveries, _ = run_tick(
                SYSTEM,
                counted(ports, calls),
                settings,
                events,
                ports.scheduler.due,  # type: ignore[attr-defined]
            )
            tick_times.append(time.perf_counter() - started)
            sent = sum(1 for d in deliveries if d.status == "sent")
    print(
        "| appointments | due moves | parse sheet | plan_tick | full local tick | sent | "
        "store calls |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|")
    print(
        f"| {args.rows:,} | {len(plan.moves)} | {statistics.median(parse_times):.3f} s | "
        f"{statistics.median(plan_times):.3f} s | {statistics.median(tick_times):.2f} s | "
        f"{sent} | {dict(calls)} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
