from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from world import NY, World

from backoffice.core.documents import DocumentError
from backoffice.services import expiry_watcher as service

TUESDAY = datetime(2026, 12, 1, 8, 0, tzinfo=NY)
SATURDAY = datetime(2026, 12, 5, 8, 0, tzinfo=NY)


def row(item_id: str, expires_on: str, owner: str = "maria@example.com", **extra: str) -> list[str]:
    return [
        item_id,
        f"Item {item_id}",
        expires_on,
        owner,
        extra.get("category", ""),
        extra.get("notice_days", ""),
    ]


def test_a_tick_alerts_the_owner_by_email_with_three_signed_links() -> None:
    world = World([row("LIC-1", "2026-12-20"), row("FAR-1", "2027-06-01")], TUESDAY)
    delivered = world.run_day()
    assert [(d.status, d.kind, d.subject) for d in delivered] == [("sent", "first_alert", "LIC-1")]
    email = world.email("ew:LIC-1:2026-12-20:first_alert")
    assert email.to == ("maria@example.com",)
    assert email.subject == "Item LIC-1: please renew by 2026-12-20"
    assert set(world.links(email.idempotency_key)) == {"Renew", "Snooze", "Ack only"}
    [ping] = world.rows(service.PINGS)
    assert (ping["status"], ping["ping_date"], ping["dispatched_via"]) == (
        "sent",
        "2026-12-01",
        "email",
    )


def test_a_slack_owner_gets_a_dm_with_buttons() -> None:
    world = World([row("CRT-1", "2026-12-20", owner="U024BE7LH")], TUESDAY)
    world.run_day()
    [message] = world.chat.posted
    assert message.to == "U024BE7LH"
    assert [b.action for b in message.buttons] == ["renew", "snooze", "ack_only"]
    assert all(b.value and b.url.endswith(b.value) for b in message.buttons)


def test_the_same_tick_twice_and_a_duplicate_event_send_nothing_twice() -> None:
    world = World([row("LIC-1", "2026-12-05")], TUESDAY)
    world.tick()
    events = list(world.bus.events)
    world.dispatch_events()
    world.tick()
    world.dispatch_events()
    for _, detail in events:
        assert service.dispatch(world.ports, world.settings, detail).status in (
            "duplicate",
            "dropped",
        )
    keys = [key for key, _, _ in world.messages()]
    assert sorted(keys) == ["ew:LIC-1:2026-12-05:escalate", "ew:LIC-1:2026-12-05:first_alert"]


def test_a_weekend_move_is_deferred_to_monday_morning_and_delivered_then() -> None:
    world = World([row("LIC-1", "2026-12-20")], SATURDAY)
    [deferred] = world.run_day()
    assert deferred.status == "deferred"
    assert deferred.until == datetime(2026, 12, 7, 8, 0, tzinfo=NY)
    assert world.mailer.sent == []
    world.clock.set(datetime(2026, 12, 7, 8, 0, tzinfo=NY))
    [sent] = world.fire_due()
    assert sent.status == "sent" and sent.at == datetime(2026, 12, 7, 8, 0, tzinfo=NY)
    assert world.run_day() == []


def test_a_move_deferred_across_christmas_skips_the_holidays() -> None:
    world = World([row("LIC-1", "2027-01-10")], datetime(2026, 12, 23, 20, 30, tzinfo=NY))
    world.tick()
    [deferred] = world.dispatch_events()
    assert deferred.until == datetime(2026, 12, 28, 8, 0, tzinfo=NY)


def test_reminders_follow_the_rules_and_stop_after_ack_only() -> None:
    world = World([row("LIC-1", "2026-12-31")], TUESDAY)
    world.run_day()
    world.clock.set(TUESDAY + timedelta(days=7))
    [reminder] = world.run_day()
    assert (reminder.kind, reminder.key) == ("reminder", "ew:LIC-1:2026-12-31:reminder:1")
    token = world.links(reminder.key)["Ack only"]
    result = world.act(token, "", "req-1")
    assert result.accepted
    world.clock.set(TUESDAY + timedelta(days=14))
    assert [d.kind for d in world.run_day()] == []
    world.clock.set(datetime(2026, 12, 24, 8, 0, tzinfo=NY))  # a holiday: the escalation waits
    assert [(d.kind, d.status) for d in world.run_day()] == [("escalate", "deferred")]
    world.clock.set(datetime(2026, 12, 28, 8, 0, tzinfo=NY))
    assert [(d.kind, d.status) for d in world.run_day()] == [("escalate", "sent")]


def test_opening_a_link_changes_nothing_and_posting_it_acts_once() -> None:
    world = World([row("LIC-1", "2026-12-20")], TUESDAY)
    world.run_day()
    token = world.links("ew:LIC-1:2026-12-20:first_alert")["Renew"]
    before = world.tables.snapshot()
    page = world.open(token)
    assert page.status == 200 and page.form is not None and page.form.action == "renew"
    assert world.tables.snapshot() == before
    done = world.act(token, "2027-12-20", "req-1")
    assert done.accepted
    assert world.sheet.rows[1][2] == "2027-12-20"
    assert world.rows(service.PINGS) == []
    archived = world.rows(service.ARCHIVE)
    assert [(r["chain_id"], r.get("move")) for r in archived] == [
        ("LIC-1@2026-12-20", "first_alert"),
        ("LIC-1@2026-12-20", None),  # the chain's closing mark
    ]
    again = world.act(token, "2028-12-20", "req-2")
    assert not again.accepted and again.status == 409
    assert world.sheet.rows[1][2] == "2027-12-20"
    audit = world.rows(service.AUDIT)
    assert sorted(r["action"] for r in audit) == ["rejected", "renew"]
    assert world.open(token).status == 409


def test_a_renewed_item_starts_a_new_chain_later() -> None:
    world = World([row("LIC-1", "2026-12-20")], TUESDAY)
    world.run_day()
    token = world.links("ew:LIC-1:2026-12-20:first_alert")["Renew"]
    world.act(token, "2026-12-30", "req-1")
    world.clock.set(TUESDAY + timedelta(days=1))
    [alert] = world.run_day()
    assert alert.key == "ew:LIC-1:2026-12-30:first_alert"


@pytest.mark.parametrize("tamper", [lambda t: t[:-2] + "xx", lambda t: "nonsense", lambda t: ""])
def test_a_tampered_link_is_refused_and_changes_nothing(tamper) -> None:  # type: ignore[no-untyped-def]
    """A link that is not ours is turned away without a trace in the tables (anyone can send
    junk, and it must not grow the audit table); a genuine link used twice is audited."""
    world = World([row("LIC-1", "2026-12-20")], TUESDAY)
    world.run_day()
    token = world.links("ew:LIC-1:2026-12-20:first_alert")["Ack only"]
    before = world.tables.snapshot()
    assert world.open(tamper(token)).status == 400
    result = world.act(tamper(token), "", "req-9")
    assert (result.accepted, result.status) == (False, 400)
    assert world.tables.snapshot() == before
    assert world.act(token, "", "req-10").accepted
    assert world.act(token, "", "req-11").status == 409
    assert [r["action"] for r in world.rows(service.AUDIT)] == ["ack_only", "rejected"]


def test_an_expired_link_is_refused() -> None:
    world = World([row("LIC-1", "2026-12-20")], TUESDAY)
    world.run_day()
    token = world.links("ew:LIC-1:2026-12-20:first_alert")["Ack only"]
    world.clock.advance(timedelta(days=world.settings.link_days + 1))
    result = world.act(token, "", "req-1")
    assert (result.accepted, result.status) == (False, 410)
    [audit] = world.rows(service.AUDIT)
    assert audit["item_id"] == "LIC-1" and audit["by_user"] == "maria@example.com"


def test_a_failing_send_is_retried_then_surfaced_to_the_admin() -> None:
    world = World([row("LIC-1", "2026-12-20")], TUESDAY)
    world.mailer.faults.fail_next("send", times=1)
    [first] = world.run_day()
    assert first.status == "retry" and first.until == TUESDAY + timedelta(minutes=5)
    world.mailer.faults.fail_next("send", times=2)
    world.clock.advance(timedelta(minutes=5))
    [second] = world.fire_due()
    assert second.status == "retry"
    world.clock.advance(timedelta(minutes=30))
    [third] = world.fire_due()
    assert third.status == "failed" and "InjectedFault" in third.error
    [notice] = world.mailer.sent
    assert notice.to == ("ops@example.com",) and "Item LIC-1" in notice.subject
    [ping] = world.rows(service.PINGS)
    assert (ping["status"], ping["attempts"]) == ("failed", 3)
    world.clock.advance(timedelta(days=1))
    assert [d.status for d in world.run_day()] == ["duplicate"]
    assert len(world.mailer.sent) == 1


def test_a_crashed_send_is_retaken_after_its_lease() -> None:
    world = World([row("LIC-1", "2026-12-20")], TUESDAY)
    world.tick()
    [(_, detail)] = world.bus.events
    world.tables.put(
        service.PINGS.name,
        {
            "item_id": "LIC-1",
            "chain_index": "2026-12-20#first_alert",
            "status": "sending",
            "lease_until": "2026-12-01T13:05:00+00:00",
            "key": detail["key"],
            "chain_id": detail["chain"],
            "move": "first_alert",
            "number": 0,
            "attempts": 0,
        },
    )
    held = service.dispatch(world.ports, world.settings, detail)
    assert held.status == "in_flight"
    # Whoever finds a live claim books a re-check for its end: a crashed sender's message goes
    # out then, without waiting for the next tick.
    [(recheck_at, payload)] = world.scheduler.booked.values()
    assert recheck_at == datetime(2026, 12, 1, 13, 5, 1, tzinfo=UTC) and held.until == recheck_at
    world.clock.set(recheck_at)
    [delivered] = world.fire_due()
    assert delivered.status == "sent" and payload["move"] == detail
    assert service.dispatch(world.ports, world.settings, detail).status == "dropped"


def test_the_weekly_digest_goes_to_the_admin_once() -> None:
    monday = datetime(2026, 12, 7, 8, 0, tzinfo=NY)
    world = World([row("LIC-1", "2026-12-20"), row("BAD", "soon")], monday, digest_day="Sun")
    world.run_day()
    world.run_day()
    digests = [
        e for e in world.mailer.sent if e.to == ("ops@example.com",) and "week of" in e.subject
    ]
    assert len(digests) == 1
    text = digests[0].text
    assert "Item LIC-1" in text and "soon" in text and "first alert" in text  # after the tick


def test_a_broken_rules_doc_stops_the_tick_with_file_and_line() -> None:
    world = World([row("LIC-1", "2026-12-20")], TUESDAY)
    world.blobs.put("rules.toml", b"[chains.default]\nfirst_alert_days = thirty\n")
    with pytest.raises(DocumentError) as error:
        world.tick()
    assert error.value.file == "rules.toml" and error.value.line == 2


def test_a_refused_date_leaves_the_link_usable_for_a_corrected_one() -> None:
    world = World([row("LIC-1", "2026-12-20")], TUESDAY)
    world.run_day()
    token = world.links("ew:LIC-1:2026-12-20:first_alert")["Snooze"]
    late = world.act(token, "2027-03-01", "req-1")
    assert not late.accepted and "no later than" in late.message
    fixed = world.act(token, "2026-12-10", "req-2")
    assert fixed.accepted
    assert [r["action"] for r in world.rows(service.AUDIT)] == ["rejected", "snooze"]


def test_a_broken_template_stops_only_the_moves_that_use_it() -> None:
    world = World([row("LIC-1", "2026-12-20"), row("CON-1", "2026-12-04")], TUESDAY, "Tue")
    broken = world.blobs.objects["voice.toml"].body.decode().replace("{owner}", "{ownr}")
    world.blobs.put("voice.toml", broken.encode())
    result = world.tick()
    assert sorted((m.subject, m.kind) for m in result.plan.moves) == [
        ("CON-1", "first_alert"),
        ("LIC-1", "first_alert"),
    ]
    messages = [p.message for p in result.problems]
    assert any("unknown placeholder {ownr}" in m for m in messages)
    waits = next(p for p in result.problems if "wait for it" in p.message)
    assert waits.file == "voice.toml" and waits.value == "CON-1" and waits.line is not None
    delivered = world.dispatch_events()
    assert sorted(d.status for d in delivered) == ["sent", "sent"]
    [digest] = service.digest(world.ports, world.settings)
    digest_mail = world.email(digest.key)
    assert "unknown placeholder {ownr}" in digest_mail.text and "wait for it" in digest_mail.text
