"""Two dispatchers of one move, on real threads over the embedded backend's SQLite, both past
the check that the move is still due: the claim alone lets exactly one of them send."""

from __future__ import annotations

import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from attrs import evolve

from backoffice.adapters.fake import FakeMailer
from backoffice.cli.workspace import write_example
from backoffice.core import expiry_watcher as ew
from backoffice.handlers.machine import local_ports
from backoffice.handlers.wiring import read_settings
from backoffice.services import expiry_watcher as service

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("America/New_York"))  # a Tuesday


@pytest.mark.parametrize("round_", range(5))
def test_the_claim_alone_stops_the_second_dispatcher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, round_: int
) -> None:
    write_example(service.SYSTEM, tmp_path, date(2026, 12, 1))
    (tmp_path / "registry.csv").write_text(
        "item_id,name,expires_on,owner\nLIC-1,Licence,2026-12-20,maria@example.com\n"
    )
    settings = read_settings(tmp_path)
    events: list[dict[str, Any]] = []
    ports = local_ports(tmp_path, settings, service.SYSTEM, lambda _t, d: events.append(d), NOW)
    mailer = FakeMailer()
    ports = evolve(ports, mailer=mailer)
    service.tick(ports, settings)
    [detail] = events

    both_checked = threading.Barrier(2, timeout=10)
    original = ew.still_due

    def still_due_then_wait(*args: Any) -> bool:
        due = original(*args)
        both_checked.wait()  # both dispatchers hold here: each saw the move as still due
        return due

    monkeypatch.setattr(ew, "still_due", still_due_then_wait)
    outcomes: list[str] = []

    def dispatch() -> None:
        outcomes.append(service.dispatch(ports, settings, detail).status)

    threads = [threading.Thread(target=dispatch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) in (["in_flight", "sent"], ["duplicate", "sent"])
    assert [e.idempotency_key for e in mailer.sent] == [detail["key"]]
    [row] = ports.tables.scan(service.PINGS.name)
    assert row["status"] == "sent"
