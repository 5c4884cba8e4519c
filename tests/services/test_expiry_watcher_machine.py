"""The expiry watcher's six invariants, checked after every step of random interleavings of ticks,
clock jumps (across the November DST change and the Christmas holidays), owner answers, duplicate
deliveries and injected faults at port calls."""

from __future__ import annotations

import os
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from world import NY, World

from backoffice.adapters.fake.faults import InjectedFault
from backoffice.core import expiry_watcher as ew
from backoffice.core.business_time import business_days_after, is_allowed, local_at, next_allowed
from backoffice.core.sheet import read_csv
from backoffice.services import expiry_watcher as service
from backoffice.services.runtime import calendar_for

START = datetime(2026, 10, 26, 8, 0, tzinfo=NY)  # a Monday, a week before DST ends
ITEMS = {
    "A": ("2026-11-20", "maria@example.com", ""),
    "B": ("2026-11-03", "dan@example.com", ""),  # added late: alert and escalation at once
    "C": ("2026-12-30", "U024BE7LH", ""),  # Slack owner, escalation over the holidays
    "D": ("2027-01-05", "sam@example.com", "insurance"),
}
FAULTY = [
    ("tables", "put"),
    ("tables", "put_many"),
    ("tables", "delete_many"),
    ("tables", "scan"),
    ("tables", "query"),
    ("tables", "get"),
    ("blobs", "get"),
    ("sheet", "update_cell"),
    ("mailer", "send"),
    ("chat", "post"),
    ("scheduler", "book"),
    ("bus", "emit"),
]


class ExpiryWatcherMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        rows = [[i, f"Item {i}", exp, owner, cat, ""] for i, (exp, owner, cat) in ITEMS.items()]
        self.world = World(rows, START)
        self.calendar = calendar_for(self.world.settings, START)
        self.delivered = self.world.delivered
        self.seen_events: list[dict[str, Any]] = []
        self.queue: list[dict[str, Any]] = []
        self.silenced: dict[str, tuple[datetime, date | None]] = {}  # chain -> (since, until)
        self.archived: dict[str, datetime] = {}
        self.first_seen_in_window: dict[str, datetime] = {}
        self.escalation_window_ticks: dict[str, datetime] = {}
        self.sent_count = 0
        self.requests = 0

    # --- steps ---------------------------------------------------------------------------------

    def _guarded(self, step: Any) -> Any:
        """A step that hits an injected fault fails like a Lambda invocation: nothing is lost,
        the platform (here: the next step) runs it again."""
        try:
            return step()
        except InjectedFault:
            return None

    @rule()
    def tick(self) -> None:
        now = self.world.clock.now()
        items = self._items()
        result = self._guarded(self.world.tick)
        new_events = list(self.world.bus.events)
        self.world.bus.events.clear()
        self.queue += [d for _, d in new_events]
        self.seen_events += [d for _, d in new_events]
        if result is None:
            return
        rules = ew.load_rules(self.world.blobs.objects["rules.toml"].body.decode())
        for it in items:
            chain = rules.chain_for(it.category)
            days = (it.act_by - now.date()).days
            if days <= chain.first_alert_days:
                self.first_seen_in_window.setdefault(it.chain_id, now)
            if days <= chain.escalate_days:
                self.escalation_window_ticks.setdefault(it.chain_id, now)

    @rule(data=st.data())
    def dispatch_some(self, data: st.DataObject) -> None:
        if not self.queue:
            return
        detail = self.queue.pop(data.draw(st.integers(0, len(self.queue) - 1)))
        if (
            self._guarded(lambda: service.dispatch(self.world.ports, self.world.settings, detail))
            is None
        ):
            self.queue.append(detail)  # the platform retries a failed invocation

    @precondition(lambda self: self.seen_events)
    @rule(data=st.data())
    def duplicate_delivery(self, data: st.DataObject) -> None:
        detail = data.draw(st.sampled_from(self.seen_events))
        self._guarded(lambda: service.dispatch(self.world.ports, self.world.settings, detail))

    @rule()
    def fire_schedules(self) -> None:
        due = self._guarded(lambda: self.world.scheduler.due(self.world.clock.now())) or []
        for _, payload in due:
            if (
                self._guarded(
                    lambda p=payload: service.dispatch(
                        self.world.ports, self.world.settings, p["move"]
                    )
                )
                is None
            ):
                # EventBridge Scheduler retries a failed target invocation itself; re-booking
                # here could hit a fault of its own, so the retry rides the invocation queue.
                self.queue.append(payload["move"])

    @rule()
    def a_normal_day(self) -> None:
        """The next morning's tick, run the way the schedule runs it."""
        tomorrow = self.world.clock.now().date() + timedelta(days=1)
        self.world.clock.set(local_at(tomorrow, self.world.settings.tick_at, NY))
        self.settle()

    @rule(hours=st.sampled_from([1, 3, 12, 24, 49, 72, 170]))
    def jump_clock(self, hours: int) -> None:
        self.world.clock.advance(timedelta(hours=hours))

    @rule(fault=st.sampled_from(FAULTY))
    def inject_fault(self, fault: tuple[str, str]) -> None:
        port, method = fault
        getattr(self.world, port).faults.fail_next(method)

    @rule(data=st.data(), kind=st.sampled_from(["ack_only", "snooze", "renew", "renew-bad"]))
    def answer_a_link(self, data: st.DataObject, kind: str) -> None:
        mails = [
            e
            for e in self.world.mailer.sent
            if e.idempotency_key.startswith("ew:") and not e.idempotency_key.endswith(":failed")
        ]
        if not mails:
            return
        email = data.draw(st.sampled_from(mails))
        label = {"ack_only": "Ack only", "snooze": "Snooze"}.get(kind, "Renew")
        token = self.world.links(email.idempotency_key)[label]
        today = self.world.clock.now().date()
        item = next(
            (i for i in self._items() if email.idempotency_key.startswith(f"ew:{i.item_id}:")), None
        )
        chosen = ""
        if kind == "snooze" and item is not None:
            chosen = min(today + timedelta(days=5), item.act_by).isoformat()
        elif kind == "renew" and item is not None:
            chosen = (item.expires_on + timedelta(days=365)).isoformat()
        elif kind == "renew-bad":
            chosen = "2000-01-01"
        self._check_answer(token, chosen)

    def _check_answer(self, token: str, chosen: str) -> None:
        """Invariant 6: one audit row per answer; a refused answer changes nothing else."""
        world = self.world
        self.requests += 1
        before = world.tables.snapshot()
        sheet_before = [list(r) for r in world.sheet.rows]
        result = self._guarded(lambda: world.act(token, chosen, f"req-{self.requests}"))
        tries = 1
        if result is None:
            tries = 2
            # The answer failed part-way and the link was given back: the person presses again,
            # and the second try must finish the job, not be refused as out of date.
            for port, _ in FAULTY:
                getattr(world, port).faults.clear()
            self.requests += 1
            result = world.act(token, chosen, f"req-{self.requests}")
            event(f"answer retried accepted={result.accepted}")
            if world.sheet.rows != sheet_before:
                assert result.accepted, result.message  # the first try reached the sheet
        after = world.tables.snapshot()
        event(f"answer accepted={result.accepted}")
        audit_before = len(before[service.AUDIT.name])
        # One row per try: a first try that failed part-way may have written its own.
        assert audit_before + 1 <= len(after[service.AUDIT.name]) <= audit_before + tries
        if not result.accepted:
            for table in (service.PINGS.name, service.ACKS.name, service.ARCHIVE.name):
                assert after[table] == before[table]
            assert world.sheet.rows == sheet_before
            return
        now = world.clock.now()
        [ack] = [
            row
            for key, row in after[service.ACKS.name].items()
            if key not in before[service.ACKS.name]
        ]
        if ack["action"] == "renew":
            self.archived[ack["chain_id"]] = now
        elif ack["action"] == "ack_only":
            self.silenced.setdefault(ack["chain_id"], (now, None))
        else:
            self.silenced.setdefault(
                ack["chain_id"] + "#snooze" + ack["ack_date"],
                (now, date.fromisoformat(ack["snooze_until"])),
            )

    @rule()
    def settle(self) -> None:
        """Run the system normally, without faults, until today's work is delivered."""
        for port, _ in FAULTY:
            getattr(self.world, port).faults.clear()
        started = self.world.clock.now()
        self.tick()
        while self.queue:
            service.dispatch(self.world.ports, self.world.settings, self.queue.pop(0))
        deadline = next_allowed(started, self.calendar)
        if deadline > started:
            self.world.clock.set(deadline)
        self.fire_schedules()
        self._check_timely(started)
        for _, key, _ in self.delivered:
            event(key.split(":")[3] if key.count(":") >= 3 else key)

    # --- invariants ----------------------------------------------------------------------------

    @invariant()
    def nothing_is_delivered_twice(self) -> None:  # 1
        keys = Counter(key for _, key, _ in self.delivered)
        assert not [key for key, n in keys.items() if n > 1]

    @invariant()
    def nothing_is_delivered_outside_business_time(self) -> None:  # 2
        for when, key, _ in self.delivered[self.sent_count :]:
            assert is_allowed(when, self.calendar), (when, key)
        self.sent_count = len(self.delivered)

    @invariant()
    def silenced_and_archived_chains_stay_quiet(self) -> None:  # 3
        for when, key, _ in self.delivered:
            chain = _chain_of(key)
            if chain is None:
                continue
            if chain in self.archived and when > self.archived[chain]:
                raise AssertionError(f"{key} delivered after its chain was renewed")
            if ":escalate" in key:
                continue
            for silenced, (since, until) in self.silenced.items():
                if (
                    silenced.split("#")[0] == chain
                    and when > since
                    and (until is None or when.date() < until)
                ):
                    raise AssertionError(f"owner message {key} while silenced")

    def _check_timely(self, ticked: datetime) -> None:  # 4 and 5
        """After a normal run: every chain in its first-alert window has its alert (within one
        business day when this run was the first to see it), and every chain that a run saw
        inside its escalation window early enough has its one escalation."""
        sent_at = {key: when for when, key, _ in self.delivered}
        silenced = {name.split("#")[0] for name in self.silenced}
        for chain, first in self.first_seen_in_window.items():
            key = _key(chain, "first_alert")
            # An answer from the escalation email can silence a chain before its first alert;
            # invariant 3 (no owner move after ack-only or inside a snooze) then wins.
            if chain in self.archived or chain in silenced or self._given_up(chain, "first_alert"):
                continue
            assert key in sent_at, f"{key} never delivered"
            if first == ticked:
                due_by = local_at(
                    business_days_after(first.date(), 1, self.calendar), time(23, 59), NY
                )
                assert sent_at[key] <= due_by, (key, sent_at[key], due_by)
        for chain, seen in self.escalation_window_ticks.items():
            act_by_end = local_at(date.fromisoformat(chain.split("@")[1]), time(23, 59), NY)
            if chain in self.archived or self._given_up(chain, "escalate"):
                continue
            assert _key(chain, "escalate") in sent_at, chain
            if seen == ticked and next_allowed(seen, self.calendar) <= act_by_end:
                assert sent_at[_key(chain, "escalate")] <= act_by_end

    def _given_up(self, chain: str, move: str) -> bool:
        """A send that failed three times was handed to the admin instead (checked elsewhere)."""
        item_id, expires_on = chain.split("@")
        row = self.world.tables.get(service.PINGS.name, item_id, f"{expires_on}#{move}")
        return row is not None and row["status"] == "failed"

    def _items(self) -> list[ew.Item]:
        """The registry as the test sees it, read past the fault injection."""
        text = self.world.blobs.objects["registry.csv"].body.decode()
        table, _ = read_csv(text, "registry.csv")
        return ew.parse_rows(table, dayfirst=False, admin="ops@example.com")[0]


def _chain_of(key: str) -> str | None:
    parts = key.split(":")
    if len(parts) < 4 or parts[0] != "ew" or parts[1] == "digest":
        return None
    return f"{parts[1]}@{parts[2]}"


def _key(chain: str, move: str) -> str:
    item_id, expires_on = chain.split("@")
    return f"ew:{item_id}:{expires_on}:{move}"


ExpiryWatcherMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("MACHINE_EXAMPLES", "80")),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestExpiryWatcherMachine = ExpiryWatcherMachine.TestCase
