"""An appointment book wired to fake adapters (and the real CSV sheet over fake blobs)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from harness import Harness

from backoffice.core.settings import load_settings
from backoffice.services import appointment_reminder as service
from backoffice.services.engine import Delivery

SG = ZoneInfo("Asia/Singapore")
SETTINGS = load_settings("""
system = "appointment-reminder"
timezone = "Asia/Singapore"
admin = "owner@example.com"
default_country = "SG"
sms_quiet_hours = "21:00-08:00"
staff_channel = "C0STAFF001"
[secrets]
link_secret = "s"
""")
RULES = """
[services.default]
first_reminder_hours = 24
second_reminder_hours = 2
gap_alert_hours = 12
duration_min = 30
[booking]
open = "09:00-18:00"
days = "Mon-Sat"
"""
VOICE = """
[first_reminder]
sms = "Hi {customer_name}, see you {when}. Reply: {link}"
subject = "Your appointment {when}"
body = "Hi {customer_name}, see you {when}."
[second_reminder]
sms = "Soon: {when}."
subject = "Soon: {when}"
body = "Soon: {when}."
[gap_alert]
text = "Not confirmed: {customer_name} ({appt_id}) {when}."
"""


HEADER = "appt_id,customer_name,phone,email,starts_at"


class Salon(Harness):
    def __init__(self, rows: list[str], now: datetime, header: str = HEADER) -> None:
        sheet = header + "\n" + "\n".join(rows) + "\n"
        documents = {"appointments.csv": sheet, "rules.toml": RULES, "voice.toml": VOICE}
        super().__init__(service.SYSTEM, SETTINGS, documents, now)

    def hour(self) -> list[Delivery]:
        """One hourly run: the one-offs due, then the tick's moves."""
        due = [p["move"] for _, p in self.scheduler.due(self.clock.now())]
        service.tick(self.ports, SETTINGS)
        events = [d for _, d in self.bus.events]
        self.bus.events.clear()
        return [service.dispatch(self.ports, SETTINGS, d) for d in (*due, *events)]
