"""The social inbox's invariants, checked after every step of random interleavings of signed
webhooks (new messages, Meta's re-deliveries, the same text again, batches out of order),
ticks (the queue drained, the sweeper run), teammates going away and coming back, capacity
changes, threads closed, clock jumps and injected faults:

- no accepted message is lost: each is in a thread, still queued, or a dead letter;
- no thread twice for one message, and one open thread per customer at most;
- every load counter equals its teammate's open threads;
- after a tick nobody eligible is left while a thread of their team waits, and nobody away
  or off-hours took a thread;
- only what a teammate wrote goes to a customer (the model writes labels only);
- every placement and routing is audited.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from shop import HEADER, ROSTER, SG, Shop, messenger, whatsapp

from backoffice.adapters.fake.faults import InjectedFault
from backoffice.core import social_inbox as si
from backoffice.services import social_inbox as service
from backoffice.services.runtime import calendar_for

START = datetime(2026, 12, 3, 8, 30, tzinfo=SG)  # a Thursday
CUSTOMERS = ["c1", "c2", "c3", "6591234567"]
TEXTS = ["where is my order", "refund please", "URGENT charged twice", "hello", "tracking?"]
FAULTY = [("tables", "transact"), ("tables", "put"), ("tables", "get"), ("queue", "receive")]


class InboxMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.shop = Shop(START)
        self.accepted: dict[str, dict[str, Any]] = {}  # platform message id -> payload
        self.serial = 0
        self.statuses = {row.split(",")[0]: "active" for row in ROSTER}
        self.capacities: dict[str, int] = {}
        self.replied: list[str] = []  # what teammates wrote

    # --- the platforms -----------------------------------------------------------------------

    def _send(self, platform: str, payload: dict[str, Any], mids: list[str]) -> None:
        for _ in range(3):  # Meta retries what was not answered 200
            try:
                answer = self.shop.webhook(platform, payload)
            except InjectedFault:
                continue
            if answer.status == 200:
                for mid in mids:
                    self.accepted[mid] = payload
                return

    @rule(customer=st.sampled_from(CUSTOMERS), text=st.sampled_from(TEXTS))
    def a_customer_writes(self, customer: str, text: str) -> None:
        self.serial += 1
        mid = f"m{self.serial}"
        now = self.shop.clock.now()
        if customer.isdigit():
            self._send("whatsapp", whatsapp(customer, mid, text, now), [mid])
        else:
            self._send("facebook", messenger(customer, mid, text, now), [mid])

    @rule(customer=st.sampled_from(CUSTOMERS[:3]))
    def two_messages_arrive_out_of_order(self, customer: str) -> None:
        now = self.shop.clock.now()
        first, second = f"m{self.serial + 1}", f"m{self.serial + 2}"
        self.serial += 2
        late = messenger(customer, second, "and one more thing", now + timedelta(seconds=30))
        early = messenger(customer, first, "my order is late", now)
        late["entry"] += early["entry"]  # one payload, two entries, the later first
        self._send("facebook", late, [first, second])

    @precondition(lambda self: self.accepted)
    @rule(data=st.data())
    def meta_redelivers(self, data: st.DataObject) -> None:
        mid = data.draw(st.sampled_from(sorted(self.accepted)))
        payload = self.accepted[mid]
        platform = "whatsapp" if payload["object"] == "whatsapp_business_account" else "facebook"
        self._send(platform, payload, [])

    # --- the schedule and the team -----------------------------------------------------------

    @rule()
    def a_tick(self) -> None:
        """`tick`: the queue drained (a failed record stays queued), then the sweeper."""
        before = set(self.shop.tables.data["siu-assignments"])
        self.shop.drain()
        try:
            self.shop.tick()
        except InjectedFault:
            return
        finally:
            self._assigned_only_to_the_available(before)
        self._nobody_left_idle()

    def _assigned_only_to_the_available(self, before: set[Any]) -> None:
        now = self.shop.clock.now()
        docs = self._docs()
        holidays = calendar_for(self.shop.settings, now).holidays
        rows = self.shop.tables.data["siu-assignments"]
        for key in set(rows) - before:
            mate = docs.teammate(rows[key].get("assignee") or "")
            if rows[key].get("assignee") is not None:
                assert mate is not None and mate.status == "active", rows[key]
                assert mate.working(now, holidays), (rows[key], now)

    @rule(minutes=st.sampled_from([1, 5, 30, 90, 240, 600]))
    def time_passes(self, minutes: int) -> None:
        self.shop.clock.advance(timedelta(minutes=minutes))

    @rule(
        who=st.sampled_from(["mei", "ravi", "dev", "lena"]),
        status=st.sampled_from(["active", "away"]),
    )
    def a_teammate_changes_status(self, who: str, status: str) -> None:
        self.statuses[who] = status
        self._write_roster()

    @rule(who=st.sampled_from(["mei", "ravi", "dev"]), capacity=st.integers(0, 4))
    def a_capacity_changes(self, who: str, capacity: int) -> None:
        self.capacities[who] = capacity
        self._write_roster()

    def _write_roster(self) -> None:
        rows = list(csv.reader(io.StringIO("\n".join([HEADER, *ROSTER]))))
        for row in rows[1:]:
            row[6] = self.statuses[row[0]]
            row[7] = str(self.capacities.get(row[0], row[7]))
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        self.shop.blobs.objects["roster.csv"] = type(self.shop.blobs.objects["roster.csv"])(
            out.getvalue().encode(), str(self.serial)
        )

    @precondition(lambda self: self._open())
    @rule(data=st.data())
    def a_teammate_closes_a_thread(self, data: st.DataObject) -> None:
        thread = data.draw(st.sampled_from(self._open()))
        try:
            service.close(self.shop.ports, self.shop.settings, thread.thread_id, "mei")
        except InjectedFault:
            return

    def _session(self, who: str) -> Any:
        from backoffice.services.social_inbox.inbox import Session

        mate = self._docs().teammate(who)
        return Session(f"s-{who}", mate) if mate is not None else None

    @precondition(lambda self: self._open())
    @rule(
        data=st.data(),
        who=st.sampled_from(["mei", "ravi", "dev"]),
        to=st.sampled_from(["mei", "ravi", "dev", "lena"]),
    )
    def a_teammate_reassigns_or_takes(self, data: st.DataObject, who: str, to: str) -> None:
        from backoffice.services.social_inbox import inbox

        thread = data.draw(st.sampled_from(self._open()))
        session = self._session(who)
        if session is None:
            return
        try:
            if thread.queued:
                inbox.take(self.shop.ports, self.shop.settings, session, thread.thread_id)
            else:
                inbox.reassign_to(
                    self.shop.ports, self.shop.settings, session, thread.thread_id, to
                )
        except InjectedFault:
            return

    @precondition(lambda self: self._open())
    @rule(data=st.data(), text=st.sampled_from(["On its way.", "Refunded."]))
    def a_teammate_replies(self, data: st.DataObject, text: str) -> None:
        from backoffice.services.social_inbox import inbox

        thread = data.draw(st.sampled_from(self._open()))
        session = self._session("mei")
        if session is None:
            return
        self.replied.append(text)  # a teammate's words, whatever becomes of them
        with suppress(InjectedFault):
            inbox.reply(self.shop.ports, self.shop.settings, session, thread.thread_id, text)

    @rule(fault=st.sampled_from(FAULTY))
    def a_fault(self, fault: tuple[str, str]) -> None:
        port, method = fault
        getattr(self.shop, port).faults.fail_next(method)

    # --- invariants --------------------------------------------------------------------------

    def _threads(self) -> list[si.Thread]:
        rows = self.shop.tables.data["siu-threads"].values()  # past any waiting fault
        from backoffice.services.social_inbox.state import thread_from_row

        return [thread_from_row(r) for r in rows if r.get("kind") == "thread"]

    def _open(self) -> list[si.Thread]:
        return sorted((t for t in self._threads() if t.status == "open"), key=lambda t: t.thread_id)

    def _docs(self) -> Any:
        from backoffice.services.social_inbox.state import parsed_documents

        blobs = self.shop.blobs.objects
        rules = blobs["rules.toml"].body.decode()
        return parsed_documents(blobs["roster.csv"].body, rules, self.shop.settings.timezone)

    def _nobody_left_idle(self) -> None:
        now = self.shop.clock.now()
        docs = self._docs()
        holidays = calendar_for(self.shop.settings, now).holidays
        counts = self._counted()
        for thread in self._open():
            if thread.queued:
                free = si.eligible(thread.team, docs.roster, counts, now, holidays)
                assert not free, (thread.thread_id, [m.assignee for m in free])

    def _counted(self) -> dict[str, int]:
        return dict(Counter(t.assignee for t in self._open() if t.assignee))

    @invariant()
    def no_accepted_message_is_lost(self) -> None:
        held = {m.platform_message_id for t in self._threads() for m in t.messages}
        pending = {json.loads(b).get("platform_message_id") for b in self._pending()}
        for mid in self.accepted:
            assert mid in held or mid in pending or self._repeated(mid), mid

    def _pending(self) -> list[str]:
        queue = self.shop.queue
        return [m.body for m in queue._waiting.values()] + list(queue.dead)

    def _repeated(self, mid: str) -> bool:
        """The same text again within the window: linked to its thread, not kept twice."""
        row = self.shop.tables.data["siu-dedupe"].get((f"mid:facebook:{mid}", "seen"))
        row = row or self.shop.tables.data["siu-dedupe"].get((f"mid:whatsapp:{mid}", "seen"))
        return row is not None

    @invariant()
    def one_thread_per_message_and_one_open_thread_per_customer(self) -> None:
        mids = Counter(m.platform_message_id for t in self._threads() for m in t.messages)
        assert all(n == 1 for n in mids.values()), mids
        customers = Counter(t.customer_key for t in self._open())
        assert all(n == 1 for n in customers.values()), customers

    @invariant()
    def load_counters_equal_open_assignments(self) -> None:
        stored = {
            key[0]: row["open_threads"]
            for key, row in self.shop.tables.data["siu-loadcount"].items()
            if row["open_threads"]
        }
        assert stored == self._counted()

    @invariant()
    def only_teammates_words_reach_a_customer(self) -> None:
        """The model labels; what goes to a customer is what a teammate wrote, by the platform."""
        outgoing = [m.text for t in self._threads() for m in t.messages if m.direction == "out"]
        assert all(text in self.replied for text in outgoing), outgoing
        assert all(r.text in self.replied for r in self.shop.replies.sent)
        assert not [n for n in self.shop.chat.posted if n.to in CUSTOMERS]
        assert not [m for m in self.shop.mailer.sent if set(m.to) & set(CUSTOMERS)]

    @invariant()
    def every_placement_and_routing_is_audited(self) -> None:
        audited = {row["thread_id"] for row in self.shop.tables.data["siu-audit"].values()}
        assert {t.thread_id for t in self._threads()} <= audited
        routed = Counter(r["thread_id"] for r in self.shop.tables.data["siu-assignments"].values())
        acts = Counter(
            r["thread_id"]
            for r in self.shop.tables.data["siu-audit"].values()
            if r["action"] in ("assigned", "queued", "reassigned")
        )
        assert all(acts[t] >= n for t, n in routed.items()), (routed, acts)


InboxMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("MACHINE_EXAMPLES", "60")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestInboxMachine = InboxMachine.TestCase


def test_left_alone_every_message_ends_in_an_assigned_thread() -> None:
    machine = InboxMachine()
    machine.a_customer_writes("c1", "where is my order")
    machine.a_customer_writes("6591234567", "refund please")
    machine.two_messages_arrive_out_of_order("c2")
    machine.time_passes(90)
    machine.a_tick()
    threads = machine._threads()
    assert len(threads) == 3 and all(t.assignee for t in threads)
    [c2] = [t for t in threads if t.customer_id == "c2"]
    assert [m.text for m in c2.messages] == ["my order is late", "and one more thing"]
    machine.no_accepted_message_is_lost()
    machine.load_counters_equal_open_assignments()
