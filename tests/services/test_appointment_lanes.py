"""The appointment reminders' side lanes: the weekly staff summary, proposed appointments from
tagged calendar events (approve, edit, discard through signed links) and the week's facts."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import parse_qs, urlsplit

from attrs import evolve
from models import Scripted
from salon import SETTINGS, SG, Salon

from backoffice.adapters.local.model import NoModel
from backoffice.core import appointment_reminder as ar
from backoffice.core.appointment_reminder import summary as week
from backoffice.ports import Email
from backoffice.ports.calendar import CalendarEvent
from backoffice.services import appointment_reminder as service
from backoffice.services.appointment_reminder import replies, summary


def a_week_of_replies() -> Salon:
    """Mei confirms, Raj cancels, Ana says nothing (all in the week of 30 November)."""
    salon = Salon(
        [
            "A1,Mei,+6591234567,,2026-12-02 14:30",
            "A2,Raj,+6591234568,,2026-12-02 15:00",
            "A3,Ana,+6591234569,,2026-12-02 16:00",
        ],
        datetime(2026, 12, 1, 17, 0, tzinfo=SG),
    )
    salon.hour()
    for appt_id, label in (("A1", "Confirm"), ("A2", "Cancel")):
        link = next(text for to, text, _ in salon.sms.sent if text and appt_id in text)
        short = link.split(f"/ar/r/{appt_id}/")[1].split()[0]
        page = replies.reply_page(salon.ports, SETTINGS, appt_id, short)
        token = next(c.token for c in page.choices if c.label == label)
        assert replies.answer(salon.ports, SETTINGS, token, "", f"r-{appt_id}").status == 200
    salon.clock.set(datetime(2026, 12, 2, 23, 0, tzinfo=SG))
    salon.hour()
    salon.clock.set(datetime(2026, 12, 7, 8, 0, tzinfo=SG))  # Monday morning
    return salon


def test_the_weekly_summary_goes_to_the_staff_channel_and_the_owner_once() -> None:
    salon = a_week_of_replies()
    model = Scripted("Last week two customers answered: Mei confirmed and Raj cancelled early.")
    sent = summary(salon.ports, SETTINGS, model)
    assert sorted(d.to[0] for d in sent) == ["C0STAFF001", "owner@example.com"]
    [facts] = model.prompts
    assert "Week 2026-11-30 to 2026-12-06" in facts
    assert "confirmed               1" in facts and "cancelled (slot freed)  1" in facts
    assert "Went quiet (reminded, never answered):" in facts and "Ana" in facts.split("quiet")[1]
    assert "Mei" not in facts.split("quiet")[1]
    [mail] = [m for m in salon.mailer.sent if m.subject.startswith("Appointments: the week")]
    assert mail.text.startswith("Last week two customers") and "The facts behind it" in mail.text
    assert summary(salon.ports, SETTINGS, model) == []  # once per week and recipient
    assert salon.hour() == []  # the summary's rows are not reminders


def test_a_rehearsed_summary_asks_no_model_and_composes_once_for_every_recipient() -> None:
    salon = a_week_of_replies()
    rehearsal = evolve(salon.ports, rehearsal=True)
    unasked = Scripted()
    rehearsed = summary(rehearsal, SETTINGS, unasked)
    assert unasked.prompts == []
    assert sorted(d.to[0] for d in rehearsed) == ["C0STAFF001", "owner@example.com"]
    assert not any(m.subject.startswith("Appointments") for m in salon.mailer.sent)
    model = Scripted("Last week two customers answered: Mei confirmed and Raj cancelled early.")
    salon = a_week_of_replies()
    assert len(summary(salon.ports, SETTINGS, model)) == 2 and len(model.prompts) == 1


def test_without_a_model_the_summary_is_the_facts_saying_why() -> None:
    salon = a_week_of_replies()
    summary(salon.ports, SETTINGS, NoModel())
    [mail] = [m for m in salon.mailer.sent if m.subject.startswith("Appointments: the week")]
    assert mail.text.startswith("(The written summary is unavailable this week")


def test_week_facts_count_only_the_week_asked_for() -> None:
    mei = ar.Appointment("A1", "Mei", datetime(2026, 12, 2, 14, 30, tzinfo=SG), 2)
    sent = [
        week.Activity("A1", datetime(2026, 12, 1, 14, 0, tzinfo=SG), "first_reminder"),
        week.Activity("A1", datetime(2026, 11, 29, 14, 0, tzinfo=SG), "first_reminder"),
    ]
    facts = week.week_facts([mei], sent, [], date(2026, 11, 30), date(2026, 12, 6))
    assert "reminders sent          1" in facts and "Wed 2 Dec 14:30  Mei" in facts


EVENT = CalendarEvent(
    "ev1",
    "front-desk@example.com",
    "#appt Mei Tan - haircut",
    "Mei's number: 9123 4567, mail mei@example.com",
    "2026-12-03T10:00:00+08:00",
    "confirmed",
    "staff@example.com",
)


def links_in(mail: Email) -> dict[str, str]:
    return {link.label: parse_qs(urlsplit(link.url).query)["t"][0] for link in mail.links}


def test_a_tagged_event_is_proposed_once_and_approving_adds_the_row() -> None:
    salon = Salon([], datetime(2026, 12, 1, 9, 0, tzinfo=SG))
    assert salon.propose(EVENT)
    assert not salon.propose(EVENT)  # resynced: once
    [mail] = salon.mailer.sent
    assert mail.to == ("owner@example.com",) and mail.subject == "Proposed row: Mei Tan - haircut"
    assert "phone: +6591234567" in mail.text and "email: mei@example.com" in mail.text
    tokens = links_in(mail)
    page = salon.open(tokens["Approve"])
    assert page.status == 200 and "starts_at: 2026-12-03T10:00:00+08:00" in page.message
    done = salon.act(tokens["Approve"], "", "r1")
    assert done.accepted and done.message == (
        "Added Mei Tan - haircut to the sheet. "
        "The sheet has no column for staff, so that was left out."
    )
    assert salon.act(tokens["Discard"], "", "r2").status == 409
    sheet = service.load_documents(salon.blobs, SETTINGS)
    [appointment] = sheet.appointments
    assert appointment.starts_at == datetime(2026, 12, 3, 10, 0, tzinfo=SG)
    assert appointment.phone == "+6591234567" and appointment.appt_id.startswith("NEW-")
    audit = [(r["action"], r["appt_id"]) for r in salon.tables.scan(service.AUDIT.name)]
    assert audit == [("approve", appointment.appt_id), ("rejected", appointment.appt_id)]


def test_an_edit_corrects_the_proposal_and_a_reply_link_cannot_decide_it() -> None:
    salon = Salon([], datetime(2026, 12, 1, 9, 0, tzinfo=SG))
    allday = CalendarEvent("ev2", "cal", "#appt Raj", "", "2026-12-04", "confirmed")
    salon.propose(allday)
    [mail] = salon.mailer.sent
    assert "all day" in mail.text and "no phone number or email" in mail.text
    tokens = links_in(mail)
    form = salon.open(tokens["Edit"]).form
    assert form is not None and ("starts_at", "2026-12-04") in form.fields
    edits = {"starts_at": "2026-12-04 11:00", "phone": "+6591234568"}
    done = salon.act(tokens["Edit"], "", "r1", fields=edits)
    assert done.accepted
    [raj] = service.load_documents(salon.blobs, SETTINGS).appointments
    assert raj.starts_at == datetime(2026, 12, 4, 11, 0, tzinfo=SG)
    refused = replies.answer(salon.ports, SETTINGS, tokens["Discard"], "", "r2")
    assert refused.status == 409  # a proposal's link does not answer an appointment


def test_a_proposal_whose_notice_failed_is_told_by_the_next_delivery_and_only_once() -> None:
    import pytest

    from backoffice.adapters.fake.faults import InjectedFault

    salon = Salon([], datetime(2026, 12, 1, 9, 0, tzinfo=SG))
    salon.mailer.faults.fail_next("send")
    with pytest.raises(InjectedFault):
        salon.propose(EVENT)
    assert salon.mailer.sent == []  # stored, but nobody told yet: the platform retries
    assert salon.propose(EVENT)
    assert not salon.propose(EVENT)
    assert len(salon.mailer.sent) == 1
