"""Tagged calendar events and forwarded documents become proposals; the admin decides."""

from __future__ import annotations

from datetime import datetime

from world import NY, World

from backoffice.ports.calendar import CalendarEvent, Changes
from backoffice.services import calendar_sync
from backoffice.services import expiry_watcher as service

TUESDAY = datetime(2026, 12, 1, 8, 0, tzinfo=NY)


def event(
    event_id: str, summary: str, status: str = "confirmed", description: str = "Policy GL-1"
) -> CalendarEvent:
    return CalendarEvent(
        event_id, "cal", summary, description, "2027-03-01", status, "dan@example.com"
    )


class Calendar:
    def __init__(self, *listings: Changes) -> None:
        self.listings = list(listings)
        self.tokens: list[str | None] = []

    def changes(self, calendar_id: str, sync_token: str | None) -> Changes:
        self.tokens.append(sync_token)
        return self.listings.pop(0)


def sync(world: World, calendar: Calendar) -> list[CalendarEvent]:
    return calendar_sync.sync(
        calendar,
        world.blobs,
        ["cal"],
        "#expires",
        lambda e: world.propose(e),
    )


def test_tagged_events_are_proposed_once_even_after_a_full_resync() -> None:
    world = World([], TUESDAY)
    listing = Changes(
        (
            event("e1", "Liability insurance #expires"),
            event("e2", "Lunch"),
            event("e3", "Old #expires", status="cancelled"),
            event("e4", "Alarm contract", description="renewal #EXPIRES soon"),
        ),
        "t1",
        True,
    )
    calendar = Calendar(listing, Changes((), "t2", False), listing)
    assert [e.event_id for e in sync(world, calendar)] == ["e1", "e4"]
    assert sync(world, calendar) == [] and sync(world, calendar) == []
    assert calendar.tokens == [None, "t1", "t2"]
    mail = world.mailer.sent[0]
    assert len(world.mailer.sent) == 2
    assert mail.to == ("ops@example.com",) and "Liability insurance" in mail.subject
    assert "expires_on: 2027-03-01" in mail.text and "owner: dan@example.com" in mail.text


def test_approve_appends_the_row_and_a_second_decision_changes_nothing() -> None:
    world = World([], TUESDAY)
    sync(world, Calendar(Changes((event("e1", "Liability insurance #expires"),), "t", True)))
    links = world.links(world.mailer.sent[0].idempotency_key)
    page = world.open(links["Approve"])
    assert page.status == 200 and "Liability insurance" in page.message
    done = world.act(links["Approve"], "", "r1")
    assert done.accepted
    row = world.sheet.rows[-1]
    assert row[1:4] == ["Liability insurance", "2027-03-01", "dan@example.com"]
    assert row[0].startswith("NEW-")
    late = world.act(links["Discard"], "", "r2")
    assert not late.accepted and "already approved" in late.message
    assert [a["action"] for a in world.rows(service.AUDIT)] == ["approve", "rejected"]
    world.clock.set(datetime(2027, 2, 1, 8, 0, tzinfo=NY))
    assert [d.kind for d in world.run_day()] == ["first_alert"]  # the new row now runs


def test_discard_adds_nothing() -> None:
    world = World([], TUESDAY)
    sync(world, Calendar(Changes((event("e1", "Permit #expires"),), "t", True)))
    links = world.links(world.mailer.sent[0].idempotency_key)
    assert world.act(links["Discard"], "", "r1").accepted
    assert len(world.sheet.rows) == 1


def test_edit_corrects_the_row_before_adding_it() -> None:
    world = World([], TUESDAY)
    sync(world, Calendar(Changes((event("e1", "Permt #expires"),), "t", True)))
    links = world.links(world.mailer.sent[0].idempotency_key)
    page = world.open(links["Edit"])
    assert page.form is not None and ("name", "Permit") not in page.form.fields
    assert dict(page.form.fields)["name"] == "Permt"
    done = world.act(
        links["Edit"],
        "",
        "r1",
        fields={"name": " Permit ", "colour": "red"},
    )
    assert done.accepted and world.sheet.rows[-1][1] == "Permit"
