"""A small software business's onboarding on fake adapters (and the real CSV sheet over fake
blobs): customers in New York, Tokyo and Paris, two plans, a daily run at 09:00."""

from __future__ import annotations

import json
import re
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from harness import Harness

from backoffice.core.settings import load_settings
from backoffice.services import onboarding_guide as service
from backoffice.services.engine import Delivery
from backoffice.services.onboarding_guide.enroll import Enrolled

NY = ZoneInfo("America/New_York")
WEBHOOK_SECRET = "hook-secret"
SETTINGS = load_settings(f"""
system = "onboarding-guide"
timezone = "America/New_York"
tick_at = "09:00"
quiet_hours = "20:00-08:00"
business_days = "Mon-Fri"
holidays = {{ country = "US" }}
admin = "founder@example.com"
dayfirst = false
public_url = "https://guide.example.com"
mail_from = "hello@example.com"
digest_day = "off"
[secrets]
link_secret = "s"
webhook_secret = "{WEBHOOK_SECRET}"
""")
RULES = """
[plans.default]
flag_after_days = 2
steps = [
  { id = "welcome", day = 0 },
  { id = "connect", day = 1, nudge_after_days = 2, personalize = true },
  { id = "invite-team", day = 3, nudge_after_days = 1 },
]
[plans.starter]
[plans.team]
flag_after_days = 1
steps = [
  { id = "welcome", day = 0, nudge_after_days = 1 },
  { id = "connect", day = 0, nudge_after_days = 1 },
  { id = "set-up-sso", day = 2, nudge_after_days = 2 },
]
"""
VOICE = """
[steps.welcome]
subject = "Welcome, {name}"
body = "Hi {name}, welcome. Done? {done_link}"
[steps.connect]
subject = "Connect a source"
body = "Hi {name}, connect a source. Done? {done_link}"
[steps.invite-team]
subject = "Invite your team"
body = "Invite them. Done? {done_link}"
[steps.set-up-sso]
subject = "Set up SSO"
body = "SSO. Done? {done_link}"
[nudge]
subject = "Reminder: {step}"
body = "Still to do: {step}. Done? {done_link}"
[flag]
text = "{name} is stuck on {step} after {days_since_signup} days."
"""
HEADER = "customer_id,name,email,plan,signed_up_at,owner,timezone,status"
LINK = re.compile(r"https://guide\.example\.com/og/answer\?t=([\w\-.=]+)")


class Saas(Harness):
    def __init__(self, rows: list[str], now: datetime) -> None:
        sheet = HEADER + "\n" + "\n".join(rows) + "\n"
        documents = {"onboarding.csv": sheet, "rules.toml": RULES, "voice.toml": VOICE}
        super().__init__(service.SYSTEM, SETTINGS, documents, now)

    def day(self) -> list[Delivery]:
        """Forward to the next 09:00 in New York, firing the one-offs due on the way, then the
        daily run."""
        local = self.clock.now().astimezone(NY)
        target = datetime.combine(local.date(), time(9, 0), NY)
        if target <= local:
            target = datetime.combine(local.date() + timedelta(days=1), time(9, 0), NY)
        delivered = self.until(target)
        return delivered + self.run()

    def until(self, target: datetime) -> list[Delivery]:
        """The one-offs due before `target`, each at its own time."""
        delivered: list[Delivery] = []
        while True:
            booked = sorted(at for at, _ in self.scheduler.booked.values())
            if not booked or booked[0] > target:
                break
            self.clock.set(max(booked[0], self.clock.now()))
            delivered += self.fire_due()
        self.clock.set(target)
        return delivered

    def enroll(self, body: dict[str, Any] | bytes, secret: str = WEBHOOK_SECRET) -> Enrolled:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return service.enroll(self.ports, self.settings, secret, raw)

    def done_tokens(self, to: str) -> list[str]:
        """The done-link tokens in the e-mails sent to `to`, oldest first."""
        return [t for mail in self.mailer.sent if mail.to == (to,) for t in LINK.findall(mail.text)]

    def bounce(self, address: str, feedback_id: str, kind: str = "Permanent") -> list[Any]:
        notification = {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": kind,
                "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": address}],
                "feedbackId": feedback_id,
            },
        }
        return service.bounced(self.ports, self.settings, notification)

    def sheet_rows(self) -> list[list[str]]:
        return self.sheet.read()
