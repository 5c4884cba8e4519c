"""What every benchmark shares: timing, memory, store-call counting, and the figure it reports.

A figure is one piece of work measured beside its floor — the least work that could produce the
same result — in the same run, so the ratio holds whatever the machine's speed or load.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from attrs import evolve

from backoffice.ports import Ports


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
