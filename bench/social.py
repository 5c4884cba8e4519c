"""The social scheduler's daily tick over 10k posts, each figure beside its floor.

Posts spread over the next 30 days, each on one or two channels, nine in ten approved, about
one in six outside the posting window or on a blackout day; the tick at 07:00 books a one-off
for each channel due before the next tick. Each figure is measured beside the least work that
could produce it, in the same run:

- parse: the sheet's text to posts with their problems, as a tick reads it / floor:
  `csv.DictReader` over the same text and `datetime.fromisoformat` of each row's `publish_at`,
  the zone attached;
- plan_tick / floor: a bare loop over the posts comparing each one's minute with the next tick,
  collecting the due ones (the note says what building the plan's own moves and moved-post
  reports from ready fields costs: no plan can cost less than that);
- full local tick (a fresh process's: documents parsed, no cache) / floor: one read of the
  sheet (the parse floor), then one SQLite transaction per booking writing it and its post's
  status, and one per delivered message with an atomic write of its bytes, with the embedded
  backend's journal settings (WAL, synchronous=NORMAL).

    python bench/social.py [--rows 10000] [--repeat 3]
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from common import Figure, counted, script, timed

from backoffice.cli.running import run_tick
from backoffice.cli.workspace import write_example
from backoffice.core import social_scheduler as ss
from backoffice.core.problems import Problem
from backoffice.core.vocabulary import Move
from backoffice.handlers.machine import local_ports
from backoffice.handlers.wiring import read_settings
from backoffice.services.social_scheduler import SYSTEM
from backoffice.services.social_scheduler.state import (
    Reading,
    loaded_rules,
    parse_posts,
    parsed_documents,
    sheet_facts,
)

TIMEZONE = "Asia/Singapore"
SG = ZoneInfo(TIMEZONE)
NOW = datetime(2026, 12, 1, 7, 0, tzinfo=SG)  # the daily run
RULES = ss.load_rules(
    (Path(__file__).parents[1] / "src/cli/examples/social-scheduler/rules.toml").read_text()
)
IMAGES = frozenset({"croissants.jpg"})
READING = Reading(TIMEZONE, True)
FACTS = {"croissants.jpg": ss.ImageFacts("image/jpeg", 20_000, 800, 600)}


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


def parse(body: bytes) -> tuple[tuple[ss.Post, ...], tuple[Problem, ...]]:
    return parse_posts(body, RULES, READING, IMAGES)


def parse_floor(body: bytes) -> list[datetime]:
    return [
        datetime.fromisoformat(row["publish_at"]).replace(tzinfo=SG)
        for row in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))
    ]


def plan_floor(posts: tuple[ss.Post, ...], next_tick: datetime) -> list[ss.Post]:
    return [post for post in posts if post.publish_at < next_tick]


def rebuilt(plan: ss.Plan) -> tuple[list[Move], list[Problem]]:
    """The plan's moves and problems built again from their own fields."""
    moves = [
        Move(m.key, m.kind, m.subject, m.chain, m.to, m.line, fields=dict(m.fields))
        for m in plan.moves
    ]
    problems = [Problem(p.file, p.line, p.column, p.value, p.message) for p in plan.problems]
    return moves, problems


def plan_figure(posts: tuple[ss.Post, ...], repeat: int) -> Figure:
    next_tick = ss.next_tick_after(NOW, NOW.time(), SG)  # the tick runs at 07:00
    state = ss.State({}, {})
    floor, due = timed(lambda: plan_floor(posts, next_tick), repeat)
    took, plan = timed(
        lambda: ss.plan_tick(posts, state, RULES, FACTS, NOW, next_tick, "o@example.com"),
        repeat,
    )
    # A post's minute only moves later, so the floor picks every post the plan moves on (and
    # the few moved past the next tick).
    if not {m.subject for m in plan.moves} <= {p.post_id for p in due}:
        raise RuntimeError("the plan moves on posts the floor does not pick")
    building, _ = timed(lambda: rebuilt(plan), repeat)
    note = (
        f"{len(posts):,} posts, {len(plan.moves):,} moves, {len(plan.problems):,} moved; "
        f"building those alone: {building * 1000:.1f} ms ({building / floor:.0f}x the floor)"
    )
    return Figure(SYSTEM.name, "plan_tick", took, floor, 4.0, note=note)


def one_tick(text: str, counter: Counter[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder) / "cafe"
        write_example(SYSTEM, workspace, NOW.date())
        (workspace / ss.SHEET_FILE).write_text(text)
        settings = read_settings(workspace)
        events: list[dict[str, Any]] = []
        ports = local_ports(workspace, settings, SYSTEM, lambda _t, d: events.append(d), NOW)
        parsed_documents.cache_clear()  # each daily run starts cold, as a new process would
        sheet_facts.cache_clear()
        loaded_rules.cache_clear()
        started = time.perf_counter()
        run_tick(
            SYSTEM,
            counted(ports, counter),
            settings,
            events,
            ports.scheduler.due,  # type: ignore[attr-defined]
        )
        elapsed = time.perf_counter() - started
        bookings = ports.scheduler.booked  # type: ignore[attr-defined]
        outbox = workspace / "outbox"
        messages = [p.read_bytes() for p in sorted(outbox.iterdir())] if outbox.exists() else []
        floor = tick_floor(Path(folder), text, bookings, messages)
        return {"tick": elapsed, "floor": floor, "booked": len(bookings), "sent": len(messages)}


def tick_floor(
    folder: Path,
    text: str,
    bookings: dict[str, tuple[datetime, dict[str, Any]]],
    messages: list[bytes],
) -> float:
    """One read of the sheet; per booking one transaction writing it and its post's status;
    per message one transaction and one atomic write of its bytes."""
    started = time.perf_counter()
    parse_floor(text.encode())
    db = sqlite3.connect(folder / "floor.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE schedules (name TEXT PRIMARY KEY, at TEXT, payload TEXT)")
    db.execute("CREATE TABLE status (pk TEXT, sk TEXT, item TEXT, PRIMARY KEY (pk, sk))")
    db.execute("CREATE TABLE sends (pk TEXT, sk TEXT, item TEXT, PRIMARY KEY (pk, sk))")
    for name, (at, payload) in bookings.items():
        status = {"post_id": payload["move"]["subject"], "state": "queued", "due_at": str(at)}
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT OR IGNORE INTO schedules VALUES (?, ?, ?)",
            (name, at.isoformat(), json.dumps(payload, sort_keys=True)),
        )
        db.execute(
            "INSERT OR REPLACE INTO status VALUES (?, ?, ?)",
            (status["post_id"], "status", json.dumps(status, sort_keys=True)),
        )
        db.execute("COMMIT")
    out = folder / "floor"
    out.mkdir()
    for n, body in enumerate(messages):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO sends VALUES (?, ?, ?)", (str(n), "sent", json.dumps({"n": n})))
        db.execute("COMMIT")
        handle, temporary = tempfile.mkstemp(dir=out)
        with os.fdopen(handle, "wb") as written:
            written.write(body)
        os.replace(temporary, out / f"{n}.eml")
    db.close()
    return time.perf_counter() - started


def figures(repeat: int = 3, rows: int = 10_000) -> list[Figure]:
    text = sheet(rows)
    body = text.encode()
    floor, _ = timed(lambda: parse_floor(body), repeat)
    took, (posts, _) = timed(lambda: parse(body), repeat)
    calls: Counter[str] = Counter()
    runs = [one_tick(text, calls if n == 0 else Counter()) for n in range(repeat)]
    booked, sent = runs[0]["booked"], runs[0]["sent"]
    return [
        Figure(SYSTEM.name, "parse", took, floor, 2.5, note=f"{rows:,} rows"),
        plan_figure(posts, repeat),
        Figure(
            SYSTEM.name,
            "full local tick",
            statistics.median(r["tick"] for r in runs),
            statistics.median(r["floor"] for r in runs),
            3.0,
            note=f"{booked:,} booked, {sent} sent; store calls {dict(calls)}",
        ),
    ]


if __name__ == "__main__":
    sys.exit(script(__doc__, figures, "rows", 10_000))
