"""A shop's social inbox on fake adapters (the real CSV roster over fake blobs): Singapore
time, business hours 09:00-19:00 Mon-Sat, teams sales and support, and payloads in Meta's
shapes signed with the app secret."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from harness import Harness

from backoffice.cli.running import drain
from backoffice.core.settings import Settings, load_settings
from backoffice.services import social_inbox as service

SG = ZoneInfo("Asia/Singapore")
APP_SECRET = "meta-app-secret"
VERIFY_TOKEN = "verify-me"
SETTINGS = load_settings(f"""
system = "social-inbox"
timezone = "Asia/Singapore"
quiet_hours = "19:00-09:00"
business_days = "Mon-Sat"
admin = "owner@shop.example"
staff_channel = "C0SHOPTEAM1"
dayfirst = true
public_url = "https://shop.example"
mail_from = "inbox@shop.example"
[secrets]
link_secret = "s"
meta_app_secret = "{APP_SECRET}"
meta_verify_token = "{VERIFY_TOKEN}"
""")
RULES = """
urgent_words = ["urgent", "asap", "charged twice"]
dedupe_window_hours = 72
default_team = "support"

[topics.orders]
keywords = ["order", "delivery", "tracking"]
team = "sales"
backup = "dev"

[topics.billing]
keywords = ["refund", "invoice", "charged"]
team = "support"
backup = "mei"

[teams.sales]
channel = "C0SALES0001"

[teams.support]
channel = "C0SUPPORT01"

[sla]
urgent_minutes = 30
normal_minutes = 240
"""
HEADER = "assignee,name,contact,teams,timezone,working_hours,status,capacity,backup"
ROSTER = [
    'mei,Mei,mei@shop.example,"support, sales",Asia/Singapore,'
    '"Mon-Fri 09:00-12:00,13:00-18:00",active,3,ravi',
    "ravi,Ravi,U0RAVIKUMA1,support,Asia/Singapore,Mon-Sat 09:00-17:00,active,2,mei",
    "dev,Dev,dev@shop.example,sales,Asia/Singapore,Mon-Sun 00:00-24:00,active,5,",
    "lena,Lena,lena@shop.example,support,Asia/Singapore,Mon-Fri 09:00-17:00,away,4,",
]
PAGE, IG_USER, PHONE = "104000000000001", "17841400000000001", "106540352242922"


def messenger(
    sender: str, mid: str, text: str, at: datetime, platform: str = "facebook"
) -> dict[str, Any]:
    ms = int(at.timestamp() * 1000)
    recipient = PAGE if platform == "facebook" else IG_USER
    item = {
        "sender": {"id": sender},
        "recipient": {"id": recipient},
        "timestamp": ms,
        "message": {"mid": mid, "text": text},
    }
    kind = "page" if platform == "facebook" else "instagram"
    return {"object": kind, "entry": [{"id": recipient, "time": ms, "messaging": [item]}]}


def whatsapp(sender: str, wamid: str, text: str, at: datetime) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE},
        "contacts": [{"profile": {"name": "A Customer"}, "wa_id": sender}],
        "messages": [
            {
                "from": sender,
                "id": wamid,
                "timestamp": str(int(at.timestamp())),
                "text": {"body": text},
                "type": "text",
            }
        ],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def signed(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Shop(Harness):
    def __init__(
        self,
        now: datetime,
        roster: list[str] = ROSTER,
        settings: Settings = SETTINGS,
        rules: str = RULES,
    ) -> None:
        documents: dict[str, str | bytes] = {
            "roster.csv": "\n".join([HEADER, *roster]) + "\n",
            "rules.toml": rules,
        }
        super().__init__(service.SYSTEM, settings, documents, now)

    def webhook(
        self, platform: str, payload: dict[str, Any] | bytes, signature: str | None = None
    ) -> service.Answer:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        header = signed(body) if signature is None else signature
        return service.receive(self.ports, self.settings, platform, body, header)

    def drain(self) -> dict[str, int]:
        return drain(self.system, self.ports, self.settings)

    def threads(self) -> list[Any]:
        return sorted(service.all_threads(self.tables), key=lambda t: t.opened_at)

    def thread_of(self, customer: str) -> Any:
        return next(t for t in self.threads() if t.customer_id == customer)

    def loads(self) -> dict[str, int]:
        return service.loads(self.tables)

    def notices(self) -> list[Any]:
        return list(self.chat.posted)
