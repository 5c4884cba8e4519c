"""Appointment reminders over fake adapters: SMS first, email with the appointment attached when
the number opted out, staff alerts in Slack, SMS quiet hours, and nothing after the start."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from salon import SETTINGS, SG, Salon

from backoffice.core.sms import sms_segments
from backoffice.services import appointment_reminder as service
from backoffice.services.appointment_reminder import replies


def test_a_reminder_by_sms_a_day_before_and_nothing_twice() -> None:
    salon = Salon(["A1,Mei,9123 4567,,2026-12-02 14:30"], datetime(2026, 12, 1, 14, 30, tzinfo=SG))
    [sent] = salon.hour()
    assert (sent.status, sent.kind) == ("sent", "first_reminder")
    [(to, text, key)] = salon.sms.sent
    assert (to, key) == ("+6591234567", "ar:A1:2026-12-02T14:30:00+08:00:first_reminder")
    assert text.startswith("Hi Mei, see you Wed 2 Dec at 14:30. Reply: ")
    assert "/ar/r/A1/" in text and sms_segments(text) == 1
    assert salon.hour() == []


def test_a_late_booking_gets_one_text_and_staff_hear_of_it() -> None:
    salon = Salon(
        ["A1,Mei,+6591234567,,2026-12-01 16:00"], datetime(2026, 12, 1, 14, 30, tzinfo=SG)
    )
    delivered = salon.hour()
    assert [(d.kind, d.status) for d in delivered] == [("second_reminder", "sent")]
    assert len(salon.sms.sent) == 1 and salon.sms.sent[0][1] == "Soon: Tue 1 Dec at 16:00."
    skipped = [r for r in salon.tables.scan(service.SENDS.name) if r["status"] == "skipped"]
    assert [r["window"] for r in skipped] == ["first_reminder"]
    assert salon.chat.posted == []  # the customer gets an hour to answer first
    salon.clock.advance(timedelta(hours=1))
    assert [(d.kind, d.status) for d in salon.hour()] == [("gap_alert", "sent")]
    [alert] = salon.chat.posted
    assert alert.to == "C0STAFF001" and "Not confirmed: Mei (A1)" in alert.text
    assert salon.hour() == []


def test_quiet_hours_defer_a_text_and_drop_one_that_would_arrive_too_late() -> None:
    night = datetime(2026, 12, 1, 22, 0, tzinfo=SG)
    salon = Salon(
        ["A1,Mei,+6591234567,,2026-12-02 11:00", "A2,Raj,+6591234568,,2026-12-02 08:00"], night
    )
    by_id = {d.subject: d for d in salon.hour() if d.kind != "gap_alert"}
    assert by_id["A1"].status == "deferred" and by_id["A1"].until == night.replace(
        hour=8
    ) + timedelta(days=1)
    assert by_id["A2"].status == "skipped"
    recorded = {
        (r["appt_id"], r["window"], r["status"]) for r in salon.tables.scan(service.SENDS.name)
    }
    assert ("A2", by_id["A2"].kind, "skipped") in recorded  # dropped, and recorded as skipped
    assert salon.sms.sent == []
    salon.clock.set(datetime(2026, 12, 2, 8, 0, tzinfo=SG))
    delivered = [(d.subject, d.kind, d.status) for d in salon.hour()]
    assert ("A1", "first_reminder", "sent") in delivered  # the booked one-off fired at 08:00
    assert all(to != "+6591234568" for to, _, _ in salon.sms.sent)


def test_an_opted_out_number_gets_email_with_the_appointment_attached() -> None:
    salon = Salon(
        ["A1,Mei,+6591234567,mei@example.com,2026-12-02 14:30"],
        datetime(2026, 12, 1, 14, 30, tzinfo=SG),
    )
    salon.sms.opted_out_numbers.add("+6591234567")
    salon.hour()
    [mail] = salon.mailer.sent
    assert mail.to == ("mei@example.com",) and mail.subject == "Your appointment Wed 2 Dec at 14:30"
    [attachment] = mail.attachments
    assert attachment.content_type == "text/calendar" and b"DTSTART" in attachment.body


def reply_page(salon: Salon) -> replies.ReplyPage:
    link = salon.sms.sent[-1][1].split("Reply: ")[1]
    appt_id, short = link.split("/ar/r/")[1].split("/")
    return replies.reply_page(salon.ports, SETTINGS, appt_id, short)


def choice(page: replies.ReplyPage, label: str) -> str:
    return next(c.token for c in page.choices if c.label == label)


def test_confirm_stops_the_second_reminder_and_the_link_works_once() -> None:
    salon = Salon(
        ["A1,Mei,+6591234567,,2026-12-02 14:30"], datetime(2026, 12, 1, 14, 30, tzinfo=SG)
    )
    salon.hour()
    page = reply_page(salon)
    assert page.status == 200 and [c.label for c in page.choices] == [
        "Confirm",
        "Pick another time",
        "Cancel",
    ]
    done = replies.answer(salon.ports, SETTINGS, choice(page, "Confirm"), "", "r1")
    assert done.status == 200 and "confirmed" in done.message
    again = replies.answer(salon.ports, SETTINGS, choice(page, "Confirm"), "", "r2")
    assert again.status == 409
    salon.clock.set(datetime(2026, 12, 2, 12, 30, tzinfo=SG))
    assert [d.kind for d in salon.hour() if d.status == "sent"] == []
    assert [a["action"] for a in salon.tables.scan(service.AUDIT.name)] == ["confirm", "rejected"]


def test_cancel_frees_the_slot_and_stops_everything() -> None:
    salon = Salon(
        ["A1,Mei,+6591234567,,2026-12-02 14:30"], datetime(2026, 12, 1, 14, 30, tzinfo=SG)
    )
    salon.hour()
    page = reply_page(salon)
    assert replies.answer(salon.ports, SETTINGS, choice(page, "Cancel"), "", "r1").status == 200
    assert "Slot freed" in salon.chat.posted[-1].text
    assert "add the column" in salon.chat.posted[-1].text  # this sheet has no status column
    salon.clock.set(datetime(2026, 12, 2, 12, 30, tzinfo=SG))
    assert salon.hour() == []
    assert reply_page(salon).status == 410


def test_reschedule_lists_free_slots_and_moves_the_appointment() -> None:
    salon = Salon(
        ["A1,Mei,+6591234567,,2026-12-02 14:30", "A2,Raj,+6591234568,,2026-12-03 09:00"],
        datetime(2026, 12, 1, 14, 30, tzinfo=SG),
    )
    salon.hour()
    token = choice(reply_page(salon), "Pick another time")
    slots = replies.slots_page(salon.ports, SETTINGS, token)
    times = [c.value for c in slots.choices]
    assert "2026-12-03T09:00:00+08:00" not in times and "2026-12-03T09:30:00+08:00" in times
    taken = replies.answer(salon.ports, SETTINGS, token, "2026-12-03T09:00:00+08:00", "r1")
    assert taken.status == 409 and "no longer free" in taken.message
    assert taken.title == "That time was just taken" and "still free" in taken.message
    offered = [c.value for c in taken.choices]
    assert "2026-12-03T09:30:00+08:00" in offered and "2026-12-03T09:00:00+08:00" not in offered
    assert {c.token for c in taken.choices} == {token}  # the same link, still usable
    moved = replies.answer(salon.ports, SETTINGS, token, "2026-12-03T09:30:00+08:00", "r2")
    assert moved.status == 200
    assert (
        "A1,Mei,+6591234567,,2026-12-03 09:30" in salon.blobs.get("appointments.csv").body.decode()
    )  # type: ignore[union-attr]
    salon.clock.set(datetime(2026, 12, 2, 9, 30, tzinfo=SG))
    [again] = [d for d in salon.hour() if d.subject == "A1"]
    assert again.key == "ar:A1:2026-12-03T09:30:00+08:00:first_reminder"  # a new chain


def test_the_pages_offer_the_appointment_for_the_calendar_and_only_as_it_is_now() -> None:
    salon = Salon(
        ["A1,Mei,+6591234567,,2026-12-02 14:30"], datetime(2026, 12, 1, 14, 30, tzinfo=SG)
    )
    salon.hour()
    page = reply_page(salon)
    appt_id, short = page.calendar_link.removeprefix(replies.CALENDAR_PATH + "/").split("/")
    ics = replies.calendar_file(salon.ports, SETTINGS, appt_id, short)
    assert ics is not None and b"DTSTART;TZID=Asia/Singapore:20261202T143000" in ics
    assert replies.calendar_file(salon.ports, SETTINGS, appt_id, short[:-1] + "x") is None
    token = choice(page, "Pick another time")
    moved = replies.answer(salon.ports, SETTINGS, token, "2026-12-03T10:00:00+08:00", "r1")
    new_id, new_short = moved.calendar_link.removeprefix(replies.CALENDAR_PATH + "/").split("/")
    new_ics = replies.calendar_file(salon.ports, SETTINGS, new_id, new_short)
    assert new_ics is not None and b"20261203T100000" in new_ics
    assert replies.calendar_file(salon.ports, SETTINGS, appt_id, short) is None  # the old time


def test_a_cancel_offers_nothing_for_the_calendar_and_a_bad_slot_is_refused_not_crashed() -> None:
    salon = Salon(
        ["A1,Mei,+6591234567,,2026-12-02 14:30"], datetime(2026, 12, 1, 14, 30, tzinfo=SG)
    )
    salon.hour()
    page = reply_page(salon)
    odd = replies.answer(salon.ports, SETTINGS, choice(page, "Pick another time"), "soon", "r0")
    assert odd.status == 409 and "no longer free" in odd.message
    cancelled = replies.answer(salon.ports, SETTINGS, choice(page, "Cancel"), "", "r1")
    assert cancelled.status == 200 and cancelled.calendar_link == ""


def test_a_deferred_text_is_dropped_when_the_sheet_cancels_or_moves_the_row_meanwhile() -> None:
    header = "appt_id,customer_name,phone,email,starts_at,status"
    rows = ["A1,Mei,+6591234567,,2026-12-02 21:30,", "A2,Raj,+6591234568,,2026-12-02 21:30,"]
    salon = Salon(rows, datetime(2026, 12, 1, 22, 0, tzinfo=SG), header)
    assert {d.status for d in salon.hour()} == {"deferred"}  # quiet hours until 08:00
    salon.ports.sheet.update_cell("A1", "status", "cancelled")
    salon.ports.sheet.update_cell("A2", "starts_at", "2026-12-09 10:00")
    salon.clock.set(datetime(2026, 12, 2, 8, 0, tzinfo=SG))
    assert {(d.subject, d.status) for d in salon.hour()} == {("A1", "dropped"), ("A2", "dropped")}
    assert salon.sms.sent == []


def test_quiet_hours_are_the_customers_own_for_an_appointment_in_another_timezone() -> None:
    header = "appt_id,customer_name,phone,email,starts_at,timezone"
    rows = ["L1,Liz,+447911123456,,2026-12-02 06:30,Europe/London"]
    # 15:00 in Singapore is 07:00 in London: the reminder waits for 08:00 London time.
    salon = Salon(rows, datetime(2026, 12, 1, 15, 0, tzinfo=SG), header)
    [first] = salon.hour()
    assert (first.kind, first.status) == ("first_reminder", "deferred")
    assert first.until == datetime(2026, 12, 1, 8, 0, tzinfo=ZoneInfo("Europe/London"))
    salon.clock.set(datetime(2026, 12, 1, 16, 0, tzinfo=SG))
    sent = [d.kind for d in salon.hour() if d.status == "sent"]
    assert sent == ["first_reminder"] and len(salon.sms.sent) == 1


def test_two_customers_picking_the_same_time_before_the_sheet_shows_it_get_it_once() -> None:
    salon = Salon(
        ["A1,Mei,+6591234567,,2026-12-02 14:30", "A2,Raj,+6591234568,,2026-12-02 15:00"],
        datetime(2026, 12, 1, 15, 0, tzinfo=SG),
    )
    salon.hour()
    tokens = {}
    for appt_id in ("A1", "A2"):
        link = next(t for _, t, _ in salon.sms.sent if f"/ar/r/{appt_id}/" in t)
        short = link.split(f"/ar/r/{appt_id}/")[1].split()[0]
        page = replies.reply_page(salon.ports, SETTINGS, appt_id, short)
        tokens[appt_id] = choice(page, "Pick another time")
    sheet = salon.blobs.get("appointments.csv")
    slot = "2026-12-03T11:00:00+08:00"
    assert replies.answer(salon.ports, SETTINGS, tokens["A1"], slot, "r1").status == 200
    salon.blobs.put("appointments.csv", sheet.body)  # type: ignore[union-attr]  # a lagging copy
    second = replies.answer(salon.ports, SETTINGS, tokens["A2"], slot, "r2")
    assert second.status == 409 and "no longer free" in second.message
    assert (
        replies.answer(
            salon.ports, SETTINGS, tokens["A2"], slot.replace("11:00", "11:30"), "r3"
        ).status
        == 200
    )


def test_a_text_that_cannot_be_sent_goes_by_email_when_there_is_one() -> None:
    salon = Salon(
        [
            "A1,Mei,+6591234567,mei@example.com,2026-12-02 14:30",
            "A2,Raj,+6591234568,,2026-12-02 14:30",
        ],
        datetime(2026, 12, 1, 14, 30, tzinfo=SG),
    )
    salon.sms.faults.fail_next("send")
    salon.sms.faults.fail_next("send")
    by_id = {d.subject: d for d in salon.hour()}
    assert by_id["A1"].status == "sent" and [m.to for m in salon.mailer.sent] == [
        ("mei@example.com",)
    ]
    assert by_id["A2"].status == "retry"  # no email to fall back to: tried again later


def test_a_cancel_that_failed_after_writing_the_sheet_is_finished_by_the_next_tap() -> None:
    import pytest

    from backoffice.adapters.fake.faults import InjectedFault

    header = "appt_id,customer_name,phone,email,starts_at,status"
    now = datetime(2026, 12, 1, 14, 30, tzinfo=SG)
    salon = Salon(["A1,Mei,+6591234567,,2026-12-02 14:30,"], now, header)
    salon.hour()
    token = choice(reply_page(salon), "Cancel")
    salon.tables.faults.fail_next("put_many")  # closing the old chain, after sheet and reply
    with pytest.raises(InjectedFault):
        replies.answer(salon.ports, SETTINGS, token, "", "r1")
    assert "2026-12-02 14:30,cancelled" in salon.blobs.get("appointments.csv").body.decode()  # type: ignore[union-attr]
    assert salon.chat.posted == []  # staff not told yet
    again = replies.answer(salon.ports, SETTINGS, token, "", "r2")
    assert again.status == 200 and "cancelled" in again.message
    [notice] = salon.chat.posted
    assert notice.text.startswith("Slot freed: Mei cancelled A1") and notice.title == ""
    archived = {r["chain_id"] for r in salon.tables.scan(service.ARCHIVE.name)}
    assert archived == {"A1@2026-12-02T14:30:00+08:00"}
    assert [a["action"] for a in salon.tables.scan(service.AUDIT.name)] == ["cancel"]


def test_when_staff_cannot_be_told_the_admin_is() -> None:
    salon = Salon(
        ["A1,Mei,+6591234567,,2026-12-02 14:30"], datetime(2026, 12, 1, 14, 30, tzinfo=SG)
    )
    salon.hour()
    salon.chat.faults.fail_next("post")
    done = replies.answer(salon.ports, SETTINGS, choice(reply_page(salon), "Cancel"), "", "r1")
    assert done.status == 200
    [mail] = salon.mailer.sent
    assert mail.to == ("owner@example.com",) and mail.subject.startswith("Staff could not be told")


def test_a_spent_or_tampered_answer_changes_nothing_but_the_audit_trail() -> None:
    salon = Salon(
        ["A1,Mei,+6591234567,,2026-12-02 14:30"], datetime(2026, 12, 1, 14, 30, tzinfo=SG)
    )
    salon.hour()
    token = choice(reply_page(salon), "Cancel")
    tables_before = salon.tables.snapshot()
    sheet_before = salon.blobs.get("appointments.csv")
    for tampered in (token[:-2] + ("xx" if not token.endswith("xx") else "yy"), "nonsense", ""):
        refused = replies.answer(salon.ports, SETTINGS, tampered, "", f"r-{tampered[:4]}")
        assert refused.status == 400
    # Not ours: turned away without a trace (junk must not grow the audit table).
    assert salon.tables.snapshot() == tables_before
    assert salon.blobs.get("appointments.csv") == sheet_before and salon.chat.posted == []
    assert replies.answer(salon.ports, SETTINGS, token, "", "r1").status == 200
    audited = len(salon.tables.scan(service.AUDIT.name))
    after = salon.tables.snapshot()
    assert replies.answer(salon.ports, SETTINGS, token, "", "r2").status == 409  # spent
    audit = salon.tables.scan(service.AUDIT.name)
    assert len(audit) == audited + 1 and audit[-1]["action"] == "rejected"
    assert {k: v for k, v in salon.tables.snapshot().items() if k != service.AUDIT.name} == {
        k: v for k, v in after.items() if k != service.AUDIT.name
    }


def test_a_deferred_first_reminder_overtaken_by_the_second_is_skipped_not_sent_with_it() -> None:
    night = datetime(2026, 12, 1, 22, 0, tzinfo=SG)  # inside the SMS quiet hours
    salon = Salon(["A1,Mei,+6591234567,,2026-12-02 09:30"], night)
    [first] = [d for d in salon.hour() if d.kind == "first_reminder"]
    assert first.status == "deferred" and first.until == datetime(2026, 12, 2, 8, 0, tzinfo=SG)
    salon.clock.set(datetime(2026, 12, 2, 8, 0, tzinfo=SG))  # the second's window is open too
    at_eight = {d.kind: d.status for d in salon.hour()}
    assert at_eight["first_reminder"] == "skipped" and at_eight["second_reminder"] == "sent"
    assert [text for _, text, _ in salon.sms.sent] == ["Soon: Wed 2 Dec at 09:30."]


def test_after_confirm_the_page_shows_the_answer_and_only_what_is_left_to_do() -> None:
    salon = Salon(
        ["A1,Mei,+6591234567,,2026-12-02 14:30"], datetime(2026, 12, 1, 14, 30, tzinfo=SG)
    )
    salon.hour()
    before = reply_page(salon)
    assert [c.action for c in before.choices] == ["confirm", "reschedule", "cancel"]
    assert replies.answer(salon.ports, SETTINGS, choice(before, "Confirm"), "", "r1").status == 200
    after = reply_page(salon)
    assert after.title == "You are confirmed for Wed 2 Dec at 14:30"
    assert [c.action for c in after.choices] == ["reschedule", "cancel"]
