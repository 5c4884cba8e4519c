"""The social scheduler's daily tick over 10k posts, each figure with its floor.

Posts spread over the next 30 days, each on one or two channels, nine in ten approved, a few
outside the posting window; the tick at 07:00 books a one-off for each channel due before the
next tick. Each figure is measured beside the least work that could produce it, in the same run:

- parse sheet / floor: reading the CSV into rows with `csv.reader`;
- plan_tick / floor: one comparison of each post's minute with the next tick;
- full local tick / floor: the same bookings written to SQLite one transaction each (as the
  local scheduler stores them), no parse, plan or status.

    python bench/social.py [--rows 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sqlite3
import sys
import tempfile
from collections import Counter
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tick import counted, timed

from backoffice.cli.running import run_tick
from backoffice.cli.workspace import write_example
from backoffice.core import social_scheduler as ss
from backoffice.core.sheet import read_csv
from backoffice.handlers.machine import local_ports
from backoffice.handlers.wiring import read_settings
from backoffice.services.social_scheduler import SYSTEM
from backoffice.services.social_scheduler.state import parsed_documents

SG = ZoneInfo("Asia/Singapore")
NOW = datetime(2026, 12, 1, 7, 0, tzinfo=SG)  # the daily run
RULES = (Path(__file__).parents[1] / "src/cli/examples/social-scheduler/rules.toml").read_text()


def sheet(rows: int) -> str:
    lines = [",".join(ss.COLUMNS)]
    for n in range(rows):
        when = NOW + timedelta(days=n % 30, hours=1 + n % 14, minutes=n % 60)
        channels = "facebook" if n % 2 else "facebook, instagram"
        image = "croissants.jpg" if n % 2 == 0 else ""
        approved = "" if n % 10 == 9 else "TRUE"
        lines.append(
            f'p{n:06d},"Post number {n}, fresh from the oven.","{channels}",{image},'
            f"{when:%Y-%m-%d %H:%M},{approved},"
        )
    return "\n".join(lines) + "\n"


def book_floor(folder: Path, bookings: list[tuple[str, datetime, dict[str, Any]]]) -> None:
    db = sqlite3.connect(folder / "floor.db")
    db.execute("CREATE TABLE schedules (name TEXT PRIMARY KEY, at TEXT, payload TEXT)")
    for name, at, payload in bookings:
        with db:
            db.execute(
                "INSERT OR IGNORE INTO schedules VALUES (?, ?, ?)",
                (name, at.isoformat(), json.dumps(payload, sort_keys=True)),
            )
    db.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    text = sheet(args.rows)
    rules = ss.load_rules(RULES)
    table, _ = read_csv(text, ss.SHEET_FILE)
    images = frozenset({"croissants.jpg"})

    def parse() -> list[ss.Post]:
        return ss.parse_rows(table, rules, timezone="Asia/Singapore", dayfirst=True, images=images)[
            0
        ]

    read_floor, _ = timed(lambda: list(csv.reader(io.StringIO(text))), args.repeat)
    parse_time, posts = timed(parse, args.repeat)
    facts = {"croissants.jpg": ss.ImageFacts("image/jpeg", 20_000, 800, 600)}
    next_tick = ss.next_tick_after(NOW, time(7, 0), SG)
    state = ss.State({}, {})
    plan_floor, _ = timed(lambda: [p.publish_at < next_tick for p in posts], args.repeat)
    plan_time, plan = timed(
        lambda: ss.plan_tick(posts, state, rules, facts, NOW, next_tick, "o@example.com"),
        args.repeat,
    )
    tick_times, floor_times, calls = [], [], Counter[str]()
    booked = 0
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as folder:
            workspace = Path(folder) / "cafe"
            write_example(SYSTEM, workspace, NOW.date())
            (workspace / ss.SHEET_FILE).write_text(text)
            settings = read_settings(workspace)
            events: list[dict[str, Any]] = []
            ports = local_ports(
                workspace, settings, SYSTEM, lambda _t, d, sink=events.append: sink(d), NOW
            )
            calls = Counter()
            parsed_documents.cache_clear()  # each daily run starts cold, as a new process would
            watched = counted(ports, calls)
            elapsed, _ = timed(
                lambda w=watched, s=settings, e=events, d=ports.scheduler.due: run_tick(  # type: ignore[attr-defined]
                    SYSTEM, w, s, e, d
                ),
                1,
            )
            tick_times.append(elapsed)
            bookings = list(ports.scheduler.booked.items())  # type: ignore[attr-defined]
            booked = len(bookings)
            rows = [(name, at, payload) for name, (at, payload) in bookings]
            floor_time, _ = timed(lambda f=Path(folder), b=rows: book_floor(f, b), 1)
            floor_times.append(floor_time)
    tick_time = sorted(tick_times)[len(tick_times) // 2]
    tick_floor = sorted(floor_times)[len(floor_times) // 2]
    print("| posts | moves | booked | parse / floor | plan_tick / floor | full tick / floor |")
    print("|---:|---:|---:|---|---|---|")
    print(
        f"| {args.rows:,} | {len(plan.moves)} | {booked} | "
        f"{parse_time:.3f} s / {read_floor:.3f} s = {parse_time / read_floor:.1f}x | "
        f"{plan_time:.3f} s / {plan_floor:.4f} s = {plan_time / plan_floor:.0f}x | "
        f"{tick_time:.2f} s / {tick_floor:.2f} s = {tick_time / tick_floor:.1f}x |"
    )
    print(f"store calls in one tick: {dict(calls)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
