"""What the CLI needs to know of each system: its files, tables, use cases and schedule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from attrs import frozen

from backoffice.core.business_time import local_at
from backoffice.core.problems import Problem
from backoffice.core.settings import Settings
from backoffice.ports import Model, TableSchema
from backoffice.services.engine import Delivery
from backoffice.services.runtime import Ports


@frozen
class Intake:
    """What `backoffice intake` proposes for the system: a row of its sheet."""

    columns: tuple[str, ...]
    date_columns: tuple[str, ...]
    time_columns: tuple[str, ...]
    owner_column: str  # the forwarder's address goes here ("" for none)
    model: Callable[[Settings, date], Model]  # the heuristic reader, for the workspace's today


@frozen
class System:
    name: str
    sheet_file: str
    tables: tuple[TableSchema, ...]
    tick: Callable[[Ports, Settings], tuple[Problem, ...]]
    dispatch: Callable[[Ports, Settings, dict[str, Any]], Delivery]
    after_tick: Callable[[Ports, Settings], Delivery | None]
    hourly: bool
    check: Callable[[str, str, Settings], list[Problem]]  # (sheet text, rules text, settings)
    load_voice: Callable[[str], object]
    serve: Callable[[dict[str, Any], Ports, Settings], dict[str, Any]]
    intake: Intake
    # Worth knowing but not wrong (long texts, say): (sheet, rules, voice texts, settings).
    notes: Callable[[str, str, str, Settings], list[str]] = lambda *_: []

    def tick_times(self, start: datetime, days: int, settings: Settings) -> Iterable[datetime]:
        """Every scheduled tick from the day of `start` for `days` days."""
        zone = ZoneInfo(settings.timezone)
        for offset in range(days):
            day: date = start.date() + timedelta(days=offset)
            if self.hourly:
                for hour in range(24):
                    yield local_at(day, time(hour, 0), zone)
            else:
                yield local_at(day, settings.tick_at, zone)


def expiry_watcher() -> System:
    from backoffice.core import expiry_watcher as ew
    from backoffice.core.sheet import read_csv
    from backoffice.services import expiry_watcher as service

    def tick(ports: Ports, settings: Settings) -> tuple[Problem, ...]:
        return service.tick(ports, settings).problems

    def check(sheet: str, rules: str, settings: Settings) -> list[Problem]:
        ew.load_rules(rules)
        table, problems = read_csv(sheet, ew.SHEET_FILE)
        return [
            *problems,
            *ew.parse_rows(table, dayfirst=settings.dayfirst, admin=settings.admin)[1],
        ]

    from backoffice.handlers.expiry_watcher import handle_ack

    def model(settings: Settings, today: date) -> Model:
        from backoffice.adapters.local.model import HeuristicModel
        from backoffice.core.intake import heuristic_proposal

        return HeuristicModel(
            lambda subject, text, sender: heuristic_proposal(
                subject, text, sender, ew.COLUMNS, dayfirst=settings.dayfirst, today=today
            )
        )

    return System(
        ew.SYSTEM,
        ew.SHEET_FILE,
        service.TABLES,
        tick,
        service.dispatch,
        service.digest,
        hourly=False,
        check=check,
        load_voice=ew.load_voice,
        serve=handle_ack,
        intake=Intake(ew.COLUMNS, ("expires_on",), (), "owner", model),
    )


def appointment_reminder() -> System:
    from backoffice.core import appointment_intake as booking
    from backoffice.core import appointment_reminder as ar
    from backoffice.core.sheet import read_csv
    from backoffice.services import appointment_reminder as service

    def tick(ports: Ports, settings: Settings) -> tuple[Problem, ...]:
        return service.tick(ports, settings).problems

    def check(sheet: str, rules: str, settings: Settings) -> list[Problem]:
        parsed = ar.load_rules(rules)
        table, problems = read_csv(sheet, ar.SHEET_FILE)
        return [
            *problems,
            *ar.parse_rows(
                table,
                parsed,
                timezone=settings.timezone,
                default_country=settings.default_country,
                dayfirst=settings.dayfirst,
            )[1],
        ]

    from backoffice.handlers.appointment_reminder import handle_reply

    def notes(sheet: str, rules: str, voice: str, settings: Settings) -> list[str]:
        if "link_secret" not in settings.secrets:
            return []  # a problem already; texts cannot be measured without their links
        docs = service.parsed_documents(
            sheet,
            rules,
            voice,
            settings.timezone,
            settings.default_country,
            settings.dayfirst,
        )
        return service.long_texts(docs, settings)

    def model(settings: Settings, today: date) -> Model:
        from backoffice.adapters.local.model import HeuristicModel

        return HeuristicModel(
            lambda subject, text, sender: booking.heuristic_booking(
                subject,
                text,
                sender,
                default_country=settings.default_country,
                dayfirst=settings.dayfirst,
            )
        )

    return System(
        ar.SYSTEM,
        ar.SHEET_FILE,
        service.TABLES,
        tick,
        service.dispatch,
        lambda ports, settings: None,
        hourly=True,
        check=check,
        load_voice=service.load_voice,
        serve=handle_reply,
        intake=Intake(ar.COLUMNS, (), ("starts_at",), "", model),
        notes=notes,
    )


BUILT = {"expiry-watcher": expiry_watcher, "appointment-reminder": appointment_reminder}


def system_for(settings: Settings) -> System:
    from backoffice.cli.workspace import UserError

    if settings.system not in BUILT:
        raise UserError(f"{settings.system} is not built yet; available: {', '.join(BUILT)}")
    return BUILT[settings.system]()
