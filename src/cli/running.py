"""Ticks on the embedded backend, for real (`tick`) or simulated in memory (`preview`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from attrs import evolve, frozen

from backoffice.cli.workspace import folder_files, refresh_documents, require_documents
from backoffice.core.business_time import local_at
from backoffice.core.problems import Problem
from backoffice.core.settings import Settings
from backoffice.handlers.machine import local_ports
from backoffice.ports import Ports, Queue, Received
from backoffice.services.engine import Delivery
from backoffice.services.registry import system_named
from backoffice.services.system import System

if TYPE_CHECKING:
    from backoffice.adapters.fake import FakeScheduler, FakeTables

Due = Callable[[datetime], list[tuple[str, dict[str, Any]]]]


@frozen
class InFlight:
    key: str
    lease_until: str  # when another run may retake it


def in_flight(ports: Ports, system: System) -> tuple[InFlight, ...]:
    """Messages claimed but not confirmed: being sent now, or left by a run that died (they go
    out once their lease ends: a re-check is booked, and the next tick retakes them too)."""
    rows = ports.tables.scan(system.storage.sends.name)
    return tuple(
        InFlight(str(row.get("key", "")), str(row.get("lease_until", "")))
        for row in rows
        if row.get("status") == "sending"
    )


@frozen
class RunReport:
    """What a run delivered and deferred, and the problems it found: the `--json` contract."""

    settings: Settings
    deliveries: tuple[Delivery, ...]
    problems: tuple[Problem, ...]
    in_flight: tuple[InFlight, ...] = ()  # claimed by a send that has not confirmed (yet)

    def sends(self) -> list[Delivery]:
        sent = [d for d in self.deliveries if d.status == "sent"]
        return sorted(sent, key=lambda d: (d.at, d.line))

    def deferred(self) -> list[Delivery]:
        """Each waiting message once, with the first time it was deferred to."""
        waiting: dict[str, Delivery] = {}
        for d in self.deliveries:
            if d.status in ("deferred", "retry"):
                waiting.setdefault(d.key, d)
        return list(waiting.values())

    def skipped(self) -> list[Delivery]:
        """Messages dropped because they could only go out at or after their deadline."""
        return [d for d in self.deliveries if d.status == "skipped"]

    def failed(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.status == "failed"]


def run_due(system: System, ports: Ports, settings: Settings, due: Due) -> list[Delivery]:
    """Deliver the one-offs whose time has come (deferred moves and retries)."""
    now = ports.clock.now()
    return [system.dispatch(ports, settings, payload["move"]) for _, payload in due(now)]


BATCH = 10  # as the labeler's event-source mapping hands them over


def drain(system: System, ports: Ports, settings: Settings) -> dict[str, int]:
    """Every queued record of an event-driven system, a batch at a time, as the queue hands
    them over: a record that fails stays for its next receive (then the dead-letter queue)."""
    outcomes: dict[str, int] = {}
    if system.consumer is None or ports.queue is None:
        return outcomes
    while batch := _received(ports.queue):
        consume = system.consumer(ports, settings)
        for record in batch:
            try:
                outcome = consume(record.body)
                ports.queue.delete(record.receipt)
            except Exception:  # left for its next receive (a repeat is found as such then)
                outcome = "failed"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _received(queue: Queue) -> list[Received]:
    """The next batch; none when the queue cannot be read now (the next tick tries again)."""
    try:
        return queue.receive(BATCH)
    except Exception:
        return []


def run_tick(
    system: System, ports: Ports, settings: Settings, events: list[dict[str, Any]], due: Due
) -> tuple[list[Delivery], tuple[Problem, ...]]:
    """One tick as the schedule runs it: due one-offs (and queued work) first, then the tick,
    then its moves."""
    deliveries = run_due(system, ports, settings, due)
    drain(system, ports, settings)
    problems = system.tick(ports, settings).problems
    while events:
        deliveries.append(system.dispatch(ports, settings, events.pop(0)))
    deliveries += system.reports(ports, settings)
    return deliveries, problems


def tick_workspace(workspace: Path, settings: Settings, now: datetime | None) -> RunReport:
    system = system_named(settings.system)
    stale = refresh_documents(workspace, settings, system)
    require_documents(workspace, system)
    events: list[dict[str, Any]] = []
    ports = local_ports(
        workspace, settings, system, lambda _type, detail: events.append(detail), now
    )
    scheduler: Any = ports.scheduler
    deliveries, problems = run_tick(system, ports, settings, events, scheduler.due)
    found = (*stale, *problems)
    return RunReport(settings, tuple(deliveries), found, in_flight(ports, system))


def preview_workspace(workspace: Path, settings: Settings, start: datetime, days: int) -> RunReport:
    """Every scheduled tick at or after `start`, for `days` days, as if nobody answers.
    Starts from the workspace's real state and writes nothing."""
    from backoffice.adapters.csv_sheet import CsvSheet
    from backoffice.adapters.fake import FakeClock, FakeScheduler, FakeTables, fake_ports
    from backoffice.adapters.local.scheduling import InlineBus

    system = system_named(settings.system)
    zone = ZoneInfo(settings.timezone)
    events: list[dict[str, Any]] = []
    clock = FakeClock(start)
    ports = fake_ports(clock, system.storage.all, InlineBus(lambda _, d: events.append(d)))
    # The sheet as the simulation sees it: the workspace's copy, in memory (a template's row,
    # a cleared approval flag stay inside the preview).
    ports = evolve(ports, sheet=CsvSheet(ports.blobs, system.sheet.file), rehearsal=True)
    tables, scheduler = cast(FakeTables, ports.tables), cast(FakeScheduler, ports.scheduler)
    _copy_state(workspace, system, tables, scheduler)
    require_documents(workspace, system)
    for name in (system.sheet.file, *system.documents):
        ports.blobs.put(name, (workspace / name).read_bytes())
    for key, body in folder_files(workspace, system):
        ports.blobs.put(key, body)
    stale = refresh_documents(workspace, settings, system, into=ports.blobs)
    if system.preview is not None:
        clock.set(start)
        return RunReport(settings, tuple(system.preview(ports, settings)), tuple(stale))
    end = local_at(start.date() + timedelta(days=days), time(0, 0), zone)
    deliveries: list[Delivery] = []
    problems: tuple[Problem, ...] = ()
    for tick_time in system.tick_times(start, days, settings):
        if tick_time < start:
            continue
        for booking_time in _bookings_before(scheduler, tick_time):
            clock.set(booking_time)
            deliveries += run_due(system, ports, settings, scheduler.due)
        clock.set(tick_time)
        ran, found = run_tick(system, ports, settings, events, scheduler.due)
        deliveries += ran
        problems = problems or found
    for booking_time in _bookings_before(scheduler, end):
        clock.set(booking_time)
        deliveries += run_due(system, ports, settings, scheduler.due)
    return RunReport(settings, tuple(deliveries), (*stale, *problems))


def _bookings_before(scheduler: FakeScheduler, limit: datetime) -> Iterable[datetime]:
    """The instants of bookings strictly before `limit`, earliest first, as they keep arriving."""
    while True:
        pending = [at for at, _ in scheduler.booked.values() if at < limit]
        if not pending:
            return
        yield min(pending)


def _copy_state(
    workspace: Path, system: System, tables: FakeTables, scheduler: FakeScheduler
) -> None:
    """Start the simulation from the workspace's real state, read-only."""
    database = workspace / "state.db"
    if not database.exists():
        return
    from backoffice.adapters.local.scheduling import LocalScheduler
    from backoffice.adapters.local.tables import SqliteTables

    source = SqliteTables(database, system.storage.all)
    for schema in system.storage.all:
        tables.put_many(schema.name, source.scan(schema.name))
    for name, (at, payload) in LocalScheduler(database).booked.items():
        scheduler.book(name, at, payload)
