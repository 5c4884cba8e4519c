"""A café's social posts on fake adapters (and the real CSV sheet over fake blobs): Singapore
time, a posting window of 08:00-20:00, Christmas blacked out, three channels, a daily tick at
07:00."""

from __future__ import annotations

import io
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from harness import Harness
from PIL import Image

from backoffice.core.settings import Settings, load_settings
from backoffice.services import social_scheduler as service
from backoffice.services.engine import Delivery

SG = ZoneInfo("Asia/Singapore")
SETTINGS = load_settings("""
system = "social-scheduler"
timezone = "Asia/Singapore"
tick_at = "07:00"
quiet_hours = "off"
business_days = "Mon-Sun"
admin = "owner@cafe.example"
dayfirst = false
public_url = "https://cafe.example"
mail_from = "posts@cafe.example"
digest_day = "off"
[secrets]
link_secret = "s"
webhook_secret = "hook-secret"
""")
RULES = """
[channels.facebook]
kind = "facebook-page"
endpoint = "https://graph.facebook.com/v21.0/PAGE/feed"
max_chars = 500
max_links = 1
image_types = ["image/jpeg", "image/png"]
max_image_mb = 4

[channels.instagram]
kind = "instagram"
endpoint = "https://graph.facebook.com/v21.0/IGUSER"
max_chars = 2200
max_links = 0
image_types = ["image/jpeg"]
max_image_mb = 8

[channels.site]
kind = "webhook"
endpoint = "https://cafe.example/hooks/posts"
max_chars = 1000

[posting]
window = "08:00-20:00"
blackout_days = ["2026-12-25"]
grace_minutes = 60
max_attempts = 3

[templates.friday-special]
schedule = "cron(0 9 ? * FRI *)"
lead_days = 3
text = "This Friday: {offer}"
channels = ["facebook"]
offer = "two croissants for the price of one"
"""
VOICE = '[tone]\ntext = "Warm, short, no exclamation marks."\n'
HEADER = "post_id,text,channels,image,publish_at,approved,template"
LINK = re.compile(r"https://cafe\.example/ss/review\?t=([\w\-.=]+)")


def picture(kind: str = "JPEG", size: tuple[int, int] = (640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, kind)
    return out.getvalue()


class Cafe(Harness):
    def __init__(
        self,
        rows: list[str],
        now: datetime,
        images: dict[str, bytes] | None = None,
        settings: Settings = SETTINGS,
        rules: str = RULES,
    ) -> None:
        sheet = "\n".join([HEADER, *rows]) + "\n"
        documents: dict[str, str | bytes] = {
            "posts.csv": sheet,
            "rules.toml": rules,
            "voice.toml": VOICE,
        }
        documents |= {f"images/{name}": body for name, body in (images or {}).items()}
        super().__init__(service.SYSTEM, settings, documents, now)

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

    def day(self) -> list[Delivery]:
        """Forward to the next 07:00, firing the one-offs due on the way, then the tick."""
        local = self.clock.now().astimezone(SG)
        target = datetime.combine(local.date(), time(7, 0), SG)
        if target <= local:
            target = datetime.combine(local.date() + timedelta(days=1), time(7, 0), SG)
        return self.until(target) + self.run()

    def review_tokens(self) -> list[str]:
        """The review cards' link tokens, oldest first (Approve, Hold, Send now each)."""
        urls = [b.url for mail in self.mailer.sent for b in mail.links]
        return [t for url in urls for t in LINK.findall(url)]

    def posted(self) -> list[tuple[str, str]]:
        return [(p.post_id, p.channel.name) for p in self.posting.published]

    def approved_cell(self, post_id: str) -> str:
        rows = self.sheet.read()
        header = rows[0]
        row = next(r for r in rows[1:] if r[0] == post_id)
        return row[header.index("approved")]
