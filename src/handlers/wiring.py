"""The composition root: which adapters serve the ports, chosen once per process.

`BACKOFFICE_BACKEND=local` (with `BACKOFFICE_WORKSPACE`) selects the embedded backend; the CLI
builds its ports here too, so the CLI and the Lambda handlers run the same services.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from attrs import frozen

from backoffice.core.settings import SETTINGS_FILE, Settings, load_settings
from backoffice.ports import TableSchema
from backoffice.services.runtime import Ports

EventSink = Callable[[str, dict[str, Any]], None]


@frozen
class FixedClock:
    """The clock of a run told what time it is (`tick --now`)."""

    at: datetime

    def now(self) -> datetime:
        return self.at


def read_settings(workspace: Path) -> Settings:
    path = workspace / SETTINGS_FILE
    return load_settings(path.read_text(encoding="utf-8-sig"), SETTINGS_FILE)


def local_ports(
    workspace: Path,
    settings: Settings,
    tables: tuple[TableSchema, ...],
    sheet_file: str,
    on_event: EventSink,
    now: datetime | None = None,
) -> Ports:
    """The embedded backend over a workspace folder: SQLite state, files, an outbox folder."""
    from backoffice.adapters.csv_sheet import CsvSheet
    from backoffice.adapters.local.outbox import OutboxChat, OutboxMailer
    from backoffice.adapters.local.scheduling import InlineBus, LocalScheduler, SystemClock
    from backoffice.adapters.local.storage import FolderBlobs
    from backoffice.adapters.local.tables import SqliteTables

    database = workspace / "state.db"
    outbox = workspace / "outbox"
    return Ports(
        clock=SystemClock() if now is None else FixedClock(now),
        tables=SqliteTables(database, tables),
        blobs=FolderBlobs(workspace),
        sheet=CsvSheet(FolderBlobs(workspace), sheet_file),
        scheduler=LocalScheduler(database),
        mailer=OutboxMailer(outbox, sender=settings.mail_from or settings.admin),
        chat=OutboxChat(outbox),
        bus=InlineBus(on_event),
    )


@cache
def expiry_watcher() -> tuple[Ports, Settings]:
    """Ports for the expiry watcher's handlers in this execution environment, built on first use."""
    from backoffice.services.expiry_watcher import TABLES

    backend = os.environ.get("BACKOFFICE_BACKEND", "local")
    if backend != "local":
        raise RuntimeError(f"BACKOFFICE_BACKEND={backend!r} is not supported; use 'local'")
    workspace = Path(os.environ.get("BACKOFFICE_WORKSPACE", "."))
    settings = read_settings(workspace)
    return local_ports(workspace, settings, TABLES, "registry.csv", no_events), settings


def no_events(detail_type: str, detail: dict[str, Any]) -> None:
    raise RuntimeError(f"this handler cannot emit {detail_type!r}: it has no bus")
