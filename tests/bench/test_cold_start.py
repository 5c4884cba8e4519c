"""The cold-start benchmark covers every handler the SAM templates name, and still runs: one
handler measured in fresh processes beside its floor, through the SDK and the extension.
Its numbers are not checked here, only that each was measured."""

from __future__ import annotations

from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench"


@pytest.fixture(autouse=True)
def bench_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))


def test_every_handler_the_templates_name_is_measured() -> None:
    import cold_start

    from backoffice.services.registry import SYSTEMS

    named = cold_start.handlers()
    assert set(named) == set(cold_start.CLIENTS)
    assert {module for module, _ in named} == {system.stem for system in SYSTEMS}
    assert {c for clients in cold_start.CLIENTS.values() for c in clients} <= {
        cold_start.SETTINGS,
        cold_start.SECRETS,
        *cold_start.ADAPTERS,
    }


def test_a_handler_is_measured_beside_its_floors() -> None:
    import cold_start

    (row,) = cold_start.measure_all(runs=1, only=frozenset({"social_inbox.fb_connector"}))
    assert row["handler"] == "social_inbox.fb_connector"
    for prefix in ("", "extension_"):
        assert row[f"{prefix}cpu_ms"] > 0 and row[f"{prefix}wall_ms"] > 0
        assert row[f"{prefix}floor_cpu_ms"] > 0
