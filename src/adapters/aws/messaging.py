"""Email through SES, and moves onto the EventBridge bus."""

from __future__ import annotations

import json
from collections.abc import Sequence
from email.utils import make_msgid
from typing import Any

from backoffice.core.text import printable
from backoffice.ports import Email, Event

PUT_EVENTS_BATCH = 10
PUT_EVENTS_TRIES = 4


class SesMailer:
    """SendRawEmail from one verified sender. With a configuration set, SES reports each
    message's bounces and complaints to that set's event destinations."""

    def __init__(
        self, client: Any, sender: str, domain: str = "backoffice", configuration_set: str = ""
    ) -> None:
        # The MIME builder (the email package's policy, headers and content managers) loads
        # with a mailer, not with the bus or the texts beside it in this module.
        from backoffice.adapters.mime import build_email

        self.client = client
        self.sender = sender
        self.domain = domain
        self.configuration_set = configuration_set
        self._build = build_email

    def send(self, email: Email) -> str:
        if not email.to:  # SES would take it and deliver it to nobody
            raise ValueError("an e-mail needs at least one recipient")
        raw = self._build(self.sender, email, make_msgid(domain=self.domain))
        extra = {"ConfigurationSetName": self.configuration_set} if self.configuration_set else {}
        response = self.client.send_raw_email(
            Source=self.sender, Destinations=list(email.to), RawMessage={"Data": raw}, **extra
        )
        return str(response["MessageId"])


class EventBridgeBus:
    """PutEvents in batches of ten; only the entries EventBridge refused are sent again."""

    def __init__(self, client: Any, bus_name: str, source: str) -> None:
        self.client = client
        self.bus_name = bus_name
        self.source = source

    def emit(self, events: Sequence[Event]) -> None:
        entries = [
            {
                "EventBusName": self.bus_name,
                "Source": self.source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, sort_keys=True),
            }
            for detail_type, detail in events
        ]
        for start in range(0, len(entries), PUT_EVENTS_BATCH):
            self._put(entries[start : start + PUT_EVENTS_BATCH])

    def _put(self, batch: list[dict[str, Any]]) -> None:
        for _ in range(PUT_EVENTS_TRIES):
            response = self.client.put_events(Entries=batch)
            if not response.get("FailedEntryCount"):
                return
            batch = [
                entry
                for entry, result in zip(batch, response["Entries"], strict=True)
                if result.get("ErrorCode")
            ]
        codes = sorted({r.get("ErrorCode", "") for r in response["Entries"] if r.get("ErrorCode")})
        raise RuntimeError(
            f"EventBridge refused {len(batch)} events after {PUT_EVENTS_TRIES} tries: {codes}"
        )


class SnsSms:
    """Text messages through SNS Publish: transactional, from the registered origination
    number. Numbers that opted out are checked first, so the caller can fall back to email."""

    def __init__(self, client: Any, origination_number: str, sender_id: str = "") -> None:
        self.client = client
        self.origination_number = origination_number
        self.sender_id = sender_id

    def send(self, to: str, text: str, idempotency_key: str) -> str:
        attributes = {
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
            "AWS.MM.SMS.OriginationNumber": {
                "DataType": "String",
                "StringValue": self.origination_number,
            },
        }
        if self.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {
                "DataType": "String",
                "StringValue": self.sender_id,
            }
        response = self.client.publish(
            PhoneNumber=to, Message=printable(text), MessageAttributes=attributes
        )
        return str(response["MessageId"])

    def opted_out(self, to: str) -> bool:
        response = self.client.check_if_phone_number_is_opted_out(phoneNumber=to)
        return bool(response["isOptedOut"])
