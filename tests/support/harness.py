"""One test harness for every system, built from its description: fake ports (the clock, sheet,
bus and scheduler in the test's hands), the documents in blob storage, and the schedule's runs."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from typing import Any

from backoffice.adapters.csv_sheet import CsvSheet
from backoffice.adapters.fake import (
    FakeBlobs,
    FakeBus,
    FakeChat,
    FakeClock,
    FakeMailer,
    FakePosting,
    FakeQueue,
    FakeReplies,
    FakeScheduler,
    FakeSheet,
    FakeSms,
    FakeTables,
)
from backoffice.adapters.images import BlobRenderCache, PillowImages
from backoffice.core.settings import Settings
from backoffice.ports import ChatMessage, Email, Ports, Sheet, TableSchema
from backoffice.ports.calendar import CalendarEvent
from backoffice.services.engine import Delivery
from backoffice.services.links import ActionResult, LinkAnswer, LinkPage, action_of
from backoffice.services.system import Links, System

Delivered = tuple[datetime, str, str]  # when, idempotency key, recipient


class SyncedSheet(FakeSheet):
    """The owner's sheet, mirrored into the blob store after every write (as drive-sync does)."""

    def __init__(self, rows: list[list[str]], blobs: FakeBlobs, key: str) -> None:
        super().__init__(rows)
        self._blobs, self._key = blobs, key
        self.mirror()

    def mirror(self) -> None:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(self.rows)
        self._blobs.put(self._key, out.getvalue().encode())

    def update_cell(self, row_id: str, column: str, value: str) -> None:
        super().update_cell(row_id, column, value)
        self.mirror()

    def append(self, values: dict[str, str]) -> None:
        super().append(values)
        self.mirror()


class StampedMailer:
    """Hands email to the fake and notes the clock at each delivery."""

    def __init__(self, inner: FakeMailer, clock: FakeClock, log: list[Delivered]) -> None:
        self.inner, self.clock, self.log = inner, clock, log

    def send(self, email: Email) -> str:
        result = self.inner.send(email)
        self.log.append((self.clock.now(), email.idempotency_key, email.to[0]))
        return result


class StampedChat:
    def __init__(self, inner: FakeChat, clock: FakeClock, log: list[Delivered]) -> None:
        self.inner, self.clock, self.log = inner, clock, log

    def post(self, message: ChatMessage) -> str:
        result = self.inner.post(message)
        self.log.append((self.clock.now(), message.idempotency_key, message.to))
        return result

    def update(self, message_id: str, text: str, by: str = "") -> None:
        self.inner.update(message_id, text, by)

    def open_modal(self, trigger_id: str, view: dict[str, Any]) -> None:
        self.inner.open_modal(trigger_id, view)

    def whisper(self, channel: str, user: str, text: str) -> None:
        self.inner.whisper(channel, user, text)


SheetFactory = Callable[[FakeBlobs, str], Sheet]


def csv_sheet(blobs: FakeBlobs, key: str) -> Sheet:
    return CsvSheet(blobs, key)


class Harness:
    """A system on fake adapters. `documents` maps file names (the sheet, rules.toml,
    voice.toml) to their text; the sheet is the CSV file in blob storage unless `sheet` says
    otherwise."""

    def __init__(
        self,
        system: System,
        settings: Settings,
        documents: dict[str, str | bytes],
        start: datetime,
        sheet: SheetFactory = csv_sheet,
    ) -> None:
        self.system, self.settings = system, settings
        self.clock = FakeClock(start)
        self.tables = FakeTables(system.storage.all)
        self.blobs = FakeBlobs()
        for name, text in documents.items():
            self.blobs.put(name, text if isinstance(text, bytes) else text.encode())
        self.sheet = sheet(self.blobs, system.sheet.file)
        self.scheduler, self.bus = FakeScheduler(), FakeBus()
        self.mailer, self.chat, self.sms = FakeMailer(), FakeChat(), FakeSms()
        self.delivered: list[Delivered] = []
        self.posting = FakePosting()
        self.queue = FakeQueue(clock=self.clock)
        self.replies = FakeReplies()
        self.ports = Ports(
            clock=self.clock,
            tables=self.tables,
            blobs=self.blobs,
            sheet=self.sheet,
            scheduler=self.scheduler,
            mailer=StampedMailer(self.mailer, self.clock, self.delivered),
            chat=StampedChat(self.chat, self.clock, self.delivered),
            bus=self.bus,
            sms=self.sms,
            posting=self.posting,
            images=PillowImages(BlobRenderCache(self.blobs, settings.public_url)),
            queue=self.queue,
            replies=self.replies,
        )

    def tick(self) -> Any:
        return self.system.tick(self.ports, self.settings)

    def dispatch_events(self) -> list[Delivery]:
        events, self.bus.events[:] = list(self.bus.events), []
        return [self.system.dispatch(self.ports, self.settings, d) for _, d in events]

    def fire_due(self) -> list[Delivery]:
        due = self.scheduler.due(self.clock.now())
        return [self.system.dispatch(self.ports, self.settings, p["move"]) for _, p in due]

    def run(self) -> list[Delivery]:
        """Due one-offs, the tick, its moves and the reports, as the schedule runs them."""
        delivered = self.fire_due()
        self.tick()
        delivered += self.dispatch_events()
        return delivered + list(self.system.reports(self.ports, self.settings))

    def open(self, token: str) -> LinkPage:
        """GET on a link: its confirmation page."""
        return self._links(token).open(self.system, self.ports, self.settings, token)

    def act(
        self,
        token: str,
        value: str = "",
        request_id: str = "req",
        fields: dict[str, str] | None = None,
        by: str = "",
    ) -> ActionResult:
        """POST from a link's page (or a Slack button, with `by`)."""
        answer = LinkAnswer(token, request_id, value, fields or {}, by)
        return self._links(token).act(self.system, self.ports, self.settings, answer)

    def propose(self, event: CalendarEvent) -> bool:
        """A calendar event carrying the system's tag."""
        lane = self.system.intake.calendar
        assert lane is not None, f"{self.system.name} reads no calendar"
        return lane.propose(self.system, self.ports, self.settings, event)

    def _links(self, token: str) -> Links:
        action = action_of(self.settings.secret("link_secret"), token) or ""
        return self.system.offering(action) or self.system.link_sets[0]

    def rows(self, table: TableSchema | str) -> list[dict[str, Any]]:
        return self.tables.scan(table if isinstance(table, str) else table.name)
