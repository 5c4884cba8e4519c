"""An expiry watcher wired to fake adapters, its clock, sheet and bus in the test's hands."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from harness import Harness, SyncedSheet

from backoffice.core.settings import Settings, load_settings
from backoffice.ports import Email
from backoffice.services import expiry_watcher as service
from backoffice.services.engine import Delivery

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

HEADER = ["item_id", "name", "expires_on", "owner", "category", "notice_days"]


def settings(digest_day: str = "off") -> Settings:
    return load_settings(SETTINGS_TOML.replace("{digest_day}", digest_day))


class World(Harness):
    def __init__(self, rows: list[list[str]], start: datetime, digest_day: str = "off") -> None:
        super().__init__(
            service.SYSTEM,
            settings(digest_day),
            {"rules.toml": RULES_TOML, "voice.toml": VOICE_TOML},
            start,
            lambda blobs, key: SyncedSheet([HEADER, *rows], blobs, key),
        )
        self.sheet: SyncedSheet

    def run_day(self) -> list[Delivery]:
        """Due one-offs, the tick, its moves and the weekly digest, as the schedule runs them."""
        return self.run()

    def messages(self) -> list[tuple[str, str, str]]:
        """(key, to, subject or text) of everything delivered, in order."""
        mail = [(e.idempotency_key, e.to[0], e.subject) for e in self.mailer.sent]
        chat = [(m.idempotency_key, m.to, m.text) for m in self.chat.posted]
        return mail + chat

    def email(self, key: str) -> Email:
        return next(e for e in self.mailer.sent if e.idempotency_key == key)

    def links(self, key: str) -> dict[str, str]:
        """The tokens of the action links in the email sent under `key`, by label."""
        return {link.label: link.url.split("?t=", 1)[1] for link in self.email(key).links}
