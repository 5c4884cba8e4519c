"""The benchmarks still run: each measures its figures and floors on a small workspace. Their
numbers are not checked here (timings belong in bench/, not in tests); only that every figure
was measured, beside a floor that did real work."""

from __future__ import annotations

from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench"


@pytest.fixture(autouse=True)
def bench_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))


def test_the_expiry_watcher_figures_are_measured_beside_their_floors() -> None:
    import tick

    found = tick.figures(repeat=1, rows=2_000)
    assert {f.name for f in found} >= {"parse", "plan_tick", "full local tick", "preview --days 30"}
    assert all(f.value > 0 and f.floor > 0 for f in found)
