"""The social scheduler end to end on fake adapters: the approval gate, exact minutes, the
window and blackouts, grace, per-channel retries, checks that stop every channel, reconnects,
the review card's answers, template sync, the draft helper and the digest."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cafe import SETTINGS, SG, Cafe, picture

from backoffice.ports import PostRefused, TokenRejected
from backoffice.services import social_scheduler as service

TICK = datetime(2026, 12, 3, 8, 0, tzinfo=SG)  # a Thursday, as the window opens


def row(
    post_id: str, when: str, channels: str = "facebook", approved: str = "TRUE", **kw: str
) -> str:
    text = kw.get("text", f"Post {post_id}")
    return f'{post_id},"{text}","{channels}",{kw.get("image", "")},{when},{approved},'


def test_an_approved_post_is_booked_for_its_exact_minute_and_goes_out_only_then() -> None:
    cafe = Cafe([row("p1", "2026-12-03 10:30", "facebook, site")], TICK)
    cafe.run()
    assert cafe.posted() == []
    assert (
        sorted(at for at, _ in cafe.scheduler.booked.values())
        == [datetime(2026, 12, 3, 10, 30, tzinfo=SG)] * 2
    )
    delivered = cafe.until(datetime(2026, 12, 3, 10, 30, tzinfo=SG))
    assert sorted(cafe.posted()) == [("p1", "facebook"), ("p1", "site")]
    assert {d.at for d in delivered if d.status == "sent"} == {
        datetime(2026, 12, 3, 10, 30, tzinfo=SG)
    }
    assert [r["state"] for r in cafe.rows(service.STATUS) if r["post_id"] == "p1"] == ["sent"]


@pytest.mark.parametrize("word", ["TRUE", "true", "Yes", "y", "✓", "X", "1"])
def test_every_approved_word_counts(word: str) -> None:
    cafe = Cafe([row("p1", "2026-12-03 08:00", approved=word)], TICK)
    cafe.run()
    assert cafe.posted() == [("p1", "facebook")]


@pytest.mark.parametrize("word", ["", "no", "FALSE", "0", "approved?", "✗"])
def test_anything_else_is_unset_and_nothing_is_posted(word: str) -> None:
    cafe = Cafe([row("p1", "2026-12-03 08:00", approved=word)], TICK)
    cafe.run()
    cafe.until(TICK + timedelta(days=2))
    assert cafe.posted() == []


def test_outside_the_window_or_on_a_blackout_day_it_goes_at_the_next_opening_and_says_so() -> None:
    cafe = Cafe(
        [row("late", "2026-12-03 21:15"), row("xmas", "2026-12-25 10:00")],
        TICK,
    )
    result = cafe.tick()
    moved = {p.line: p.message for p in result.problems if p.column == "publish_at"}
    assert "Fri 2026-12-04 08:00" in moved[2] and "Sat 2026-12-26 08:00" in moved[3]
    cafe.dispatch_events()
    cafe.day()
    cafe.until(datetime(2026, 12, 4, 8, 0, tzinfo=SG))
    assert cafe.posted() == [("late", "facebook")]
    assert cafe.posting.published and cafe.clock.now() == datetime(2026, 12, 4, 8, 0, tzinfo=SG)


def test_a_post_first_seen_approved_past_its_grace_is_not_posted_and_the_owner_is_told() -> None:
    ten = datetime(2026, 12, 3, 10, 0, tzinfo=SG)
    cafe = Cafe([row("old", "2026-12-03 08:50"), row("recent", "2026-12-03 09:10")], ten)
    cafe.run()
    assert cafe.posted() == [("recent", "facebook")]
    [mail] = [m for m in cafe.mailer.sent if "old" in m.subject]
    assert "was not posted" in mail.text and "60 minutes" in mail.text
    cafe.day()
    assert len([m for m in cafe.mailer.sent if "old" in m.subject]) == 1


def test_a_failed_channel_is_retried_alone_and_the_others_are_never_posted_again() -> None:
    cafe = Cafe([row("p1", "2026-12-03 08:00", "facebook, site")], TICK)
    cafe.posting.faults.fail_next("publish:site", times=2)
    cafe.run()
    assert cafe.posted() == [("p1", "facebook")]
    cafe.until(TICK + timedelta(hours=2))
    assert sorted(cafe.posted()) == [("p1", "facebook"), ("p1", "site")]
    attempts = [r for r in cafe.rows(service.SENDS) if r["attempt"].startswith("attempt#")]
    by_channel = {(r["channel"], r["attempt"]): r["result"] for r in attempts}
    assert by_channel == {
        ("facebook", "attempt#001"): "ok",
        ("site", "attempt#001"): "fail",
        ("site", "attempt#002"): "fail",
        ("site", "attempt#003"): "ok",
    }
    posted = [r for r in attempts if r["result"] == "ok"]
    assert all(r["posted_url"].startswith("https://") for r in posted)


def test_after_max_attempts_the_owner_hears_which_channel_failed_and_why() -> None:
    cafe = Cafe([row("p1", "2026-12-03 08:00", "facebook, site")], TICK)
    cafe.posting.faults.fail_next("publish:site", RuntimeError("503 from the site"), times=5)
    cafe.run()
    cafe.until(TICK + timedelta(days=1))
    assert cafe.posting.faults.calls["publish:site"] == 3
    [told] = [m for m in cafe.mailer.sent if "could not be posted on site" in m.subject]
    assert "503 from the site" in told.text
    assert "sent" not in [r["state"] for r in cafe.rows(service.STATUS) if r["post_id"] == "p1"]
    cafe.day()
    assert cafe.posting.faults.calls["publish:site"] == 3


def test_a_check_failing_on_one_channel_posts_nothing_anywhere_and_drops_it_to_draft() -> None:
    long = "x" * 501
    cafe = Cafe([row("p1", "2026-12-03 08:00", "facebook, site", text=long)], TICK)
    cafe.run()
    assert cafe.posted() == []
    assert cafe.approved_cell("p1") == ""
    [flag] = [m for m in cafe.mailer.sent if "p1" in m.subject]
    assert "facebook: 501 characters, over its limit of 500" in flag.text
    assert "site" not in flag.text.split("The text:")[0]
    assert [r["state"] for r in cafe.rows(service.STATUS) if r["post_id"] == "p1"] == ["draft"]


def test_an_image_is_checked_for_what_its_bytes_are_not_its_name() -> None:
    png_named_jpg = {"photo.jpg": picture("PNG")}
    cafe = Cafe(
        [row("p1", "2026-12-03 08:00", "instagram", image="photo.jpg")], TICK, png_named_jpg
    )
    cafe.run()
    assert cafe.posted() == []
    [flag] = [m for m in cafe.mailer.sent if "p1" in m.subject]
    assert "the image is image/png; it takes image/jpeg" in flag.text


def test_instagram_gets_the_rendered_image_with_a_link_to_the_cached_rendering() -> None:
    cafe = Cafe(
        [row("p1", "2026-12-03 08:00", "instagram", image="a.jpg")],
        TICK,
        {"a.jpg": picture("JPEG", (3000, 2000))},
    )
    cafe.run()
    [publication] = cafe.posting.published
    assert publication.picture is not None
    assert publication.picture.content_type == "image/jpeg"
    assert publication.picture.url.startswith("https://cafe.example/ss/render/")


def test_the_sender_reads_the_flag_again_so_a_stale_one_off_posts_nothing() -> None:
    cafe = Cafe([row("p1", "2026-12-03 10:30")], TICK)
    cafe.run()
    cafe.sheet.update_cell("p1", "approved", "")  # the owner unticks it in the sheet
    cafe.until(datetime(2026, 12, 3, 11, 0, tzinfo=SG))
    assert cafe.posted() == []


def test_a_moved_minute_leaves_the_old_one_off_posting_nothing() -> None:
    cafe = Cafe([row("p1", "2026-12-03 10:30")], TICK)
    cafe.run()
    cafe.sheet.update_cell("p1", "publish_at", "2026-12-03 15:00")
    delivered = cafe.until(datetime(2026, 12, 3, 11, 0, tzinfo=SG))
    assert [d.status for d in delivered] == ["dropped"] and cafe.posted() == []


def review(cafe: Cafe, action: str) -> str:
    """The token of one answer on p1's review card, as the card carries it."""
    from backoffice.services.social_scheduler.review import review_links

    links = review_links(cafe.settings, cafe_post(cafe, "p1"), cafe.clock.now())
    return next(button.value for button in links if button.action == action)


def cafe_post(cafe: Cafe, post_id: str):  # type: ignore[no-untyped-def]
    from backoffice.services.social_scheduler.state import documents_of

    post = documents_of(cafe.ports, cafe.settings).post(post_id)
    assert post is not None
    return post


def test_hold_cancels_the_one_off_and_unsets_the_flag_then_approve_books_it_again() -> None:
    cafe = Cafe([row("p1", "2026-12-03 10:30")], TICK)
    cafe.run()
    token = review(cafe, "hold")
    assert (
        cafe.open(token).status == 200 and cafe.approved_cell("p1") == "TRUE"
    )  # GET changes nothing
    assert cafe.act(token).status == 200
    assert cafe.approved_cell("p1") == "" and not cafe.scheduler.booked
    assert cafe.act(token).status == 409  # single use
    cafe.until(datetime(2026, 12, 3, 11, 0, tzinfo=SG))
    assert cafe.posted() == []
    cafe.clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=SG))
    cafe = cafe  # the owner changes their mind before the minute
    approve = review(cafe, "approve")
    assert cafe.act(approve, request_id="r2").status == 200
    assert cafe.approved_cell("p1") == "TRUE"
    cafe.until(datetime(2026, 12, 3, 11, 0, tzinfo=SG))
    assert cafe.posted() == [("p1", "facebook")]
    audit = [r["action"] for r in cafe.rows(service.AUDIT)]
    assert sorted(audit) == ["approve", "hold", "rejected"]


def test_a_one_off_booked_before_a_hold_posts_nothing_even_if_the_cancel_was_lost() -> None:
    cafe = Cafe([row("p1", "2026-12-03 10:30")], TICK)
    cafe.run()
    booked = dict(cafe.scheduler.booked)
    cafe.act(review(cafe, "hold"))
    cafe.sheet.update_cell("p1", "approved", "TRUE")  # re-ticked by hand: a new approval
    for name, (at, payload) in booked.items():  # the old one-off fires after all
        cafe.scheduler.book(name, at, payload)
    cafe.until(datetime(2026, 12, 3, 11, 0, tzinfo=SG))
    assert cafe.posted() == []
    cafe.day()
    assert cafe.posted() == []  # its minute passed while it was held: reported, not posted


def test_send_now_still_runs_the_checks_and_keeps_to_the_window() -> None:
    cafe = Cafe([row("p1", "2026-12-05 10:00", "facebook, site", approved="")], TICK)
    cafe.clock.set(datetime(2026, 12, 3, 7, 0, tzinfo=SG))
    cafe.act(review(cafe, "send_now"))
    delivered = cafe.dispatch_events()
    assert {d.status for d in delivered} == {"deferred"}
    cafe.until(datetime(2026, 12, 3, 8, 0, tzinfo=SG))
    assert sorted(cafe.posted()) == [("p1", "facebook"), ("p1", "site")]
    assert cafe.approved_cell("p1") == "TRUE"
    cafe.day()
    cafe.until(datetime(2026, 12, 5, 12, 0, tzinfo=SG))
    assert len(cafe.posted()) == 2  # its own minute later posts nothing twice


def test_send_now_of_a_post_too_long_posts_nothing_and_flags_it() -> None:
    cafe = Cafe([row("p1", "2026-12-05 10:00", text="y" * 600, approved="")], TICK)
    cafe.clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=SG))
    cafe.act(review(cafe, "send_now"))
    cafe.dispatch_events()
    assert cafe.posted() == [] and cafe.approved_cell("p1") == ""


def test_a_refused_token_alerts_once_and_holds_that_channel_until_its_secret_changes() -> None:
    cafe = Cafe(
        [row("p1", "2026-12-03 08:00", "facebook, site"), row("p2", "2026-12-03 09:00")], TICK
    )
    cafe.posting.faults.fail_next("publish:facebook", TokenRejected("190: token expired"), times=5)
    cafe.run()
    assert cafe.posted() == [("p1", "site")]
    cafe.until(datetime(2026, 12, 3, 12, 0, tzinfo=SG))
    assert cafe.posting.faults.calls["publish:facebook"] == 1  # p2 waits, is not tried
    alerts = [m for m in cafe.mailer.sent if "Reconnect the facebook channel" in m.subject]
    assert len(alerts) == 1 and "190: token expired" in alerts[0].text
    assert "token expired" not in json.dumps(cafe.rows(service.STATUS))
    cafe.posting.faults.clear()
    cafe.posting.reconnect("facebook")
    cafe.run()
    assert sorted(cafe.posted()) == [("p1", "facebook"), ("p1", "site"), ("p2", "facebook")]


def test_a_post_the_platform_refuses_is_not_retried_and_the_owner_hears_why() -> None:
    cafe = Cafe([row("p1", "2026-12-03 08:00")], TICK)
    cafe.posting.faults.fail_next("publish:facebook", PostRefused("(#100) duplicate status"))
    cafe.run()
    cafe.until(TICK + timedelta(hours=3))
    assert cafe.posting.faults.calls["publish:facebook"] == 1
    [told] = [m for m in cafe.mailer.sent if "could not be posted" in m.subject]
    assert "duplicate status" in told.text


def test_duplicate_events_post_once() -> None:
    cafe = Cafe([row("p1", "2026-12-03 08:00")], TICK)
    cafe.tick()
    events = list(cafe.bus.events)
    cafe.bus.events.extend(events)
    cafe.dispatch_events()
    for _, detail in events:
        service.dispatch(cafe.ports, cafe.settings, detail)
    assert cafe.posted() == [("p1", "facebook")]


def test_template_sync_drops_one_row_however_often_it_runs_and_sends_a_review_card() -> None:
    cafe = Cafe([], TICK)
    first = service.template_sync(cafe.ports, cafe.settings)
    second = service.template_sync(cafe.ports, cafe.settings)
    cafe.dispatch_events()
    assert [d.post_id for d in first] == ["friday-special-2026-12-04"] and second == []
    rows = [r for r in cafe.sheet.read()[1:]]
    assert rows == [
        [
            "friday-special-2026-12-04",
            "This Friday: two croissants for the price of one",
            "facebook",
            "",
            "2026-12-04 09:00",
            "",
            "friday-special",
        ]
    ]
    [card] = [m for m in cafe.mailer.sent if "Review the post" in m.subject]
    assert [b.label for b in card.links] == ["Approve", "Hold", "Send now"]
    cafe.run()
    cafe.until(datetime(2026, 12, 4, 10, 0, tzinfo=SG))
    assert cafe.posted() == []  # never approved


def test_the_draft_helper_proposes_one_post_per_channel_fitted_to_its_limit() -> None:
    class Model:
        def __init__(self) -> None:
            self.prompts: list[str] = []

        def complete(self, instructions: str, prompt: str) -> str:
            self.prompts.append(prompt)
            return "z" * 700 if "facebook" in prompt and len(self.prompts) == 1 else "Fresh bread."

    from attrs import evolve

    model = Model()
    cafe = Cafe([], TICK)
    cafe.ports = evolve(cafe.ports, model=model)
    body = json.dumps({"note": "new sourdough", "channels": ["facebook", "site"]}).encode()
    answer = service.draft(service.SYSTEM, cafe.ports, cafe.settings, "hook-secret", body)
    assert answer.status == 200
    drafts = {d["channel"]: d for d in answer.body["drafts"]}
    assert drafts["facebook"]["text"] == "Fresh bread." and drafts["facebook"]["warning"] == ""
    assert "At most 500 characters" in model.prompts[0]
    assert "the limit is 500" in model.prompts[1]
    assert len(cafe.mailer.sent) == 2
    assert service.draft(service.SYSTEM, cafe.ports, cafe.settings, "nope", body).status == 401
    bad = json.dumps({"note": "x", "channels": ["myspace"]}).encode()
    assert (
        service.draft(service.SYSTEM, cafe.ports, cafe.settings, "hook-secret", bad).status == 400
    )


def test_a_post_at_a_dst_change_goes_out_at_the_local_minute_written() -> None:
    from attrs import evolve

    ny = ZoneInfo("America/New_York")
    settings = evolve(SETTINGS, timezone="America/New_York")
    start = datetime(2027, 3, 14, 7, 0, tzinfo=ny)  # clocks went forward at 02:00
    cafe = Cafe([row("p1", "2027-03-14 09:30")], start, settings=settings)
    cafe.run()
    cafe.until(datetime(2027, 3, 14, 12, 0, tzinfo=ny))
    assert cafe.posted() == [("p1", "facebook")]
    [at] = {r["sent_at"] for r in cafe.rows(service.SENDS) if r.get("result") == "ok"}
    assert at == "2027-03-14T13:30:00+00:00"  # 09:30 EDT


def test_an_unapproved_post_due_before_the_next_tick_gets_one_review_card_and_no_post() -> None:
    cafe = Cafe([row("p1", "2026-12-03 15:00", approved="")], TICK)
    cafe.run()
    cafe.run()  # tick again (cron): no second card for the same minute
    cards = [m for m in cafe.mailer.sent if m.subject == "Review the post p1"]
    assert len(cards) == 1 and [b.label for b in cards[0].links] == ["Approve", "Hold", "Send now"]
    assert not cafe.scheduler.booked
    approve = next(b.url for b in cards[0].links if b.action == "approve").split("t=")[1]
    assert cafe.act(approve).status == 200
    cafe.until(datetime(2026, 12, 3, 15, 0, tzinfo=SG))
    assert cafe.posted() == [("p1", "facebook")]
    cafe.sheet.update_cell("p1", "publish_at", "2026-12-03 16:00")  # after it went: nothing new
    cafe.run()
    assert len([m for m in cafe.mailer.sent if m.subject == "Review the post p1"]) == 1
