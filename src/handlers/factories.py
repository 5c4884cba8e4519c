"""Lambda handlers built from a system's description. A system's handler module binds each of its
functions in one line, e.g. `dispatch = factories.dispatch(SYSTEM)`.

Every handler translates the event, calls one use case with the wired ports, logs what happened
(ids and counts, never a token) and translates the result back. Ports are built on first use and
kept for the execution environment; heavy imports wait for the handlers that need them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from attrs import frozen

from backoffice.handlers import metrics
from backoffice.handlers.logs import log

if TYPE_CHECKING:
    from backoffice.core.settings import Settings
    from backoffice.handlers.web import Route
    from backoffice.ports import Ports
    from backoffice.services.engine import Delivery
    from backoffice.services.system import System

Handler = Callable[..., dict[str, Any]]  # (event, context=None) -> response
# A route table, or what builds it when the first request comes (a table whose pages import
# what no other function of the system needs).
Routes = Sequence["Route"] | Callable[[], Sequence["Route"]]


def wired(system: System) -> tuple[Ports, Settings]:
    from backoffice.handlers.wiring import system_ports

    return system_ports(system)


def tick(system: System) -> Handler:
    """The schedule's tick: decide the moves and put them on the bus. Every run counts
    `TickFailed`, 0 or 1, so its alarm reads a fed metric from the first day on."""

    def handler(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
        with metrics.invocation(system.prefix):
            try:
                result = system.tick(*wired(system))
            except Exception:
                metrics.count(metrics.TICK_FAILED)
                raise
            metrics.count(metrics.TICK_FAILED, 0)
        for problem in result.problems:
            log("sheet_problem", system=system.name, **problem.as_json())
        counts = {"moves": len(result.plan.moves), "problems": len(result.problems)}
        log("tick", system=system.name, archived=len(result.plan.archive), **counts)
        return counts

    return handler


def dispatch(system: System) -> Handler:
    """A move from the bus rule (`detail`) or from a deferred one-off (`move`). An exception
    fails the invocation, so the platform retries it; the claim makes a retry safe."""

    def handler(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
        detail = event.get("move") or event.get("detail")
        if not isinstance(detail, Mapping):
            raise ValueError("dispatch expects an EventBridge event with a detail, or a move")
        with metrics.invocation(system.prefix):
            delivery = system.dispatch(*wired(system), detail)
            metrics.count_delivery(delivery.status, delivery.channel)
        until = delivery.until.isoformat() if delivery.until else None
        # No empty "error" field: the log filter counts the lines that say "error".
        failed = {"error": delivery.error} if delivery.error else {}
        log("dispatch", key=delivery.key, status=delivery.status, until=until, **failed)
        return {"status": delivery.status, "key": delivery.key}

    return handler


def queue_consumer(system: System) -> Handler:
    """An SQS batch (the event-source mapping's): each record consumed; the ones that failed
    are named in `batchItemFailures`, so only they come back (and, after their last receive,
    go to the dead-letter queue) while the rest of the batch commits."""
    consumer = system.consumer
    if consumer is None:
        raise TypeError(f"{system.name} consumes no queue")

    def handler(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
        ports, settings = wired(system)
        consume = consumer(ports, settings)
        failures, outcomes = [], []
        for record in event.get("Records", []):
            try:
                outcomes.append(consume(record["body"]))
            except Exception as error:  # this record only: the queue retries it
                log(
                    "consume_failed", message_id=record.get("messageId"), error=type(error).__name__
                )
                failures.append({"itemIdentifier": record.get("messageId", "")})
        with metrics.invocation(system.prefix):
            metrics.count(metrics.LABELED, len(outcomes))
            metrics.count(metrics.LABELER_FAILED, len(failures))
        log("consumed", system=system.name, outcomes=outcomes, failed=len(failures))
        return {"batchItemFailures": failures}

    return handler


def _reported(name: str, deliveries: Sequence[Delivery]) -> dict[str, Any]:
    sent = {d.to[0]: d.status for d in deliveries}
    log(name, sent=sent)
    return {"status": "sent" if deliveries else "not_due", "sent": sent}


def reports(system: System) -> Handler:
    """The weekly digest, once per week."""

    def handler(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
        return _reported("digest", system.reports(*wired(system)))

    return handler


def summary(system: System) -> Handler:
    """The model's narrative over the period's facts, or the facts alone."""

    def handler(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
        from backoffice.handlers.wiring import language_model

        ports, settings = wired(system)
        return _reported("summary", system.summary(ports, settings, language_model(system)))

    return handler


def drive_sync(system: System) -> Handler:
    """Mirror the sheet and the rules and voice docs to S3, only what changed."""

    def handler(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
        from backoffice.handlers import lanes

        return lanes.drive_sync(system, *wired(system))

    return handler


def calendar_sync(system: System) -> Handler:
    """Events tagged for the system in the configured calendars become proposals."""

    def handler(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
        from backoffice.handlers import lanes

        return lanes.calendar_sync(system, *wired(system))

    return handler


def intake_ses_parser(system: System) -> Handler:
    """A forwarded email (S3 event) or a Textract completion (SNS event): on to a proposal."""

    def handler(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
        from backoffice.handlers import lanes

        return lanes.intake_ses_parser(event, system, *wired(system))

    return handler


@frozen
class Http:
    """A Function URL: the system's own routes, then (`links`) its links and Slack's
    interactivity. `backoffice serve` answers through the same table with the embedded
    backend's ports."""

    system: System
    own: Routes
    links: bool = False

    @cached_property
    def routes(self) -> tuple[Route, ...]:
        """The table, made at the first request: a system's other functions (its tick, its
        dispatch) import none of the pages, links or Slack endpoints only this one serves."""
        own = tuple(self.own() if callable(self.own) else self.own)
        if not self.links:
            return own
        from backoffice.handlers import links

        return (*own, *links.routes(self.system))

    def __call__(self, event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
        with metrics.invocation(self.system.prefix):
            return self.answer(event, *wired(self.system))

    def answer(self, event: Mapping[str, Any], ports: Ports, settings: Settings) -> dict[str, Any]:
        from backoffice.handlers import web

        return web.routed(self.routes, event, ports, settings)


def http(system: System, routes: Routes = ()) -> Http:
    return Http(system, routes, links=True)


def http_of(system: System) -> Http:
    """The HTTP entry point a system's handler module names `HTTP` (module stem convention)."""
    from importlib import import_module

    found = import_module(f"backoffice.handlers.{system.stem}").HTTP
    if not isinstance(found, Http):
        raise TypeError(f"backoffice.handlers.{system.stem}.HTTP is not an Http handler")
    return found
