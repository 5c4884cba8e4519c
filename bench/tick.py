"""How the expiry watcher's tick scales with the registry: 1k, 10k and 100k rows, 1 % of them due.

Measures, per size: parsing the sheet, `plan_tick` alone, and a full tick on the embedded backend
(SQLite state, outbox files; due moves dispatched and delivered), with wall time, peak traced
memory and the number of store calls. Run with `make bench`; results go to bench/RESULTS.md by hand.

    python bench/tick.py [--sizes 1000,10000,100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from attrs import evolve

from backoffice.cli.running import run_tick
from backoffice.cli.workspace import write_example
from backoffice.core import expiry_watcher as ew
from backoffice.core.sheet import read_csv
from backoffice.handlers.machine import local_ports
from backoffice.handlers.wiring import read_settings
from backoffice.ports import Ports
from backoffice.services import expiry_watcher as service

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=NY)  # a Tuesday, inside business hours


class Counting:
    """Counts the calls made through a port, by method name."""

    def __init__(self, inner: Any, counter: Counter[str], prefix: str) -> None:
        self._inner, self._counter, self._prefix = inner, counter, prefix

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not callable(attribute):
            return attribute

        def tallied(*args: Any, **kwargs: Any) -> Any:
            self._counter[f"{self._prefix}.{name}"] += 1
            return attribute(*args, **kwargs)

        return tallied


def counted(ports: Ports, counter: Counter[str]) -> Ports:
    """The same ports, counting the calls to the store (tables and blobs)."""
    return evolve(
        ports,
        tables=Counting(ports.tables, counter, "tables"),
        blobs=Counting(ports.blobs, counter, "blobs"),
    )


def registry(rows: int, today: date) -> str:
    """`rows` items; every 100th is inside its first-alert window, the rest are far out."""
    lines = ["item_id,name,expires_on,owner,category,notice_days,link,notes"]
    for n in range(rows):
        days = 3 + n % 25 if n % 100 == 0 else 60 + n % 800
        owner = "U024BE7LH" if n % 200 == 0 else f"owner{n % 50}@example.com"
        lines.append(
            f"IT-{n:06d},Document {n},{(today + timedelta(days=days)).isoformat()},"
            f"{owner},,,https://docs.example.com/{n},"
        )
    return "\n".join(lines) + "\n"


def timed(step: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def peak_memory(step: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def bench_size(rows: int, repeat: int) -> dict[str, Any]:
    text = registry(rows, NOW.date())
    rules = ew.load_rules(
        (Path(__file__).parents[1] / "src/cli/examples/expiry-watcher/rules.toml").read_text()
    )

    def parse() -> list[ew.Item]:
        table, _ = read_csv(text, "registry.csv")
        return ew.parse_rows(table, dayfirst=False, admin="ops@example.com")[0]

    parse_s, items = timed(parse, repeat)
    state = ew.State.of((), ())
    plan_s, plan = timed(lambda: ew.plan_tick(items, state, rules, NOW), repeat)
    plan_mb = peak_memory(lambda: ew.plan_tick(items, state, rules, NOW))

    tick_s, calls, sends, tick_mb = full_tick(text, repeat, digest=False)
    digest_s, _, _, _ = full_tick(text, repeat, digest=True)
    return {
        "digest_s": digest_s,
        "rows": rows,
        "moves": len(plan.moves),
        "parse_s": parse_s,
        "plan_s": plan_s,
        "plan_mb": plan_mb,
        "tick_s": tick_s,
        "tick_mb": tick_mb,
        "sends": sends,
        "calls": calls,
    }


def full_tick(text: str, repeat: int, digest: bool) -> tuple[float, Counter[str], int, float]:
    """A first tick on a fresh workspace each time: due one-offs, plan, dispatch, deliver, and
    on the digest day the weekly digest too (which reads and plans the registry once more)."""
    times: list[float] = []
    calls: Counter[str] = Counter()
    sends = 0

    def once(measure: bool) -> None:
        nonlocal sends, calls
        with tempfile.TemporaryDirectory() as folder:
            workspace = Path(folder) / "ew"
            write_example(service.SYSTEM, workspace, NOW.date())
            (workspace / "registry.csv").write_text(text)
            if not digest:
                toml = workspace / "backoffice.toml"
                toml.write_text(
                    toml.read_text().replace('digest_day = "Mon"', 'digest_day = "off"')
                )
            settings = read_settings(workspace)
            events: list[dict[str, Any]] = []
            ports = local_ports(
                workspace, settings, service.SYSTEM, lambda _t, d: events.append(d), NOW
            )
            counter: Counter[str] = Counter()
            gc.collect()
            started = time.perf_counter()
            deliveries, _ = run_tick(
                service.SYSTEM,
                counted(ports, counter),
                settings,
                events,
                ports.scheduler.due,  # type: ignore[attr-defined]
            )
            if measure:
                times.append(time.perf_counter() - started)
            sends = sum(1 for d in deliveries if d.status == "sent")
            calls = counter

    for _ in range(repeat):
        once(True)
    memory = peak_memory(lambda: once(False))
    return statistics.median(times), calls, sends, memory


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        "| rows | due moves | parse sheet | plan_tick | plan peak MB | full local tick | "
        "tick peak MB | same, digest day | sent | store calls (tick) | "
        "store calls (per sent move) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for rows in (int(size) for size in args.sizes.split(",")):
        r = bench_size(rows, args.repeat)
        planning = {k: v for k, v in r["calls"].items() if k in ("tables.scan", "blobs.get")}
        per_move = {
            k: round(v / max(r["sends"], 1), 2)
            for k, v in r["calls"].items()
            if k not in ("tables.scan",)
        }
        print(
            f"| {rows:,} | {r['moves']} | {r['parse_s']:.3f} s | {r['plan_s']:.3f} s | "
            f"{r['plan_mb']:.1f} | {r['tick_s']:.2f} s | {r['tick_mb']:.1f} | "
            f"{r['digest_s']:.2f} s | {r['sends']} | "
            f"{dict(planning)} | {per_move} |"
        )
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
