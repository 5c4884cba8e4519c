"""`backoffice run`: one long-running process on one machine. It keeps the system's schedules
(the expressions its SAM template uses, in the workspace's timezone, daylight saving included),
fires one-offs at their minute, and serves the public endpoints.

A stop (SIGTERM, Ctrl-C) is only looked at between two pieces of work, so a message being sent
is always finished and confirmed first. After a stop or a sleep, a schedule that missed its time
runs once, not once per time missed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from attrs import frozen

from backoffice.cli.running import run_due, run_tick
from backoffice.core.schedules import next_fire
from backoffice.core.settings import Settings
from backoffice.handlers.logs import log
from backoffice.handlers.machine import local_ports, mirror_documents
from backoffice.ports import Clock
from backoffice.services.engine import Delivery
from backoffice.services.system import System

LONGEST_WAIT = 60.0  # seconds: bookings made meanwhile (by an answer) are seen within a minute
STARTED = datetime(2000, 1, 1, tzinfo=UTC)  # rate() schedules count from here


@frozen
class Job:
    name: str
    expression: str  # an EventBridge Scheduler expression, in the workspace's timezone


def jobs(system: System, settings: Settings) -> tuple[Job, ...]:
    """The schedules one machine keeps: the tick (daily at tick_at, hourly, or every minute for
    an event-driven system), the summary as
    the template schedules it, and the Google documents' mirror when there are any."""
    at = settings.tick_at
    daily = f"cron({at.minute} {at.hour} * * ? *)"
    every = {"day": daily, "hour": "cron(0 * * * ? *)", "minute": "rate(1 minute)"}
    found = [Job("tick", every[system.tick_every])]
    found += [Job("summary", s.expression) for s in system.schedules if s.handler == "summary"]
    if any(settings.source(doc).google for doc in ("sheet", "rules", "voice")):
        found.append(Job("drive_sync", "rate(5 minutes)"))
    return tuple(found)


def next_run(job: Job, after: datetime, settings: Settings) -> datetime | None:
    return next_fire(job.expression, after, settings.timezone, start_date=STARTED)


class Runner:
    """The loop of `backoffice run`, with its clock and its way of waiting given to it (a test
    drives a simulated day; `wait` returns True when the process was told to stop)."""

    def __init__(
        self,
        workspace: Path,
        settings: Settings,
        system: System,
        clock: Clock,
        wait: Callable[[float], bool],
    ) -> None:
        from backoffice.adapters.local.runs import RunLog
        from backoffice.adapters.local.scheduling import LocalScheduler

        self.workspace, self.settings, self.system = workspace, settings, system
        self.clock, self.wait = clock, wait
        self.events: list[dict[str, Any]] = []
        self.ports = local_ports(
            workspace, settings, system, lambda _t, d: self.events.append(d), clock=clock
        )
        scheduler = self.ports.scheduler
        if not isinstance(scheduler, LocalScheduler):
            raise TypeError("backoffice run keeps its one-offs in the workspace's database")
        self.scheduler = scheduler
        self.jobs = jobs(system, settings)
        self.runs = RunLog(workspace / "state.db")

    def run(self) -> None:
        log("run_started", system=self.system.name, jobs=[job.name for job in self.jobs])
        while True:
            pause = self.step()
            if self.wait(pause):
                break
        log("run_stopped", system=self.system.name)

    def step(self) -> float:
        """Everything due now, then how long until the next thing (seconds)."""
        now = self.clock.now()
        self._guarded("one_offs", self._fire_due)
        for job in self.jobs:
            last = self.runs.last(job.name)
            if last is None:
                self.runs.record(job.name, now)  # a first start catches up on nothing
            elif (when := next_run(job, last, self.settings)) is not None and when <= now:
                self.runs.record(job.name, now)  # recorded first: a crash inside is not a loop
                self._guarded(job.name, partial(self._do, job))
        return self._pause(now)

    def _pause(self, now: datetime) -> float:
        upcoming = [
            next_run(job, self.runs.last(job.name) or now, self.settings) for job in self.jobs
        ]
        booked = [at for at, _ in self.scheduler.booked.values()]
        soonest = min((t for t in [*upcoming, *booked] if t is not None), default=None)
        if soonest is None:
            return LONGEST_WAIT
        return max(0.0, min(LONGEST_WAIT, (soonest - self.clock.now()).total_seconds()))

    def _fire_due(self) -> None:
        due = self.scheduler.due
        for delivery in run_due(self.system, self.ports, self.settings, due):
            self._logged(delivery)

    def _do(self, job: Job) -> None:
        if job.name == "drive_sync":
            log("drive_sync", changed=mirror_documents(self.workspace, self.settings, self.system))
        elif job.name == "summary":
            from backoffice.adapters.local.model import NoModel

            sent = self.system.summary(self.ports, self.settings, NoModel())
            log("summary", sent={d.to[0]: d.status for d in sent})
        else:
            self._tick()

    def _tick(self) -> None:
        if any(self.settings.source(d).google for d in ("sheet", "rules", "voice")):
            mirror_documents(self.workspace, self.settings, self.system)
        due = self.scheduler.due
        deliveries, problems = run_tick(self.system, self.ports, self.settings, self.events, due)
        for problem in problems:
            log("sheet_problem", **problem.as_json())
        for delivery in deliveries:
            self._logged(delivery)
        log("tick", at=self.clock.now().isoformat(), moves=len(deliveries), problems=len(problems))

    def _logged(self, delivery: Delivery) -> None:
        until = delivery.until.isoformat() if delivery.until else None
        log(
            "dispatch",
            key=delivery.key,
            status=delivery.status,
            at=delivery.at.isoformat(),
            until=until,
            error=delivery.error,
        )

    def _guarded(self, name: str, work: Callable[[], None]) -> None:
        """A failing run is logged and the loop goes on: the next run (and the engine's
        retries) try again; a person sees it in `backoffice status` and the logs."""
        from backoffice.core.documents import DocumentError
        from backoffice.services.delivery import describe

        try:
            work()
        except DocumentError as error:
            for problem in error.problems():
                log("document_problem", job=name, **problem.as_json())
        except Exception as error:
            log("error", job=name, error=describe(error))


def quiet_after(stop: Any) -> Callable[[float], bool]:
    """`wait` for a real process: sleep until the pause is over or a stop arrives."""
    return lambda seconds: bool(stop.wait(timeout=seconds))
