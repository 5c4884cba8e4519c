from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.core import expiry_watcher as ew
from backoffice.core.documents import DocumentError
from backoffice.core.sheet import read_csv

NY = ZoneInfo("America/New_York")
TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=NY)

RULES = ew.load_rules(
    """
[chains.default]
first_alert_days = 30
reminder_every_days = 7
escalate_days = 7
escalate_to = "ops@example.com"

[chains.insurance]
first_alert_days = 60
reminder_every_days = 14
escalate_days = 14
"""
)
EMPTY = ew.State.of((), ())


def item(item_id: str = "LIC-1", days: int = 20, **fields: object) -> ew.Item:
    values: dict[str, object] = {
        "item_id": item_id,
        "name": f"Item {item_id}",
        "expires_on": TODAY + timedelta(days=days),
        "owner": "maria@example.com",
        "line": 2,
    }
    values.update(fields)
    return ew.Item(**values)  # type: ignore[arg-type]


def sent(move: ew.Move, on: date) -> ew.Ping:
    return ew.Ping(move.subject, move.chain, move.kind, move.number, move.key, "sent", on)


def moves_of(plan: ew.Plan) -> list[tuple[str, str]]:
    return [(m.subject, m.kind) for m in plan.moves]


# --- rows ---------------------------------------------------------------------------------------


def parse(text: str) -> tuple[list[ew.Item], list]:
    table, problems = read_csv(text, "registry.csv")
    items, row_problems = ew.parse_rows(table, dayfirst=False, admin="ops@example.com")
    return items, [*problems, *row_problems]


def test_rows_with_problems_are_reported_and_the_rest_run() -> None:
    items, problems = parse(
        "Item ID,Name,Expires On,Owner\n"
        "A,Licence,2027-01-10,maria@example.com\n"
        "A,Copy,2027-01-11,maria@example.com\n"
        "B,Permit,not a date,sam@example.com\n"
        "C,Lease,2027-03-01,\n"
        "D,Cert,04/06/2027,not-an-owner\n"
    )
    assert [i.item_id for i in items] == ["A", "C", "D"]
    by_line = {p.line: p for p in problems}
    assert by_line[3].column == "item_id" and "duplicate" in by_line[3].message
    assert by_line[4].column == "expires_on" and by_line[4].value == "not a date"
    assert by_line[5].column == "owner" and "admin" in by_line[5].message
    assert items[1].owner == "ops@example.com"
    assert items[2].expires_on == date(2027, 4, 6) and items[2].owner == "ops@example.com"


def test_missing_required_column_is_one_problem_per_column() -> None:
    items, problems = parse("item_id,name\nA,Licence\n")
    assert items == []
    assert {p.column for p in problems} >= {"expires_on", "owner"}


def test_act_by_counts_notice_days() -> None:
    assert item(days=40, notice_days=14).act_by == TODAY + timedelta(days=26)


# --- rules and voice ----------------------------------------------------------------------------


def test_chains_inherit_from_default() -> None:
    insurance = RULES.chain_for("insurance")
    assert insurance.first_alert_days == 60
    assert insurance.max_reminders == 6
    assert insurance.escalate_to == "ops@example.com"
    assert RULES.chain_for("unknown-category") == RULES.chains["default"]


def test_rules_errors_name_the_line() -> None:
    with pytest.raises(DocumentError) as error:
        ew.load_rules("[chains.default]\nfirst_alert_days = 30\nreminder_every_dayz = 7\n")
    assert error.value.line == 3 and "reminder_every_dayz" in error.value.message
    with pytest.raises(DocumentError, match="missing"):
        ew.load_rules("[chains.default]\nfirst_alert_days = 30\n")
    with pytest.raises(DocumentError) as error:
        ew.load_rules(
            "[chains.default]\nfirst_alert_days = 30\nreminder_every_days = 7\n"
            'escalate_days = 7\nescalate_to = "ops@example.com"\n\n[chains.x]\n'
            "escalate_days = -1\n"
        )
    assert error.value.line == 8


def test_voice_rejects_unknown_placeholders_with_the_line() -> None:
    good = '[{0}]\nsubject = "{{item_name}}"\nbody = "act by {{act_by}}"\n'
    text = "".join(good.format(s) for s in ew.VOICE_SECTIONS)
    assert set(ew.load_voice(text).sections) == set(ew.VOICE_SECTIONS)
    broken = text.replace("act by {act_by}", "act by {act_bye}", 1)
    with pytest.raises(DocumentError) as error:
        ew.load_voice(broken)
    assert error.value.line == 3 and "act_bye" in error.value.message


# --- the moves ----------------------------------------------------------------------------------


def test_first_alert_inside_the_window_only() -> None:
    plan = ew.plan_tick([item("IN", 30), item("OUT", 31)], EMPTY, RULES, NOW)
    assert moves_of(plan) == [("IN", "first_alert")]
    assert plan.moves[0].key == f"ew:IN:{(TODAY + timedelta(days=30)).isoformat()}:first_alert"


def test_item_added_late_gets_first_alert_and_escalation_at_once() -> None:
    plan = ew.plan_tick([item(days=3)], EMPTY, RULES, NOW)
    assert moves_of(plan) == [("LIC-1", "first_alert"), ("LIC-1", "escalate")]
    assert plan.moves[1].to == ("ops@example.com",)


def test_per_item_overrides() -> None:
    plan = ew.plan_tick(
        [
            item(days=45, first_alert_days=50, escalate_to="boss@example.com"),
            item("I", 55, category="insurance"),
        ],
        EMPTY,
        RULES,
        NOW,
    )
    assert moves_of(plan) == [("LIC-1", "first_alert"), ("I", "first_alert")]
    late = ew.plan_tick([item(days=5, escalate_to="boss@example.com")], EMPTY, RULES, NOW)
    assert late.moves[1].to == ("boss@example.com",)


def test_reminders_every_n_days_until_the_cap() -> None:
    it = item(days=200)
    first = ew.move_for(it, "first_alert", 0, it.owner, 200)
    pings = [sent(first, TODAY - timedelta(days=7))]
    plan = ew.plan_tick([it], ew.State.of(pings, ()), RULES, NOW)
    assert [(m.kind, m.number) for m in plan.moves] == [("reminder", 1)]
    recent = [sent(first, TODAY - timedelta(days=6))]
    assert ew.plan_tick([it], ew.State.of(recent, ()), RULES, NOW).moves == ()
    capped = pings + [
        sent(ew.move_for(it, "reminder", n, it.owner, 200), TODAY - timedelta(days=7))
        for n in range(1, 7)
    ]
    assert ew.plan_tick([it], ew.State.of(capped, ()), RULES, NOW).moves == ()


def test_ack_only_and_snooze_silence_the_owner_but_not_escalation() -> None:
    it = item(days=5)
    first = ew.move_for(it, "first_alert", 0, it.owner, 5)
    pings = [sent(first, TODAY - timedelta(days=10))]
    acked = ew.State.of(pings, [ew.Ack(it.item_id, it.chain_id, "ack_only", TODAY)])
    assert moves_of(ew.plan_tick([it], acked, RULES, NOW)) == [("LIC-1", "escalate")]
    snoozed = ew.State.of(
        pings,
        [ew.Ack(it.item_id, it.chain_id, "snooze", TODAY, snooze_until=TODAY + timedelta(days=2))],
    )
    assert moves_of(ew.plan_tick([it], snoozed, RULES, NOW)) == [("LIC-1", "escalate")]
    later = NOW + timedelta(days=2)
    assert ("LIC-1", "reminder") in moves_of(ew.plan_tick([it], snoozed, RULES, later))


def test_overdue_items_keep_getting_reminders_marked_overdue() -> None:
    it = item(days=-3)
    first = ew.move_for(it, "first_alert", 0, it.owner, 10)
    escalated = ew.move_for(it, "escalate", 0, "ops@example.com", 5)
    state = ew.State.of(
        [sent(first, TODAY - timedelta(days=14)), sent(escalated, TODAY - timedelta(days=8))], ()
    )
    plan = ew.plan_tick([it], state, RULES, NOW)
    assert [(m.kind, m.fields["overdue"]) for m in plan.moves] == [("reminder", "OVERDUE: ")]


def test_changed_expiry_archives_the_old_chain_and_starts_a_new_one() -> None:
    old = item(days=5)
    state = ew.State.of([sent(ew.move_for(old, "first_alert", 0, old.owner, 5), TODAY)], ())
    new = item(days=400)
    plan = ew.plan_tick([new], state, RULES, NOW)
    assert plan.archive == (old.chain_id,)
    assert plan.moves == ()


def test_archived_or_renewed_chain_gets_no_moves_and_a_problem() -> None:
    it = item(days=3)
    renewed = ew.State.of(
        (),
        [ew.Ack(it.item_id, it.chain_id, "renew", TODAY, new_expiry=TODAY + timedelta(days=400))],
    )
    plan = ew.plan_tick([it], renewed, RULES, NOW)
    assert plan.moves == () and "renewed" in plan.problems[0].message
    archived = ew.State.of((), (), archived=[it.chain_id])
    assert ew.plan_tick([it], archived, RULES, NOW).moves == ()


def test_plan_needs_an_aware_now() -> None:
    with pytest.raises(ValueError):
        ew.plan_tick([], EMPTY, RULES, datetime(2026, 12, 1, 8))


# --- properties ---------------------------------------------------------------------------------

items_strategy = st.lists(
    st.builds(
        lambda i, days, notice, category, first: item(
            f"IT-{i}", days, notice_days=notice, category=category, first_alert_days=first
        ),
        st.integers(0, 10_000),
        st.integers(-30, 120),
        st.integers(0, 30),
        st.sampled_from(["default", "insurance", "other"]),
        st.none() | st.integers(0, 90),
    ),
    max_size=12,
    unique_by=lambda i: i.item_id,
)


@settings(max_examples=200, deadline=None)
@given(items_strategy, st.integers(0, 60))
def test_ticks_are_idempotent_and_converge(items: list[ew.Item], offset: int) -> None:
    now = NOW + timedelta(days=offset)
    first = ew.plan_tick(items, EMPTY, RULES, now)
    again = ew.plan_tick(items, EMPTY, RULES, now)
    assert first == again
    keys = [m.key for m in first.moves]
    assert len(keys) == len(set(keys))
    for it in items:
        mine = [m.kind for m in first.moves if m.subject == it.item_id]
        assert sum(m in ew.OWNER_MOVES for m in mine) <= 1
        assert mine.count("escalate") <= 1
    delivered = ew.State.of([sent(m, now.date()) for m in first.moves], ())
    after = ew.plan_tick(items, delivered, RULES, now)
    assert not {m.key for m in after.moves} & set(keys)


@settings(max_examples=200, deadline=None)
@given(items_strategy, st.integers(0, 60), st.sampled_from(["ack_only", "renew"]))
def test_no_owner_move_after_ack_and_nothing_after_renew(
    items: list[ew.Item], offset: int, kind: str
) -> None:
    now = NOW + timedelta(days=offset)
    acks = [
        ew.Ack(
            i.item_id,
            i.chain_id,
            kind,
            TODAY,  # type: ignore[arg-type]
            new_expiry=i.expires_on + timedelta(days=365) if kind == "renew" else None,
        )
        for i in items
    ]
    plan = ew.plan_tick(items, ew.State.of((), acks), RULES, now)
    if kind == "renew":
        assert plan.moves == ()
    else:
        assert all(m.kind == "escalate" for m in plan.moves)


# --- actions ------------------------------------------------------------------------------------


def action(kind: str, it: ew.Item, value: date | None = None) -> ew.Action:
    chosen = value.isoformat() if value else ""
    return ew.Action(kind, it.item_id, it.chain_id, "maria@example.com", "req-1", chosen)


def apply(state: ew.State, it: ew.Item | None, answer: ew.Action) -> ew.Transition[ew.Ack]:
    return ew.apply_action(ew.Current(it, state), answer, NOW)


def test_renew_writes_the_sheet_and_archives_the_chain() -> None:
    it = item(days=10)
    new = it.expires_on + timedelta(days=365)
    t = apply(EMPTY, it, action("renew", it, new))
    assert t.accepted
    assert t.sheet_writes == (ew.SheetWrite(it.item_id, "expires_on", new.isoformat()),)
    assert t.archive == (it.chain_id,)
    assert t.record is not None and t.record.new_expiry == new
    assert t.audit.action == "renew" and t.audit.after["expires_on"] == new.isoformat()
    assert t.audit.by == "maria@example.com" and t.audit.before["expires_on"] == str(it.expires_on)


def test_the_same_renewal_again_finishes_an_interrupted_one_and_is_idempotent() -> None:
    """The first try wrote the sheet, then failed; the person presses Renew again."""
    old = item(days=10)
    new_date = old.expires_on + timedelta(days=365)
    renewed = item(days=10 + 365)
    again = action("renew", old, new_date)
    finish = apply(EMPTY, renewed, again)
    assert finish.accepted and finish.sheet_writes == ()
    assert finish.archive == (old.chain_id,)
    assert finish.record is not None and finish.record.new_expiry == new_date
    recorded = ew.State.of(pings=(), acks=[finish.record], archived=[old.chain_id])
    repeat = apply(recorded, renewed, again)
    assert repeat.accepted and (repeat.record, repeat.archive, repeat.sheet_writes) == (
        None,
        (),
        (),
    )
    other_date = action("renew", old, new_date + timedelta(days=1))
    assert not apply(recorded, renewed, other_date).accepted


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("renew", (TODAY + timedelta(days=10)).isoformat()),
        ("renew", ""),
        ("renew", "next year"),
        ("snooze", TODAY.isoformat()),
        ("snooze", (TODAY + timedelta(days=11)).isoformat()),
        ("shred", ""),
    ],
)
def test_bad_answers_are_rejected_with_only_an_audit_row(kind: str, value: str) -> None:
    it = item(days=10)
    answer = ew.Action(kind, it.item_id, it.chain_id, "maria@example.com", "req-1", value)
    t = apply(EMPTY, it, answer)
    assert not t.accepted
    assert (t.record, t.sheet_writes, t.archive, t.notices) == (None, (), (), ())
    assert t.audit.action == "rejected" and t.audit.outcome == "rejected"
    assert t.audit.after["requested"] == kind and t.audit.after["reason"] == t.message


def test_answers_for_a_stale_chain_or_unknown_item_are_rejected() -> None:
    it = item(days=10)
    stale = ew.Action("ack_only", it.item_id, "LIC-1@2020-01-01", "m", "r")
    assert not apply(EMPTY, it, stale).accepted
    assert not apply(EMPTY, None, action("ack_only", it)).accepted


def test_snooze_until_act_by_is_allowed() -> None:
    it = item(days=10, notice_days=2)
    t = apply(EMPTY, it, action("snooze", it, it.act_by))
    assert t.accepted and t.record is not None and t.record.snooze_until == it.act_by


def test_a_snooze_reminds_on_the_date_it_names() -> None:
    it = item(days=25)
    alerted = sent(ew.move_for(it, "first_alert", 0, it.owner, 25), TODAY)
    until = TODAY + timedelta(days=3)  # sooner than the chain's reminder_every_days (7)
    snoozed = ew.Ack(it.item_id, it.chain_id, "snooze", TODAY, snooze_until=until)
    state = ew.State.of([alerted], [snoozed])
    on = lambda day: moves_of(ew.plan_tick([it], state, RULES, NOW + timedelta(days=day)))  # noqa: E731
    assert on(2) == []  # still snoozed
    assert on(3) == [(it.item_id, "reminder")]  # the day the page promised
    reminded = sent(ew.move_for(it, "reminder", 1, it.owner, 22), until)
    after = ew.State.of([alerted, reminded], [snoozed])
    assert moves_of(ew.plan_tick([it], after, RULES, NOW + timedelta(days=4))) == []


@settings(max_examples=200, deadline=None)
@given(items_strategy, st.integers(0, 60), st.sets(st.integers(0, 11)), st.booleans())
def test_the_planner_skips_only_items_that_have_no_move(
    items: list[ew.Item], offset: int, pinged: set[int], moved: bool
) -> None:
    """The planner's quick check of untouched rows decides as `item_moves` on each row would:
    the same moves, in row order, whatever was sent before (and for chains since replaced)."""
    now = NOW + timedelta(days=offset)
    earlier = ew.plan_tick(items, EMPTY, RULES, NOW)
    pings = [
        sent(m, TODAY) for n, m in enumerate(earlier.moves) if n in pinged and m.kind != "escalate"
    ]
    if moved:  # some rows now show another expiry date than the one their pings were for
        items = [
            ew.Item(**{**i._asdict(), "expires_on": i.expires_on + timedelta(days=40)})
            if n % 2
            else i
            for n, i in enumerate(items)
        ]
    state = ew.State.of(pings, ())
    expected = [
        m
        for i in items
        if not (status := ew.chain_status(state, i.chain_id)).archived
        for m in ew.item_moves(i, status, RULES.chain_for(i.category), now.date())
    ]
    plan = ew.plan_tick(items, state, RULES, now)
    assert list(plan.moves) == expected
    current = {i.item_id: i.chain_id for i in items}
    assert set(plan.archive) == {
        p.chain_id for p in pings if p.item_id in current and current[p.item_id] != p.chain_id
    }
