"""The social inbox's pipeline on fake adapters: signed webhooks to the queue, the labeler's
dedupe, labels and threads, the router's eligibility, load and turns, the queue when nobody is
free, the sweeper's breaches, dead letters and the digest."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from attrs import evolve
from shop import SG, VERIFY_TOKEN, Shop, messenger, signed, whatsapp

from backoffice.adapters.fake.faults import InjectedFault
from backoffice.services import social_inbox as service
from backoffice.services.social_inbox.state import thread_write

THURSDAY = datetime(2026, 12, 3, 10, 0, tzinfo=SG)


def test_a_signed_message_becomes_a_labelled_thread_with_the_right_teammate() -> None:
    shop = Shop(THURSDAY)
    answer = shop.webhook("facebook", messenger("c1", "m1", "Where is my order?", THURSDAY))
    assert answer.status == 200 and json.loads(answer.body)["queued"] == 1
    assert shop.threads() == []  # queued, answered at once; the labeler does the rest
    assert shop.drain() == {"new": 1}
    [thread] = shop.threads()
    assert (thread.label.topic, thread.label.urgency, thread.team) == ("orders", "normal", "sales")
    assert thread.assignee == "mei"  # the first in turn of the least loaded (mei, dev)
    assert thread.sla_due == THURSDAY + timedelta(hours=4)
    assert shop.loads() == {"mei": 1}


def test_a_bad_signature_or_body_gets_a_clear_answer_and_nothing_is_queued() -> None:
    shop = Shop(THURSDAY)
    body = json.dumps(messenger("c1", "m1", "hello", THURSDAY)).encode()
    assert shop.webhook("facebook", body, signature="sha256=" + "0" * 64).status == 401
    assert shop.webhook("facebook", body, signature="").status == 401
    assert shop.webhook("facebook", body[:-1], signature=signed(body)).status == 401
    assert shop.webhook("facebook", b"not json", signature=signed(b"not json")).status == 400
    wrong = json.dumps(whatsapp("65", "w1", "hi", THURSDAY)).encode()
    assert shop.webhook("facebook", wrong).status == 400  # a WhatsApp payload on Messenger's URL
    assert shop.webhook("myspace", body).status == 404
    assert shop.queue.sent == []


def test_the_handshake_echoes_the_challenge_only_to_our_verify_token() -> None:
    shop = Shop(THURSDAY)
    ok = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    assert service.handshake(shop.settings, "whatsapp", ok).body == "1158201444"
    for bad in ({**ok, "hub.verify_token": "guess"}, {**ok, "hub.mode": "unsubscribe"}, {}):
        assert service.handshake(shop.settings, "whatsapp", bad).status == 403


def test_reads_deliveries_and_echoes_are_acknowledged_and_dropped() -> None:
    shop = Shop(THURSDAY)
    payload = messenger("c1", "m1", "hi", THURSDAY)
    item = payload["entry"][0]["messaging"][0]
    echo = {**item, "message": {**item["message"], "is_echo": True, "mid": "m2"}}
    read = {
        "sender": item["sender"],
        "recipient": item["recipient"],
        "timestamp": 1,
        "read": {"watermark": 1},
    }
    payload["entry"][0]["messaging"] += [echo, read]
    answer = json.loads(shop.webhook("facebook", payload).body)
    assert (answer["queued"], answer["ignored"]) == (1, 2)


def test_meta_redelivering_a_message_makes_no_second_thread_or_message() -> None:
    shop = Shop(THURSDAY)
    payload = whatsapp("6591234567", "wamid.1", "Are you open on Sunday?", THURSDAY)
    for _ in range(3):
        shop.webhook("whatsapp", payload)
    assert shop.drain() == {"new": 1, "duplicate": 2}
    [thread] = shop.threads()
    assert len(thread.messages) == 1 and shop.loads() == {"mei": 1}


def test_the_same_text_again_within_the_window_is_a_repeat_and_later_it_is_a_message() -> None:
    shop = Shop(THURSDAY)
    shop.webhook("facebook", messenger("c1", "m1", "Hello  there", THURSDAY))
    shop.webhook("facebook", messenger("c1", "m2", "hello there", THURSDAY))
    assert shop.drain() == {"new": 1, "repeat": 1}
    shop.clock.advance(timedelta(hours=73))
    shop.webhook("facebook", messenger("c1", "m3", "Hello there", shop.clock.now()))
    assert shop.drain() == {"joined": 1}
    assert len(shop.thread_of("c1").messages) == 2


def test_a_customer_with_an_open_thread_joins_it_and_a_closed_one_is_reopened_and_routed() -> None:
    shop = Shop(THURSDAY)
    shop.webhook("facebook", messenger("c1", "m1", "order 17?", THURSDAY))
    shop.webhook("facebook", messenger("c1", "m2", "any news?", THURSDAY + timedelta(minutes=1)))
    assert shop.drain() == {"new": 1, "joined": 1}
    thread = shop.thread_of("c1")
    assert thread.assignee == "mei" and len(thread.messages) == 2
    closed = evolve(thread, status="closed", version=thread.version + 1)  # a teammate closes it
    shop.tables.transact([thread_write(thread, closed)])
    shop.tables.put("siu-loadcount", {"assignee": "mei", "kind": "load", "open_threads": 0})
    shop.clock.set(datetime(2026, 12, 3, 12, 30, tzinfo=SG))  # mei is at lunch
    shop.webhook("facebook", messenger("c1", "m3", "the delivery never came", shop.clock.now()))
    assert shop.drain() == {"reopened": 1}
    reopened = shop.thread_of("c1")
    assert reopened.status == "open" and reopened.assignee == "dev"  # routed to someone free
    assert len(shop.threads()) == 1 and len(reopened.messages) == 3


def test_urgent_goes_to_the_least_loaded_and_normal_ties_go_in_turn() -> None:
    shop = Shop(THURSDAY)
    for n in range(3):
        shop.webhook("facebook", messenger(f"c{n}", f"m{n}", "my invoice", THURSDAY))
    shop.drain()
    assert [t.assignee for t in shop.threads()] == ["mei", "ravi", "mei"]
    shop.webhook("facebook", messenger("u", "mu", "URGENT: charged twice", THURSDAY))
    shop.drain()
    assert shop.thread_of("u").assignee == "ravi" and shop.thread_of("u").label.urgency == "urgent"


def test_nobody_away_off_hours_or_at_capacity_is_assigned_and_the_queue_waits_for_someone() -> None:
    night = datetime(2026, 12, 3, 20, 0, tzinfo=SG)
    shop = Shop(night)  # support: mei and ravi off, lena away
    shop.webhook("whatsapp", whatsapp("65", "w1", "refund please", night))
    shop.drain()
    [thread] = shop.threads()
    assert thread.queued and thread.team == "support"
    [notice] = [n for n in shop.notices() if n.to == "C0SUPPORT01"]
    assert "waits in the support queue" in notice.text
    shop.clock.set(datetime(2026, 12, 4, 8, 55, tzinfo=SG))
    shop.tick()
    assert shop.threads()[0].queued
    shop.clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=SG))
    shop.tick()  # the sweeper: mei starts work
    assert shop.threads()[0].assignee == "mei" and shop.loads() == {"mei": 1}
    assert len([n for n in shop.notices() if n.to == "C0SUPPORT01"]) == 1


def test_capacity_caps_a_teammate_and_then_the_team_queues() -> None:
    shop = Shop(THURSDAY)
    for n in range(6):
        shop.webhook("facebook", messenger(f"c{n}", f"m{n}", "refund", THURSDAY))
    shop.drain()
    assignees = [t.assignee for t in shop.threads()]
    assert sorted(a for a in assignees if a) == ["mei", "mei", "mei", "ravi", "ravi"]
    assert assignees.count(None) == 1 and shop.loads() == {"mei": 3, "ravi": 2}


def test_a_breached_thread_goes_to_a_backup_with_a_notice_and_nothing_to_the_customer() -> None:
    shop = Shop(THURSDAY)
    shop.webhook("facebook", messenger("c1", "m1", "refund for my invoice", THURSDAY))
    shop.drain()
    assert shop.thread_of("c1").assignee == "mei"
    shop.clock.set(THURSDAY + timedelta(hours=4, minutes=1))
    shop.tick()
    thread = shop.thread_of("c1")
    assert thread.assignee == "ravi"  # billing's backup is mei herself: the next is mei's, ravi
    assert shop.loads() == {"mei": 0, "ravi": 1}
    assert (
        thread.sla_due == shop.clock.now().replace(second=0) + timedelta(hours=4) or thread.sla_due
    )
    [notice] = [n for n in shop.notices() if "passed its target" in n.text]
    assert notice.to == "C0SUPPORT01"
    assert [m.direction for m in thread.messages] == ["in"]


class Labels:
    def __init__(self, *answers: str | Exception) -> None:
        self.answers = list(answers)

    def complete(self, instructions: str, prompt: str) -> str:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (
            ['{"topic": "orders", "urgency": "urgent", "language": "en", "summary": "late"}'],
            ("orders", "urgent", "model"),
        ),
        (
            [
                "Sure! Here you go",
                '{"topic": "billing", "urgency": "normal", "language": "en", "summary": "s"}',
            ],
            ("billing", "normal", "model"),
        ),
        (
            [
                "nope",
                '{"topic": "astrology", "urgency": "normal", "language": "en", "summary": "s"}',
            ],
            ("other", "normal", "fallback"),
        ),
        ([RuntimeError("throttled"), RuntimeError("throttled")], ("other", "normal", "fallback")),
    ],
)
def test_the_models_labels_keep_a_strict_contract_with_one_retry_then_the_fallback(
    answers: list[str | Exception], expected: tuple[str, str, str]
) -> None:
    shop = Shop(THURSDAY)
    shop.ports = evolve(shop.ports, model=Labels(*answers))
    shop.webhook("facebook", messenger("c1", "m1", "hello", THURSDAY))
    shop.drain()
    label = shop.thread_of("c1").label
    assert (label.topic, label.urgency, label.source) == expected


def test_a_record_that_keeps_failing_goes_to_the_dead_letter_queue_and_the_digest_says_so() -> None:
    shop = Shop(THURSDAY)
    shop.webhook("facebook", messenger("c1", "m1", "order?", THURSDAY))
    shop.tables.faults.fail_next("transact", InjectedFault("transact"), times=30)
    for _ in range(6):
        shop.drain()
        shop.clock.advance(timedelta(minutes=2))
    assert shop.queue.dead and shop.threads() == []
    shop.tables.faults.clear()
    shop.clock.set(datetime(2026, 12, 3, 18, 0, tzinfo=SG))
    [digest] = shop.system.reports(shop.ports, shop.settings)
    assert digest.status == "sent"
    [posted] = [n for n in shop.notices() if n.to == "C0SHOPTEAM1"]
    assert "dead-letter queue): 1" in posted.text


def test_the_digest_counts_the_day_once() -> None:
    shop = Shop(THURSDAY)
    shop.webhook("facebook", messenger("c1", "m1", "order?", THURSDAY))
    shop.drain()
    shop.clock.set(datetime(2026, 12, 3, 18, 0, tzinfo=SG))
    assert len(shop.system.reports(shop.ports, shop.settings)) == 1
    assert shop.system.reports(shop.ports, shop.settings) == []
    [posted] = [n for n in shop.notices() if n.to == "C0SHOPTEAM1"]
    assert "Messages in on 03 December: 1" in posted.text and "Still open: 1" in posted.text


def test_a_batch_reads_the_rules_and_the_roster_once_for_all_its_messages() -> None:
    shop = Shop(THURSDAY)
    for n in range(4):
        shop.webhook("facebook", messenger(f"c{n}", f"m{n}", "Where is my order?", THURSDAY))
    shop.blobs.faults.calls.clear()
    assert shop.drain() == {"new": 4}
    assert shop.blobs.faults.calls["get"] == 2  # the roster and the rules, for the one batch


def test_documents_that_cannot_be_read_fail_each_message_needing_them_and_lose_none() -> None:
    shop = Shop(THURSDAY)
    shop.webhook("facebook", messenger("c1", "m1", "order?", THURSDAY))
    assert shop.drain() == {"new": 1}
    shop.webhook("facebook", messenger("c1", "m1", "order?", THURSDAY))  # a re-delivery
    shop.webhook("facebook", messenger("c2", "m2", "refund?", THURSDAY))
    shop.webhook("facebook", messenger("c3", "m3", "open?", THURSDAY))
    shop.blobs.faults.fail_next("get", times=2)  # one read each, for the two new messages
    assert shop.drain() == {"duplicate": 1, "failed": 2}
    shop.clock.advance(timedelta(minutes=2))  # past the queue's visibility timeout
    assert shop.drain() == {"new": 2}
    assert {t.customer_id for t in shop.threads()} == {"c1", "c2", "c3"}
