"""Appointment reminders' invariants, checked after every step of random interleavings of hourly
ticks, clock jumps, customer replies (confirm, cancel, reschedule), bookings, cancels and moves
made in the sheet, duplicate deliveries and injected faults; once in Singapore and once for
appointments in New York across the end of daylight saving time."""

from __future__ import annotations

import os
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from salon import SETTINGS, SG, Salon

from backoffice.adapters.fake.faults import InjectedFault
from backoffice.core.business_time import is_quiet
from backoffice.services import appointment_reminder as service
from backoffice.services.appointment_reminder import replies

START = datetime(2026, 12, 1, 7, 0, tzinfo=SG)
HEADER = "appt_id,customer_name,phone,email,starts_at,timezone,status"
ROWS = [
    "A1,Mei,+6591234567,,2026-12-02 10:00,,",
    "A2,Raj,,raj@example.com,2026-12-01 09:30,,",  # booked late: only the latest window
    "A3,Ana,+6591234568,ana@example.com,2026-12-02 07:30,,",  # its reminders meet quiet hours
    "A4,Bob,+6591234569,,2026-12-03 18:00,,",
]
NY = "America/New_York"
DST_START = datetime(2026, 10, 31, 7, 0, tzinfo=SG)  # New York clocks go back on 1 November
DST_ROWS = [
    f"D1,Mei,+6591234567,,2026-11-01 10:00,{NY},",  # 24 h before spans the extra hour
    f"D2,Raj,,raj@example.com,2026-11-01 01:30,{NY},",  # a wall time that happens twice
    f"D3,Ana,+6591234568,,2026-11-02 09:00,{NY},",
    f"D4,Bob,+6591234569,,2026-10-31 22:00,{NY},",
]
FAULTY = [
    ("tables", "put"),
    ("tables", "get"),
    ("tables", "query"),
    ("sms", "send"),
    ("mailer", "send"),
    ("chat", "post"),
    ("scheduler", "book"),
]


class AppointmentMachine(RuleBasedStateMachine):
    start, rows, zone = START, ROWS, ""

    def __init__(self) -> None:
        super().__init__()
        self.salon = Salon(self.rows, self.start, HEADER)
        self.booked = 0
        self.delivered: list[tuple[datetime, str, str]] = []
        self._stamp_deliveries()
        self.cancelled: dict[str, datetime] = {}
        self.confirmed: dict[str, datetime] = {}
        self.moved: dict[str, datetime] = {}  # appointment -> when a customer last moved it
        self.seen: list[dict[str, Any]] = []
        self.requests = 0

    def _stamp_deliveries(self) -> None:
        salon, log = self.salon, self.delivered

        class Sms:
            def send(self, to: str, text: str, key: str) -> str:
                result = salon.sms.send(to, text, key)
                log.append((salon.clock.now(), key, "sms"))
                return result

            def opted_out(self, to: str) -> bool:
                return salon.sms.opted_out(to)

        class Mail:
            def send(self, email: Any) -> str:
                result = salon.mailer.send(email)
                log.append((salon.clock.now(), email.idempotency_key, "email"))
                return result

        class Chat:
            def post(self, message: Any) -> str:
                result = salon.chat.post(message)
                log.append((salon.clock.now(), message.idempotency_key, "chat"))
                return result

            def update(self, message_id: str, text: str) -> None:
                salon.chat.update(message_id, text)

            def open_modal(self, trigger_id: str, view: dict[str, Any]) -> None:
                salon.chat.open_modal(trigger_id, view)

            def whisper(self, channel: str, user: str, text: str) -> None:
                salon.chat.whisper(channel, user, text)

        from attrs import evolve

        salon.ports = evolve(salon.ports, sms=Sms(), mailer=Mail(), chat=Chat())

    def _guarded(self, step: Any) -> Any:
        try:
            return step()
        except InjectedFault:
            return None

    @rule(hours=st.sampled_from([1, 1, 1, 2, 5, 11]))
    def hours_pass(self, hours: int) -> None:
        for _ in range(hours):
            self.salon.clock.advance(timedelta(hours=1))
            moves = self._guarded(self._hour)
            if moves:
                self.seen += moves

    def _hour(self) -> list[dict[str, Any]]:
        due = [p["move"] for _, p in self.salon.scheduler.due(self.salon.clock.now())]
        service.tick(self.salon.ports, SETTINGS)
        events = [d for _, d in self.salon.bus.events]
        self.salon.bus.events.clear()
        for detail in (*due, *events):
            self._guarded(lambda d=detail: service.dispatch(self.salon.ports, SETTINGS, d))
        return events

    @precondition(lambda self: self.seen)
    @rule(data=st.data())
    def duplicate_delivery(self, data: st.DataObject) -> None:
        detail = data.draw(st.sampled_from(self.seen))
        self._guarded(lambda: service.dispatch(self.salon.ports, SETTINGS, detail))

    @rule(fault=st.sampled_from(FAULTY))
    def inject_fault(self, fault: tuple[str, str]) -> None:
        port, method = fault
        getattr(self.salon, port).faults.fail_next(method)

    @rule(data=st.data(), label=st.sampled_from(["Confirm", "Cancel", "Pick another time"]))
    def reply(self, data: st.DataObject, label: str) -> None:
        texts = [t for _, t, _ in self.salon.sms.sent if "/ar/r/" in t]
        if not texts:
            return
        link = data.draw(st.sampled_from(texts)).split("/ar/r/")[1].split()[0]
        appt_id, short = link.split("/")
        page = self._guarded(lambda: replies.reply_page(self.salon.ports, SETTINGS, appt_id, short))
        if page is None or page.status != 200:
            return
        token = next((c.token for c in page.choices if c.label == label), None)
        if token is None:  # the page offers only what is left: Confirm after a confirm is gone
            assert label == "Confirm" and page.title.startswith("You are confirmed")
            return
        slot = ""
        if label == "Pick another time":
            listing = self._guarded(lambda: replies.slots_page(self.salon.ports, SETTINGS, token))
            if listing is None or not listing.choices:
                return
            slot = data.draw(st.sampled_from(listing.choices)).value
        self.requests += 1
        audits = len(self.salon.tables.scan(service.AUDIT.name))
        current = _chain_of(self.salon, appt_id)
        if current is None:
            return
        chain = current["chain_id"]
        sheet = self.salon.blobs.get("appointments.csv")
        result = self._guarded(
            lambda: replies.answer(self.salon.ports, SETTINGS, token, slot, f"r{self.requests}")
        )
        tries, landed = 1, False
        if result is None:
            # It failed part-way and the link was given back: the customer taps again, and the
            # second try must finish what the first one started.
            for port, _ in FAULTY:
                getattr(self.salon, port).faults.clear()
            self.requests += 1
            tries = 2
            result = replies.answer(self.salon.ports, SETTINGS, token, slot, f"r{self.requests}")
            replied = {
                (r["chain_id"], r["reply"]) for r in self.salon.tables.scan(service.REPLIES.name)
            }
            # Landed, and only telling staff failed (a double fault: the admin too), or not.
            landed = (chain, _ACTIONS[label]) in replied
            if not landed and self.salon.blobs.get("appointments.csv") != sheet:
                assert result.status == 200, result.message  # the first try wrote the sheet
        audited = len(self.salon.tables.scan(service.AUDIT.name))
        assert audits + 1 <= audited <= audits + tries  # every reply audited
        if result.status == 200 or landed:
            now = self.salon.clock.now()
            if label == "Confirm":
                self.confirmed.setdefault(chain, now)
            else:
                self.cancelled.setdefault(chain, now)  # cancel, or the old chain of a move
            if label == "Pick another time":
                self.moved[appt_id] = now

    @rule(hours=st.integers(1, 60), half=st.booleans(), phone=st.booleans())
    def book(self, hours: int, half: bool, phone: bool) -> None:
        """A booking lands in the sheet at a random moment, for a random later time."""
        local = self.salon.clock.now().astimezone(ZoneInfo(self.zone or SETTINGS.timezone))
        when = (local + timedelta(hours=hours)).replace(minute=30 if half else 0)
        self.booked += 1
        row = {
            "appt_id": f"B{self.booked}",
            "customer_name": f"Guest {self.booked}",
            "phone": f"+659123{4570 + self.booked}" if phone else "",
            "email": "" if phone else f"guest{self.booked}@example.com",
            "starts_at": when.strftime("%Y-%m-%d %H:%M"),
            "timezone": self.zone,
        }
        self._guarded(lambda: self.salon.ports.sheet.append(row))

    @rule(data=st.data(), moved=st.booleans())
    def staff_edit_the_sheet(self, data: st.DataObject, moved: bool) -> None:
        """Staff cancel a row (status) or move it (starts_at) in the sheet: the old chain ends."""
        appointments = service.load_documents(self.salon.blobs, SETTINGS).appointments
        live = [a for a in appointments if not a.cancelled]
        if not live:
            return
        appointment = data.draw(st.sampled_from(live))
        later = appointment.starts_at + timedelta(days=1)
        column, value = (
            ("starts_at", f"{later:%Y-%m-%d %H:%M}") if moved else ("status", "cancelled")
        )
        self.salon.ports.sheet.update_cell(appointment.appt_id, column, value)
        self.cancelled.setdefault(appointment.chain_id, self.salon.clock.now())
        if moved:
            self.moved[appointment.appt_id] = self.salon.clock.now()

    @invariant()
    def each_window_at_most_once(self) -> None:
        keys = Counter(key for _, key, _ in self.delivered)
        assert not [key for key, n in keys.items() if n > 1]

    @invariant()
    def nothing_at_or_after_the_start_or_after_a_cancel(self) -> None:
        for when, key, _ in self.delivered:
            chain = _chain_from_key(key)
            if chain is None:
                continue
            assert when < datetime.fromisoformat(chain.split("@")[1]), key
            if chain in self.cancelled:
                assert when <= self.cancelled[chain], key

    @invariant()
    def no_second_reminder_or_gap_alert_after_confirm(self) -> None:
        for when, key, _ in self.delivered:
            chain = _chain_from_key(key)
            if chain in self.confirmed and key.endswith(("second_reminder", "gap_alert")):
                assert when <= self.confirmed[chain], key

    @invariant()
    def a_move_re_arms_exactly_one_new_chain(self) -> None:
        for appt_id, when in self.moved.items():
            chains = {
                _chain_from_key(key)
                for at, key, _ in self.delivered
                if at > when and key.startswith(f"ar:{appt_id}:") and _chain_from_key(key)
            }
            assert len(chains) <= 1, chains

    @invariant()
    def no_sms_in_quiet_hours(self) -> None:
        calendar = service.sms_calendar(SETTINGS, self.zone)  # the customers' own night
        for when, key, channel in self.delivered:
            if channel == "sms":
                assert not is_quiet(when, calendar), (when, key)


_ACTIONS = {"Confirm": "confirm", "Cancel": "cancel", "Pick another time": "reschedule"}


def _chain_from_key(key: str) -> str | None:
    parts = key.split(":")
    if len(parts) < 5 or parts[0] != "ar" or key.endswith(("notice", "failed")):
        return None
    return f"{parts[1]}@{':'.join(parts[2:-1])}"


def _chain_of(salon: Salon, appt_id: str) -> dict[str, str] | None:
    docs = service.load_documents(salon.blobs, SETTINGS)
    appointment = next((a for a in docs.appointments if a.appt_id == appt_id), None)
    return {"chain_id": appointment.chain_id} if appointment else None


AppointmentMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("MACHINE_EXAMPLES", "60")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestAppointmentMachine = AppointmentMachine.TestCase


class DstAppointmentMachine(AppointmentMachine):
    start, rows, zone = DST_START, DST_ROWS, NY


DstAppointmentMachine.TestCase.settings = AppointmentMachine.TestCase.settings
TestDstAppointmentMachine = DstAppointmentMachine.TestCase
