"""The reply handler as a phone's browser uses it: the link from the text, then plain forms."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from salon import SETTINGS, SG, Salon

from backoffice.handlers.appointment_reminder import HTTP


def request(method: str, path: str, query: str = "", body: bytes = b"") -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {},
        "requestContext": {
            "http": {"method": method, "path": path},
            "requestId": f"req-{method}-{len(body)}",
        },
        "body": body.decode(),
        "isBase64Encoded": False,
    }


def test_text_link_page_then_reschedule_through_plain_forms() -> None:
    salon = Salon(
        ["A1,Mei,+6591234567,,2026-12-02 14:30"], datetime(2026, 12, 1, 14, 30, tzinfo=SG)
    )
    salon.hour()
    link = salon.sms.sent[-1][1].split("Reply: ")[1]
    path = "/" + link.split("/", 3)[3]
    page = HTTP.answer(request("GET", path), salon.ports, SETTINGS)
    assert page["statusCode"] == 200 and page["body"].count('<form method="post"') == 2
    slots_url = re.search(r'href="(/ar/answer\?t=[^"]+)"', page["body"]).group(1)  # type: ignore[union-attr]
    slots = HTTP.answer(
        request("GET", "/ar/answer", slots_url.split("?", 1)[1]), salon.ports, SETTINGS
    )
    assert slots["statusCode"] == 200 and "Thu 3 Dec 09:00" in slots["body"]
    token = re.search(r'name="t" value="([^"]+)"', slots["body"]).group(1)  # type: ignore[union-attr]
    form = urlencode({"t": token, "slot": "2026-12-03T09:00:00+08:00"}).encode()
    done = HTTP.answer(request("POST", "/ar/answer", body=form), salon.ports, SETTINGS)
    assert done["statusCode"] == 200 and "Moved to Thu 03 Dec at 09:00" in done["body"]
    assert HTTP.answer(request("GET", path), salon.ports, SETTINGS)["statusCode"] == 410


def test_unknown_paths_and_tampered_links() -> None:
    salon = Salon(
        ["A1,Mei,+6591234567,,2026-12-02 14:30"], datetime(2026, 12, 1, 14, 30, tzinfo=SG)
    )
    assert (
        HTTP.answer(request("GET", "/ar/r/A1/forged0000000000"), salon.ports, SETTINGS)[
            "statusCode"
        ]
        == 410
    )
    assert HTTP.answer(request("GET", "/elsewhere"), salon.ports, SETTINGS)["statusCode"] == 404
    bad = HTTP.answer(request("POST", "/ar/answer", body=b"t=nonsense"), salon.ports, SETTINGS)
    assert bad["statusCode"] == 400


def test_confirm_then_add_to_calendar_downloads_the_event() -> None:
    import base64

    salon = Salon(
        ["A1,Mei,+6591234567,,2026-12-02 14:30"], datetime(2026, 12, 1, 14, 30, tzinfo=SG)
    )
    salon.hour()
    path = "/" + salon.sms.sent[-1][1].split("Reply: ")[1].split("/", 3)[3]
    page = HTTP.answer(request("GET", path), salon.ports, SETTINGS)["body"]
    confirm = re.search(r'name="t" value="([^"]+)">\s*<button type="submit">Confirm', page)
    body = urlencode({"t": confirm.group(1)}).encode()  # type: ignore[union-attr]
    done = HTTP.answer(request("POST", "/ar/answer", body=body), salon.ports, SETTINGS)
    assert done["statusCode"] == 200 and "Add to calendar" in done["body"]
    ics_path = re.search(r'href="(/ar/ics/[^"]+)"', done["body"]).group(1)  # type: ignore[union-attr]
    download = HTTP.answer(request("GET", ics_path), salon.ports, SETTINGS)
    assert download["headers"]["content-type"].startswith("text/calendar")
    assert "attachment" in download["headers"]["content-disposition"]
    assert b"BEGIN:VEVENT" in base64.b64decode(download["body"])
    forged = HTTP.answer(request("GET", "/ar/ics/A1/forged"), salon.ports, SETTINGS)
    assert forged["statusCode"] == 410


def test_the_admin_decides_a_proposed_appointment_through_the_same_function() -> None:
    from backoffice.ports.calendar import CalendarEvent

    salon = Salon([], datetime(2026, 12, 1, 9, 0, tzinfo=SG))
    event = CalendarEvent(
        "ev1", "cal", "#appt Mei", "call 9123 4567", "2026-12-03T10:00:00+08:00", "confirmed"
    )
    salon.propose(event)
    url = next(link.url for link in salon.mailer.sent[0].links if link.label == "Approve")
    query = url.split("?", 1)[1]
    page = HTTP.answer(request("GET", "/ar/proposal", query), salon.ports, SETTINGS)
    assert page["statusCode"] == 200 and "Add to the sheet" in page["body"]
    token = query.removeprefix("t=")
    body = urlencode({"t": token}).encode()
    done = HTTP.answer(request("POST", "/ar/proposal", body=body), salon.ports, SETTINGS)
    assert done["statusCode"] == 200 and "Added Mei to the sheet" in done["body"]
    again = HTTP.answer(request("POST", "/ar/proposal", body=body), salon.ports, SETTINGS)
    assert again["statusCode"] == 409
    put = request("PUT", "/ar/proposal")
    assert HTTP.answer(put, salon.ports, SETTINGS)["statusCode"] == 405


def test_a_slot_taken_meanwhile_gives_a_page_of_the_times_still_free() -> None:
    salon = Salon(
        ["A1,Mei,+6591234567,,2026-12-02 14:30", "A2,Raj,+6591234568,,2026-12-03 09:00"],
        datetime(2026, 12, 1, 14, 30, tzinfo=SG),
    )
    salon.hour()
    link = next(t for _, t, _ in salon.sms.sent if "/ar/r/A1/" in t).split("Reply: ")[1]
    page = HTTP.answer(request("GET", "/" + link.split("/", 3)[3]), salon.ports, SETTINGS)
    slots_url = re.search(r'href="/ar/answer\?(t=[^"]+)"', page["body"]).group(1)  # type: ignore[union-attr]
    token = slots_url.removeprefix("t=")
    form = urlencode({"t": token, "slot": "2026-12-03T09:00:00+08:00"}).encode()
    taken = HTTP.answer(request("POST", "/ar/answer", body=form), salon.ports, SETTINGS)
    assert taken["statusCode"] == 409 and "That time was just taken" in taken["body"]
    assert 'value="2026-12-03T09:30:00+08:00"' in taken["body"]
    assert 'value="2026-12-03T09:00:00+08:00"' not in taken["body"]
    assert "2026-12-02 14:30" in salon.blobs.get("appointments.csv").body.decode()  # type: ignore[union-attr]


def test_an_admin_in_slack_approves_a_proposed_appointment_with_a_button() -> None:
    from slack_signing import slack_request

    from backoffice.core.settings import load_settings
    from backoffice.ports.calendar import CalendarEvent
    from backoffice.services import appointment_reminder as service

    settings = load_settings(
        'system = "appointment-reminder"\ntimezone = "Asia/Singapore"\nadmin = "U024BE7LH"\n'
        'default_country = "SG"\n[secrets]\nlink_secret = "s"\nslack_signing_secret = "sign"\n'
    )
    salon = Salon([], datetime(2026, 12, 1, 9, 0, tzinfo=SG))
    event = CalendarEvent("ev1", "cal", "#appt Mei", "9123 4567", "2026-12-03T10:00:00+08:00", "x")
    service.propose_from_event(service.SYSTEM, salon.ports, settings, event)
    [card] = salon.chat.posted
    assert card.to == "U024BE7LH" and [b.action for b in card.buttons] == [
        "approve",
        "edit",
        "discard",
    ]

    def click(action: str) -> dict[str, Any]:
        button = next(b for b in card.buttons if b.action == action)
        payload = {
            "type": "block_actions",
            "user": {"id": "U024BE7LH"},
            "trigger_id": "t1",
            "container": {"message_ts": "1.2", "channel_id": "D1"},
            "actions": [{"action_id": action, "value": button.value}],
        }
        return HTTP.answer(slack_request(salon.clock.now(), payload, "sign"), salon.ports, settings)

    forged = slack_request(salon.clock.now(), {"type": "block_actions"}, "wrong")
    assert HTTP.answer(forged, salon.ports, settings)["statusCode"] == 401
    assert click("approve")["statusCode"] == 200
    assert salon.chat.updates[-1][0] == "D1:1.2"
    assert salon.chat.updates[-1][1].startswith("Added Mei to the sheet.")
    click("discard")
    assert "already approved" in salon.chat.whispers[-1][2]
    [row] = service.load_documents(salon.blobs, settings).appointments
    assert row.customer_name == "Mei" and row.phone == "+6591234567"
    audit = [
        (r["action"], r["after"].get("values", {}).get("customer_name"))
        for r in salon.tables.scan(service.AUDIT.name)
    ]
    assert ("approve", "Mei") in audit
