"""What every benchmark shares: timing, memory, store-call counting, and the figure it reports.

A figure is one piece of work measured beside its floor — the least work that could produce the
same result — in the same run, so the ratio holds whatever the machine's speed or load.
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import json
import os
import sqlite3
import statistics
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from attrs import evolve

from backoffice.cli.running import run_tick
from backoffice.cli.workspace import write_example
from backoffice.handlers.machine import local_ports
from backoffice.handlers.wiring import read_settings
from backoffice.ports import Ports
from backoffice.services.system import System


@dataclass(frozen=True)
class Figure:
    """One measured figure: `value` and `floor` in the same unit (seconds, MiB, ms of CPU)."""

    system: str
    name: str
    value: float
    floor: float
    target: float  # the largest acceptable value / floor
    unit: str = "s"
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.value / self.floor if self.floor else float("inf")

    @property
    def within(self) -> bool:
        return self.ratio <= self.target


def timed(step: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The median wall time of `repeat` runs of `step`, and its last result."""
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def peak_memory(step: Callable[[], Any]) -> float:
    """The peak of memory traced while `step` runs, in MiB above what was held before."""
    gc.collect()
    tracemalloc.start()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


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


def table(found: list[Figure]) -> str:
    """The figures as a Markdown table: value, floor, their ratio and the target."""
    lines = [
        "| system | figure | value | floor | ratio | target | within | note |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for f in found:
        lines.append(
            f"| {f.system} | {f.name} | {f.value:.4g} {f.unit} | {f.floor:.4g} {f.unit} | "
            f"{f.ratio:.2f}x | {f.target:g}x | {'yes' if f.within else '**no**'} | {f.note} |"
        )
    return "\n".join(lines)


def rows_floor(body: bytes, column: str) -> list[dict[str, str]]:
    """The parse floor: `csv.DictReader` over the sheet, and the stdlib's parse of each row's
    date (or date and time) in `column`."""
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    read = date.fromisoformat if len(rows[0][column]) == 10 else datetime.fromisoformat
    for row in rows:
        read(row[column])
    return rows


def atomic_write(path: Path, body: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent)
    with os.fdopen(handle, "wb") as out:
        out.write(body)
    os.replace(temporary, path)


def tick_floor(
    folder: Path,
    sheet: Path,
    messages: list[bytes],
    read: Callable[[bytes], object] = bytes,
) -> float:
    """The tick floor: one read of the sheet (through `read`), one SQLite transaction per
    delivered move and one atomic write of each message, with the embedded backend's journal
    settings (WAL, synchronous=NORMAL)."""
    started = time.perf_counter()
    read(sheet.read_bytes())
    db = sqlite3.connect(folder / "floor.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE sends (pk TEXT, sk TEXT, item TEXT, PRIMARY KEY (pk, sk))")
    out = folder / "floor"
    out.mkdir()
    for n, body in enumerate(messages):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO sends VALUES (?, ?, ?)", (str(n), "sent", json.dumps({"n": n})))
        db.execute("COMMIT")
        atomic_write(out / f"{n}.eml", body)
    db.close()
    return time.perf_counter() - started


def workspace_with(
    system: System, folder: Path, text: str, today: date, digest: bool = True
) -> Path:
    """The system's example workspace in `folder`, its sheet replaced by `text`, and with
    `digest` off, no weekly digest."""
    workspace = folder / system.prefix
    write_example(system, workspace, today)
    (workspace / system.sheet.file).write_text(text)
    if not digest:
        toml = workspace / "backoffice.toml"
        toml.write_text(toml.read_text().replace('digest_day = "Mon"', 'digest_day = "off"'))
    return workspace


def timed_tick(
    system: System,
    workspace: Path,
    now: datetime,
    counter: Counter[str],
    prepare: Callable[[Ports], None] = lambda ports: None,
) -> dict[str, Any]:
    """One tick of the workspace at `now` as `backoffice tick` runs it (due one-offs, the tick,
    its moves delivered), its store calls counted; `prepare` runs first, untimed (seed the
    state, forget what a new process would not know). Returns the time, the sends and the
    outbox's messages."""
    settings = read_settings(workspace)
    events: list[dict[str, Any]] = []
    ports = local_ports(workspace, settings, system, lambda _t, d: events.append(d), now)
    prepare(ports)
    scheduler: Any = ports.scheduler
    started = time.perf_counter()
    deliveries, _ = run_tick(system, counted(ports, counter), settings, events, scheduler.due)
    elapsed = time.perf_counter() - started
    outbox = [p.read_bytes() for p in sorted((workspace / "outbox").iterdir())]
    sent = sum(1 for d in deliveries if d.status == "sent")
    return {"tick": elapsed, "sent": sent, "outbox": outbox}


def script(doc: str, figures: Callable[[int, int], list[Figure]], size: str, default: int) -> int:
    """A benchmark run on its own: `--repeat` and its size option (`--rows`, `--messages`),
    its figures printed as a table."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(f"--{size}", type=int, default=default)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(table(figures(args.repeat, getattr(args, size))))
    return 0
