"""The social scheduler's and the social inbox's benchmarks still run: each figure is measured
beside a floor that did real work (their numbers belong in bench/, not in tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench"


@pytest.fixture(autouse=True)
def bench_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))


def test_the_social_scheduler_figures_are_measured_beside_their_floors() -> None:
    import social

    found = social.figures(repeat=1, rows=600)
    assert [f.name for f in found] == ["parse", "plan_tick", "full local tick"]
    assert all(f.value > 0 and f.floor > 0 for f in found)


def test_the_social_inbox_figures_are_measured_beside_their_floors() -> None:
    import inbox

    found = inbox.figures(repeat=1, messages=40)
    assert [f.name for f in found] == ["webhooks through serve", "labeler per message"]
    assert all(f.value > 0 and f.floor > 0 for f in found)
