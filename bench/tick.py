"""The expiry watcher at 100k registry rows, 1 % of them due: each figure beside its floor.

- parse: the sheet's bytes to items with their problems, as a tick reads it / floor:
  `csv.DictReader` over the same text and `date.fromisoformat` of each row's date;
- parse, dates written 12/01/2027 (the workspace's month-first order) / the same floor;
- parse per row at 200k rows / per row at 10k rows (the parse is linear);
- plan_tick / floor: a bare loop over the items comparing each act-by date with the window;
- full local tick (a fresh process's: documents parsed, no cache) / floor: one read of the
  sheet, one SQLite transaction per delivered move and one atomic write of each message's
  bytes, with the embedded backend's journal settings;
- the same tick on the digest day / the tick on another day (the digest reuses the parse);
- 2,000 outbox e-mails built and written / the atomic writes of the same bytes;
- `preview --days 30` / one parse plus thirty plans;
- the tick's peak traced memory / the DictReader list's.

    python bench/tick.py [--rows 100000] [--repeat 3]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from common import (
    Figure,
    atomic_write,
    peak_memory,
    rows_floor,
    script,
    tick_floor,
    timed,
    timed_tick,
    workspace_with,
)

from backoffice.adapters.local.outbox import OutboxMailer
from backoffice.cli.running import preview_workspace
from backoffice.core import expiry_watcher as ew
from backoffice.handlers.wiring import read_settings
from backoffice.ports import Button, Email
from backoffice.services import expiry_watcher as service
from backoffice.services.expiry_watcher import state as documents

SYSTEM = "expiry-watcher"
NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=NY)  # a Tuesday, inside business hours
MONDAY = NOW - timedelta(days=1)
RULES = ew.load_rules(
    (Path(__file__).parents[1] / "src/cli/examples/expiry-watcher/rules.toml").read_text()
)


def registry(rows: int, today: date, written: bool = False) -> str:
    """`rows` items; every 100th is inside its first-alert window, the rest are far out. With
    `written`, dates as a US sheet writes them (12/01/2027)."""
    lines = ["item_id,name,expires_on,owner,category,notice_days,link,notes"]
    for n in range(rows):
        days = 3 + n % 25 if n % 100 == 0 else 60 + n % 800
        on = today + timedelta(days=days)
        shown = f"{on:%m/%d/%Y}" if written else on.isoformat()
        owner = "U024BE7LH" if n % 200 == 0 else f"owner{n % 50}@example.com"
        lines.append(
            f"IT-{n:06d},Document {n},{shown},{owner},,,https://docs.example.com/{n},"
            + ("O'Brien's copy" if n % 7 == 0 else "")
        )
    return "\n".join(lines) + "\n"


def parse(body: bytes) -> tuple[tuple[ew.Item, ...], tuple[Any, ...]]:
    return documents.parse_items(body, False, "ops@example.com")


def plan_floor(items: tuple[ew.Item, ...], today: date) -> list[ew.Item]:
    reach = RULES.chains["default"].first_alert_days
    day = today.toordinal()
    return [i for i in items if i.expires_on.toordinal() - i.notice_days - day <= reach]


def cold() -> None:
    """Forget the parsed documents, as a new process (a new Lambda environment) would."""
    documents._items.cache_clear()
    documents._voice.cache_clear()


def one_tick(text: str, now: datetime, digest: bool, counter: Counter[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        workspace = workspace_with(service.SYSTEM, Path(folder), text, NOW.date(), digest)
        run = timed_tick(service.SYSTEM, workspace, now, counter, lambda _: cold())
        floor = tick_floor(Path(folder), workspace / ew.SHEET_FILE, run["outbox"])
        return {**run, "floor": floor}


def mails(count: int) -> tuple[float, float]:
    """`count` e-mails built and written by the outbox, and the atomic writes of their bytes."""
    links = tuple(
        Button(a, a.title(), f"https://ops.example.com/ew/ack?t={'x' * 140}{a}", "t")
        for a in ("renew", "snooze", "ack_only")
    )
    emails = [
        Email(
            (f"owner{n % 50}@example.com",),
            f"Document {n} expires in 20 days",
            f"Hello,\n\nDocument {n} expires on 2026-12-21.\nPlease renew it by then.\n",
            links,
            idempotency_key=f"ew:IT-{n:06d}:2026-12-21:first_alert",
        )
        for n in range(count)
    ]
    with tempfile.TemporaryDirectory() as folder:
        mailer = OutboxMailer(Path(folder) / "outbox", "Backoffice <ops@example.com>")
        (Path(folder) / "outbox").mkdir()
        built, _ = timed(lambda: [mailer.send(e) for e in emails], 1)
        bodies = [p.read_bytes() for p in (Path(folder) / "outbox").iterdir()]
        (Path(folder) / "floor").mkdir()
        floor, _ = timed(
            lambda: [
                atomic_write(Path(folder) / "floor" / f"{n}", b) for n, b in enumerate(bodies)
            ],
            1,
        )
    return built, floor


def preview(text: str, days: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        workspace = workspace_with(service.SYSTEM, Path(folder), text, NOW.date())
        settings = read_settings(workspace)
        before = sorted(p.name for p in workspace.rglob("*"))
        cold()
        took, report = timed(lambda: preview_workspace(workspace, settings, NOW, days), 1)
        if sorted(p.name for p in workspace.rglob("*")) != before:
            raise RuntimeError("the preview wrote to the workspace")
        if not report.deliveries:
            raise RuntimeError("the preview sent nothing")
        return took


def median_of(repeat: int, step: Callable[[], float]) -> float:
    return statistics.median(step() for _ in range(repeat))


def parse_figures(rows: int, repeat: int) -> list[Figure]:
    body = registry(rows, NOW.date()).encode()
    written = registry(rows, NOW.date(), written=True).encode()
    floor, _ = timed(lambda: rows_floor(body, "expires_on"), repeat)
    took, (items, _) = timed(lambda: parse(body), repeat)
    took_written, (other, _) = timed(lambda: parse(written), repeat)
    if other != items:
        raise RuntimeError("the written dates read otherwise than the ISO ones")
    small = registry(rows // 10, NOW.date()).encode()
    large = registry(rows * 2, NOW.date()).encode()
    per_small = timed(lambda: parse(small), repeat)[0] / (rows // 10)
    per_large = timed(lambda: parse(large), repeat)[0] / (rows * 2)
    plan_base, _ = timed(lambda: plan_floor(items, NOW.date()), repeat)
    state = ew.State.of((), ())
    plan_took, plan = timed(lambda: ew.plan_tick(items, state, RULES, NOW), repeat)
    note = f"{rows:,} rows, {len(plan.moves):,} moves"
    return [
        Figure(SYSTEM, "parse", took, floor, 2.5, note=note),
        Figure(SYSTEM, "parse, dates as 12/01/2027", took_written, floor, 2.5, note=note),
        Figure(
            SYSTEM, f"parse per row, {rows * 2:,} / {rows // 10:,} rows", per_large, per_small, 1.15
        ),
        Figure(SYSTEM, "plan_tick", plan_took, plan_base, 4.0, note=note),
    ]


def tick_figures(rows: int, repeat: int) -> list[Figure]:
    text = registry(rows, NOW.date())
    calls: Counter[str] = Counter()
    runs = [one_tick(text, NOW, False, calls if n == 0 else Counter()) for n in range(repeat)]
    tick = statistics.median(r["tick"] for r in runs)
    floor = statistics.median(r["floor"] for r in runs)
    sent = runs[0]["sent"]
    digest = median_of(repeat, lambda: one_tick(text, MONDAY, True, Counter())["tick"])
    plain = median_of(repeat, lambda: one_tick(text, MONDAY, False, Counter())["tick"])
    memory = peak_memory(lambda: one_tick(text, NOW, False, Counter()))
    body = text.encode()
    memory_floor = peak_memory(lambda: rows_floor(body, "expires_on"))
    built, written = mails(min(sent, 2_000) or 1)
    one_parse, _ = timed(lambda: parse(body), 1)
    items = parse(body)[0]
    state = ew.State.of((), ())
    thirty = timed(lambda: [ew.plan_tick(items, state, RULES, NOW) for _ in range(30)], 1)[0]
    took = preview(text, 30)
    per_move = {k: round(v / max(sent, 1), 2) for k, v in calls.items() if k != "tables.scan"}
    return [
        Figure(SYSTEM, "full local tick", tick, floor, 3.0, note=f"{sent:,} sent; {per_move}"),
        Figure(SYSTEM, "tick on the digest day / another day", digest, plain, 1.25),
        Figure(SYSTEM, f"{min(sent, 2_000) or 1:,} outbox e-mails", built, written, 3.0),
        Figure(SYSTEM, "preview --days 30", took, one_parse + thirty, 2.0, note=f"{took:.1f} s"),
        Figure(SYSTEM, "tick peak memory", memory, memory_floor, 2.0, "MiB"),
    ]


def figures(repeat: int = 3, rows: int = 100_000) -> list[Figure]:
    return [*parse_figures(rows, repeat), *tick_figures(rows, repeat)]


if __name__ == "__main__":
    sys.exit(script(__doc__, figures, "rows", 100_000))
