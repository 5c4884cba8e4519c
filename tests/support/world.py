"""An expiry watcher wired to fake adapters, its clock, sheet and bus in the test's hands."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from backoffice.adapters.fake import (
    FakeBlobs,
    FakeBus,
    FakeChat,
    FakeClock,
    FakeMailer,
    FakeScheduler,
    FakeSheet,
    FakeSms,
    FakeTables,
)
from backoffice.core.settings import Settings, load_settings
from backoffice.ports import ChatMessage, Email
from backoffice.services import expiry_watcher as service
from backoffice.services.runtime import Ports

NY = ZoneInfo("America/New_York")

SETTINGS_TOML = """
system = "expiry-watcher"
timezone = "America/New_York"
tick_at = "08:00"
quiet_hours = "20:00-08:00"
business_days = "Mon-Fri"
holidays = { country = "US", subdivision = "NY", extra = ["2026-12-24"] }
admin = "ops@example.com"
public_url = "https://links.example.com"
mail_from = "watcher@example.com"
digest_day = "{digest_day}"

[secrets]
link_secret = "test-link-secret-0123456789"
slack_signing_secret = "8f742231b10e8888abcd99yyyzzz85a5"
"""

RULES_TOML = """
[chains.default]
first_alert_days = 30
reminder_every_days = 7
max_reminders = 3
escalate_days = 7
escalate_to = "ops@example.com"

[chains.insurance]
first_alert_days = 60
reminder_every_days = 14
escalate_days = 14
"""

VOICE_TOML = """
[first_alert]
subject = "{item_name}: please renew by {act_by}"
body = "{item_name} expires on {expires_on}; act by {act_by} ({when})."

[reminder]
subject = "{overdue}Reminder {reminder_number}: {item_name}"
body = "{item_name} still expires on {expires_on}; act by {act_by}."

[escalate]
subject = "{overdue}Escalation: {item_name}"
body = "{item_name} (owner {owner}) is not renewed; act by {act_by}."
"""

Delivered = tuple[datetime, str, str]  # when, idempotency key, recipient
HEADER = ["item_id", "name", "expires_on", "owner", "category", "notice_days"]


def settings(digest_day: str = "off") -> Settings:
    return load_settings(SETTINGS_TOML.replace("{digest_day}", digest_day))


class SyncedSheet(FakeSheet):
    """The owner's sheet, mirrored into the blob store after every write (as drive-sync does)."""

    def __init__(self, rows: list[list[str]], blobs: FakeBlobs) -> None:
        super().__init__(rows)
        self._blobs = blobs
        self.mirror()

    def mirror(self) -> None:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(self.rows)
        self._blobs.put("registry.csv", out.getvalue().encode())

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

    def update(self, message_id: str, text: str) -> None:
        self.inner.update(message_id, text)

    def open_modal(self, trigger_id: str, view: dict[str, Any]) -> None:
        self.inner.open_modal(trigger_id, view)

    def whisper(self, channel: str, user: str, text: str) -> None:
        self.inner.whisper(channel, user, text)


class World:
    def __init__(self, rows: list[list[str]], start: datetime, digest_day: str = "off") -> None:
        self.settings = settings(digest_day)
        self.clock = FakeClock(start)
        self.tables = FakeTables(service.TABLES)
        self.blobs = FakeBlobs()
        self.blobs.put("rules.toml", RULES_TOML.encode())
        self.blobs.put("voice.toml", VOICE_TOML.encode())
        self.sheet = SyncedSheet([HEADER, *rows], self.blobs)
        self.scheduler = FakeScheduler()
        self.mailer = FakeMailer()
        self.chat = FakeChat()
        self.bus = FakeBus()
        self.sms = FakeSms()
        self.delivered: list[Delivered] = []
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
        )

    def tick(self) -> service.TickResult:
        return service.tick(self.ports, self.settings)

    def dispatch_events(self) -> list[service.Delivery]:
        events, self.bus.events[:] = list(self.bus.events), []
        return [service.dispatch(self.ports, self.settings, detail) for _, detail in events]

    def fire_due(self) -> list[service.Delivery]:
        due = self.scheduler.due(self.clock.now())
        return [service.dispatch(self.ports, self.settings, payload["move"]) for _, payload in due]

    def run_day(self) -> list[service.Delivery]:
        """Due one-offs, the tick, its moves and the weekly digest, as the schedule runs them."""
        delivered = self.fire_due()
        self.tick()
        delivered += self.dispatch_events()
        weekly = service.digest(self.ports, self.settings)
        return delivered + ([weekly] if weekly else [])

    def messages(self) -> list[tuple[str, str, str]]:
        """(key, to, subject or text) of everything delivered, in order."""
        mail = [(e.idempotency_key, e.to[0], e.subject) for e in self.mailer.sent]
        chat = [(m.idempotency_key, m.to, m.text) for m in self.chat.posted]
        return mail + chat

    def email(self, key: str) -> Email:
        return next(e for e in self.mailer.sent if e.idempotency_key == key)

    def links(self, key: str) -> dict[str, str]:
        """The tokens of the action links in the email sent under `key`."""
        email = self.email(key)
        tokens = {}
        for line in email.text.splitlines():
            label, _, url = line.strip().partition(": ")
            if "?t=" in url:
                tokens[label] = url.split("?t=", 1)[1]
        return tokens

    def rows(self, table: str) -> list[dict[str, Any]]:
        return self.tables.scan(table)
