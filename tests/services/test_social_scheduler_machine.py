"""The social scheduler's invariants, checked after every step of random interleavings of daily
ticks, extra ticks (cron every few minutes), clock jumps across the end of daylight saving time
in New York, the owner's approve / hold / send now racing the one-offs, the flag ticked and
unticked by hand, moved minutes, channel failures, refused tokens and reconnects, duplicate
deliveries and injected faults:

- nothing is posted unless the sheet's approved flag is set at that moment;
- no channel is posted to twice for one post;
- nothing is posted outside the posting window or on a blackout day;
- failures are retried a bounded number of times;
- every answer is audited.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from attrs import evolve
from cafe import RULES, SETTINGS, Cafe
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from backoffice.adapters.fake import FakePosting
from backoffice.adapters.fake.faults import InjectedFault
from backoffice.core import social_scheduler as ss
from backoffice.ports import Posted, PostRefused, Publication, TokenRejected
from backoffice.services import social_scheduler as service

NY = ZoneInfo("America/New_York")
START = datetime(2026, 10, 30, 7, 0, tzinfo=NY)  # New York clocks go back on 1 November
MACHINE_RULES = RULES.replace('blackout_days = ["2026-12-25"]', 'blackout_days = ["2026-11-02"]')
BLACKOUT = datetime(2026, 11, 2).date()
POSTS = {
    "p1": ("facebook, site", "2026-10-30 10:30"),
    "p2": ("site", "2026-10-31 19:59"),
    "p3": ("facebook", "2026-11-01 01:30"),  # a time that happens twice, outside the window
    "p4": ("facebook, site", "2026-11-02 09:00"),  # a blackout day
    "p5": ("facebook", "2026-11-03 08:00"),
}
MAX_ATTEMPTS = 3
FAULTY = [("tables", "put"), ("tables", "get"), ("blobs", "get"), ("scheduler", "book")]


class GatedPosting(FakePosting):
    """The platforms, watching the gate: each post they accept is checked against the sheet as
    it is at that moment, and the posting window."""

    def __init__(self, cafe_of: Any) -> None:
        super().__init__()
        self.cafe_of = cafe_of
        self.violations: list[str] = []

    def publish(self, publication: Publication, now: datetime) -> Posted:
        posted = super().publish(publication, now)
        cafe = self.cafe_of()
        where = (publication.post_id, publication.channel.name)
        if not ss.is_approved(_cell(cafe, publication.post_id, "approved")):
            self.violations.append(f"{where} posted with the flag unset")
        local = cafe.clock.now().astimezone(NY)
        if not time(8, 0) <= local.time() < time(20, 0) or local.date() == BLACKOUT:
            self.violations.append(f"{where} posted at {local}")
        return posted


def _cell(cafe: Cafe, post_id: str, column: str) -> str:
    """The sheet as stored, read past any fault waiting in the blob store."""
    body = cafe.blobs.objects["posts.csv"].body.decode()
    rows = list(csv.reader(io.StringIO(body)))
    row = next(r for r in rows[1:] if r and r[0] == post_id)
    return row[rows[0].index(column)]


class SchedulerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        rows = [
            f'{post_id},"Post {post_id}","{channels}",,{when},TRUE,'
            for post_id, (channels, when) in POSTS.items()
        ]
        local = evolve(SETTINGS, timezone="America/New_York")
        self.cafe = Cafe(rows, START, settings=local, rules=MACHINE_RULES)
        self.posting = GatedPosting(lambda: self.cafe)
        self.cafe.posting = self.posting
        self.cafe.ports = evolve(self.cafe.ports, posting=self.posting)
        self.seen: list[dict[str, Any]] = []
        self.answers = 0
        self.reapprovals: Counter[str] = Counter()
        self._tick()  # the first day's 07:00 tick

    # --- the schedule ------------------------------------------------------------------------

    def _dispatch(self, detail: dict[str, Any]) -> None:
        """One delivery; the platform retries an invocation that failed."""
        for _ in range(2):
            try:
                service.dispatch(self.cafe.ports, self.cafe.settings, detail)
                return
            except InjectedFault:
                continue

    def _fire_until(self, target: datetime) -> None:
        while True:
            booked = sorted(at for at, _ in self.cafe.scheduler.booked.values())
            if not booked or booked[0] > target:
                break
            self.cafe.clock.set(max(booked[0], self.cafe.clock.now()))
            for _, payload in self.cafe.scheduler.due(self.cafe.clock.now()):
                self.seen.append(payload["move"])
                self._dispatch(payload["move"])
        self.cafe.clock.set(max(target, self.cafe.clock.now()))

    def _tick(self) -> None:
        try:
            self.cafe.tick()
        except InjectedFault:
            return  # the schedule runs again
        events, self.cafe.bus.events[:] = list(self.cafe.bus.events), []
        for _, detail in events:
            self.seen.append(detail)
            self._dispatch(detail)

    @rule()
    def a_day_passes(self) -> None:
        local = self.cafe.clock.now().astimezone(NY)
        seven = datetime.combine(local.date() + timedelta(days=1), time(7, 0), NY)
        self._fire_until(seven)
        self._tick()

    @rule(minutes=st.integers(1, 240))
    def an_extra_tick(self, minutes: int) -> None:
        """`tick` from cron: the one-offs due by then fire first."""
        self._fire_until(self.cafe.clock.now() + timedelta(minutes=minutes))
        self._tick()

    @rule(hours=st.integers(6, 72))
    def the_clock_jumps(self, hours: int) -> None:
        """The machine was off: nothing fired meanwhile; the next tick catches up."""
        self.cafe.clock.advance(timedelta(hours=hours))
        self._tick()

    @precondition(lambda self: self.seen)
    @rule(data=st.data())
    def a_duplicate_delivery(self, data: st.DataObject) -> None:
        self._dispatch(data.draw(st.sampled_from(self.seen)))

    @rule(fault=st.sampled_from(FAULTY))
    def a_fault(self, fault: tuple[str, str]) -> None:
        port, method = fault
        getattr(self.cafe, port).faults.fail_next(method)

    @rule(
        channel=st.sampled_from(["facebook", "site"]),
        error=st.sampled_from(["busy", "token", "refused"]),
    )
    def a_channel_fails(self, channel: str, error: str) -> None:
        raised = {
            "busy": RuntimeError("503"),
            "token": TokenRejected("190: expired"),
            "refused": PostRefused("(#100) refused"),
        }[error]
        self.posting.faults.fail_next(f"publish:{channel}", raised)

    @rule(channel=st.sampled_from(["facebook", "site"]))
    def a_channel_is_reconnected(self, channel: str) -> None:
        self.posting.reconnect(channel)

    # --- the owner ---------------------------------------------------------------------------

    @rule(post=st.sampled_from(sorted(POSTS)), action=st.sampled_from(ss.ACTIONS))
    def the_owner_answers_a_review_card(self, post: str, action: str) -> None:
        self.answers += 1
        request_id = f"r{self.answers}"
        now = self.cafe.clock.now().astimezone(NY)
        answer = ss.Action(action, post, post, "owner@cafe.example", request_id)
        try:
            transition = service.perform(self.cafe.ports, self.cafe.settings, answer, now)
        except InjectedFault:
            return
        audited = [r for r in self.cafe.rows(service.AUDIT) if request_id in r["ts"]]
        assert len(audited) == 1, f"the answer {request_id} was not audited once"
        if transition.accepted and action != "hold":
            self.reapprovals[post] += 1
        events, self.cafe.bus.events[:] = list(self.cafe.bus.events), []
        for _, detail in events:
            self.seen.append(detail)
            self._dispatch(detail)

    @rule(post=st.sampled_from(sorted(POSTS)), value=st.sampled_from(["TRUE", "", "x", "no"]))
    def the_owner_edits_the_flag_by_hand(self, post: str, value: str) -> None:
        self._edit(post, "approved", value)
        if ss.is_approved(value):
            self.reapprovals[post] += 1

    @rule(post=st.sampled_from(sorted(POSTS)), hours=st.integers(-30, 30))
    def the_owner_moves_a_post(self, post: str, hours: int) -> None:
        moved = START + timedelta(days=1, hours=hours)
        self._edit(post, "publish_at", f"{moved.astimezone(NY):%Y-%m-%d %H:%M}")

    def _edit(self, post: str, column: str, value: str) -> None:
        """The owner's edit in the sheet: it lands (a fault waiting in our store is not theirs)."""
        for _ in range(3):
            try:
                self.cafe.sheet.update_cell(post, column, value)
                return
            except InjectedFault:
                continue

    # --- invariants --------------------------------------------------------------------------

    @invariant()
    def never_without_the_flag_or_outside_the_window(self) -> None:
        assert not self.posting.violations, self.posting.violations

    @invariant()
    def never_twice_to_one_channel(self) -> None:
        counts = Counter((p.post_id, p.channel.name) for p in self.posting.published)
        assert all(n == 1 for n in counts.values()), counts

    @invariant()
    def failures_are_bounded(self) -> None:
        tries = Counter(
            (r["post_id"], r["channel"])
            for r in self.cafe.tables.scan(service.SENDS.name)
            if str(r.get("attempt", "")).startswith("attempt#")
        )
        for (post, channel), n in tries.items():
            assert n <= MAX_ATTEMPTS * (1 + self.reapprovals[post]), (post, channel, n)


SchedulerMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("MACHINE_EXAMPLES", "60")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestSchedulerMachine = SchedulerMachine.TestCase


def test_left_alone_the_machine_posts_every_post_once_at_its_allowed_minute() -> None:
    """The machine's quiet path: its invariants are not vacuous."""
    machine = SchedulerMachine()
    for _ in range(6):
        machine.a_day_passes()
    published = {(p.post_id, p.channel.name) for p in machine.posting.published}
    expected = {(post, c.strip()) for post, (cs, _) in POSTS.items() for c in cs.split(",")}
    assert published == expected
    machine.never_without_the_flag_or_outside_the_window()
    machine.never_twice_to_one_channel()
