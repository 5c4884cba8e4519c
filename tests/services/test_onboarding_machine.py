"""The onboarding guide's invariants, checked after every step of random interleavings of daily
runs, clock jumps (across the end of daylight saving time in New York), signups through the
webhook (repeated, and retried after a failure), done clicks, the owner's answers, bounces
(repeated), duplicate deliveries and injected faults."""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from saas import NY, RULES, Saas

from backoffice.adapters.fake.faults import InjectedFault
from backoffice.core import onboarding_guide as og
from backoffice.services import onboarding_guide as service
from backoffice.services.onboarding_guide.state import Reading, parsed_documents

START = datetime(2026, 10, 28, 7, 0, tzinfo=NY)  # New York clocks go back on 1 November
ROWS = [
    "c1,Ada,ada@example.com,starter,2026-10-27 16:00,founder@example.com,,",
    "c2,Kenji,kenji@example.jp,team,2026-10-28T09:00:00+09:00,U0OWNER001,Asia/Tokyo,",
    "c3,Chloe,chloe@example.fr,starter,2026-10-26,founder@example.com,Europe/Paris,",
]
SIGNUPS = [
    {"signup_id": "s1", "email": "sam@example.com", "name": "Sam", "plan": "team"},
    {
        "signup_id": "s2",
        "email": "lin@example.com",
        "name": "Lin",
        "plan": "starter",
        "timezone": "Asia/Singapore",
    },
]
FAULTY = [
    ("tables", "put"),
    ("tables", "get"),
    ("tables", "query"),
    ("blobs", "get"),
    ("blobs", "put"),
    ("mailer", "send"),
    ("chat", "post"),
    ("scheduler", "book"),
]
KEY = re.compile(r"^og:([^:]+):([^:]+):(step_due|nudge|flag)$")
PLANS = og.load_rules(RULES)
US_HOLIDAYS = holidays.country_holidays("US", years=range(2026, 2028))


class OnboardingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.saas = Saas(ROWS, START)
        self.seen: list[dict[str, Any]] = []
        self.stopped: dict[str, datetime] = {}  # customer -> paused, handed off or finished
        self.done: dict[tuple[str, str], datetime] = {}  # (customer, step) -> marked done
        self.enrolled: set[str] = set()
        self.answers = 0

    # --- the schedule ------------------------------------------------------------------------

    def _dispatch(self, detail: dict[str, Any]) -> None:
        """One delivery; the platform retries an invocation that failed."""
        for _ in range(2):
            try:
                service.dispatch(self.saas.ports, self.saas.settings, detail)
                return
            except InjectedFault:
                continue

    def _day(self) -> None:
        local = self.saas.clock.now().astimezone(NY)
        target = datetime.combine(local.date() + timedelta(days=1), local.time(), NY)
        nine = datetime.combine(target.date(), datetime.min.time(), NY).replace(hour=9)
        self._fire_until(nine)
        try:
            self.saas.tick()
        except InjectedFault:
            return  # the schedule runs again tomorrow
        events, self.saas.bus.events[:] = list(self.saas.bus.events), []
        for _, detail in events:
            self.seen.append(detail)
            self._dispatch(detail)

    def _fire_until(self, target: datetime) -> None:
        while True:
            booked = sorted(at for at, _ in self.saas.scheduler.booked.values())
            if not booked or booked[0] > target:
                break
            self.saas.clock.set(max(booked[0], self.saas.clock.now()))
            for _, payload in self.saas.scheduler.due(self.saas.clock.now()):
                self._dispatch(payload["move"])
        self.saas.clock.set(target)

    @rule(days=st.integers(1, 3))
    def days_pass(self, days: int) -> None:
        for _ in range(days):
            self._day()

    @rule(days=st.integers(2, 6))
    def clock_jumps(self, days: int) -> None:
        """The machine was off: the missed runs never happen; the next one catches up."""
        self.saas.clock.advance(timedelta(days=days))
        self._day()

    @precondition(lambda self: self.seen)
    @rule(data=st.data())
    def duplicate_delivery(self, data: st.DataObject) -> None:
        self._dispatch(data.draw(st.sampled_from(self.seen)))

    @rule(fault=st.sampled_from(FAULTY))
    def inject_fault(self, fault: tuple[str, str]) -> None:
        port, method = fault
        getattr(self.saas, port).faults.fail_next(method)

    # --- people ------------------------------------------------------------------------------

    @rule(which=st.sampled_from(SIGNUPS), twice=st.booleans())
    def a_signup_arrives(self, which: dict[str, str], twice: bool) -> None:
        now = self.saas.clock.now()
        body = {**which, "signed_up_at": (now - timedelta(hours=1)).isoformat()}
        for _ in range(2 if twice else 1):
            for _attempt in range(3):  # the product retries a failed call
                try:
                    answer = self.saas.enroll(body)
                except InjectedFault:
                    continue
                if answer.status == 200:
                    self.enrolled.add(which["signup_id"])
                    break

    @rule(data=st.data())
    def a_customer_clicks_done(self, data: st.DataObject) -> None:
        mails = [m for m in self.saas.mailer.sent if KEY.match(m.idempotency_key)]
        mails = [m for m in mails if not m.idempotency_key.endswith(":flag")]
        if not mails:
            return
        mail = data.draw(st.sampled_from(mails))
        customer, step, _ = KEY.match(mail.idempotency_key).groups()  # type: ignore[union-attr]
        [token] = _tokens(mail.text)
        result = self._answer(token, {})
        if result is not None and result.accepted:
            self.done.setdefault((customer, step), self.saas.clock.now())

    @rule(data=st.data(), action=st.sampled_from(["pause", "hand_off", "finish"]))
    def the_owner_answers_a_flag(self, data: st.DataObject, action: str) -> None:
        flags = [m for m in self.saas.mailer.sent if m.idempotency_key.endswith(":flag")]
        flags += [m for m in self.saas.chat.posted if m.idempotency_key.endswith(":flag")]  # type: ignore[misc]
        if not flags:
            return
        flag = data.draw(st.sampled_from(flags))
        links = getattr(flag, "links", None) or getattr(flag, "buttons", ())
        token = next(link.value for link in links if link.action == action)
        whom = data.draw(st.sampled_from(["U0BEN0001", "ben@example.com", "not someone"]))
        fields = {"note": "on holiday"} if action == "pause" else {"hand_off_to": whom}
        result = self._answer(token, fields if action != "finish" else {})
        if result is not None and result.accepted:
            customer = KEY.match(flag.idempotency_key).group(1)  # type: ignore[union-attr]
            self.stopped.setdefault(customer, self.saas.clock.now())

    @rule(customer=st.sampled_from(["c1", "c2", "c3"]), feedback=st.sampled_from(["f1", "f2"]))
    def an_address_bounces(self, customer: str, feedback: str) -> None:
        address = {"c1": "ada@example.com", "c2": "kenji@example.jp", "c3": "chloe@example.fr"}
        try:
            outcomes = self.saas.bounce(address[customer], feedback)
        except InjectedFault:
            return
        if any(o.outcome == "paused" for o in outcomes):
            self.stopped.setdefault(customer, self.saas.clock.now())

    def _answer(self, token: str, fields: dict[str, str]) -> Any:
        self.answers += 1
        request_id = f"r{self.answers}"
        try:
            if self.saas.open(token).status != 200:
                return None
            result = self.saas.act(token, request_id=request_id, fields=fields)
        except InjectedFault:
            return None
        audited = [r for r in self.saas.rows(service.AUDIT) if r["ts"].split("#")[1] == request_id]
        assert audited, f"the answer {request_id} was not audited"
        assert {"before", "after", "by_user"} <= set(audited[0])
        return result

    # --- invariants --------------------------------------------------------------------------

    def _documents(self) -> Any:
        """The documents as stored, read past any fault waiting in the blob store."""
        text = {name: blob.body for name, blob in self.saas.blobs.objects.items()}
        reading = Reading.of(self.saas.settings)
        rules, voice = text["rules.toml"].decode(), text["voice.toml"].decode()
        return parsed_documents(text["onboarding.csv"], rules, voice, reading)

    def _moves(self) -> list[tuple[datetime, str, str, str]]:
        found = []
        for at, key, _ in self.saas.delivered:
            match = KEY.match(key)
            if match:
                found.append((at, *match.groups()))
        return found

    @invariant()
    def each_message_at_most_once(self) -> None:
        counts = Counter(key for _, key, _ in self.saas.delivered if KEY.match(key))
        assert not [key for key, n in counts.items() if n > 1]

    @invariant()
    def steps_in_the_plans_order(self) -> None:
        docs = self._documents()
        for customer in docs.customers:
            order = [s.id for s in PLANS.plan(customer.plan).steps]
            sent = [
                step
                for _, c, step, kind in self._moves()
                if c == customer.customer_id and kind == "step_due"
            ]
            assert sent == sorted(sent, key=order.index), (customer.customer_id, sent)

    @invariant()
    def nothing_after_a_stop_or_a_done(self) -> None:
        for at, customer, step, kind in self._moves():
            if customer in self.stopped:
                assert at <= self.stopped[customer], (customer, step, kind)
            if kind != "step_due" and (customer, step) in self.done:
                assert at <= self.done[(customer, step)], (customer, step, kind)

    @invariant()
    def nothing_outside_business_time_in_the_customers_zone(self) -> None:
        docs = self._documents()
        zones = {c.customer_id: c.zone for c in docs.customers}
        for at, customer, step, kind in self._moves():
            local = at.astimezone(ZoneInfo(zones.get(customer, "America/New_York")))
            assert 8 <= local.hour < 20, (customer, step, kind, local)
            assert local.weekday() < 5 and local.date() not in US_HOLIDAYS, (customer, local)

    @invariant()
    def a_signup_is_one_row(self) -> None:
        body = self.saas.blobs.objects["onboarding.csv"].body.decode()
        rows = [row for row in csv.reader(io.StringIO(body)) if row][1:]
        ids = Counter(row[0] for row in rows)
        assert all(n == 1 for n in ids.values()), ids
        assert self.enrolled <= set(ids)


def _tokens(text: str) -> list[str]:
    from saas import LINK

    return LINK.findall(text)[-1:]


OnboardingMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("MACHINE_EXAMPLES", "60")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestOnboardingMachine = OnboardingMachine.TestCase
