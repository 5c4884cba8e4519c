"""The onboarding guide's flows on fake adapters: the daily journey in each customer's time,
done links, the owner's answers, the webhook, bounces, personalised steps and the reports."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from saas import NY, Saas

from backoffice.adapters.fake import InjectedFault
from backoffice.services import onboarding_guide as service

START = datetime(2026, 12, 1, 8, 0, tzinfo=NY)  # a Tuesday
ROWS = [
    "c1,Ada,ada@example.com,starter,2026-12-01 07:30,founder@example.com,,",
    "c2,Kenji,kenji@example.jp,team,2026-12-01T10:00:00+09:00,U0OWNER001,Asia/Tokyo,",
]


def sent_keys(saas: Saas) -> list[str]:
    return [key for _, key, _ in saas.delivered]


def test_each_step_goes_out_on_its_day_and_once() -> None:
    saas = Saas(ROWS[:1], START)
    saas.day()
    assert sent_keys(saas) == ["og:c1:welcome:step_due"]
    saas.day()  # Wednesday: day 1
    assert sent_keys(saas)[1:] == ["og:c1:connect:step_due"]
    saas.run()  # a second run the same day sends nothing again
    assert len(sent_keys(saas)) == 2


def test_a_nudge_then_the_owners_flag_when_the_step_is_not_done() -> None:
    saas = Saas(ROWS[:1], START)
    for _ in range(8):
        saas.day()
    keys = sent_keys(saas)
    assert keys.index("og:c1:connect:step_due") < keys.index("og:c1:connect:nudge")
    assert keys.index("og:c1:connect:nudge") < keys.index("og:c1:connect:flag")
    flag = next(d for d in saas.delivered if d[1] == "og:c1:connect:flag")
    assert flag[2] == "founder@example.com"
    [mail] = [m for m in saas.mailer.sent if m.idempotency_key == "og:c1:connect:flag"]
    assert [link.action for link in mail.links] == ["pause", "hand_off", "finish"]
    assert len(keys) == len(set(keys))


def test_the_done_link_stops_the_steps_nudge_and_flag() -> None:
    saas = Saas(ROWS[:1], START)
    saas.day()
    saas.day()
    token = saas.done_tokens("ada@example.com")[-1]
    assert saas.open(token).status == 200
    assert saas.act(token, request_id="r1").accepted
    assert saas.act(token, request_id="r2").status == 409  # single use
    for _ in range(8):
        saas.day()
    assert not [
        k for k in sent_keys(saas) if k.startswith("og:c1:connect:") and "step_due" not in k
    ]
    [audit] = [r for r in saas.rows(service.AUDIT) if r["action"] == "step_done"]
    assert audit["by_user"] == "ada@example.com" and "connect" in audit["after"]["steps_done"]


def test_steps_go_out_in_the_customers_business_hours() -> None:
    saas = Saas(ROWS[1:], START)
    delivered = saas.day()  # 09:00 New York is 23:00 in Tokyo: deferred to 08:00 there
    assert {d.status for d in delivered if d.kind == "step_due"} == {"deferred"}
    saas.until(START + timedelta(days=1))
    [(at, _, _), *_] = saas.delivered
    local = at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert (local.hour, local.minute) == (8, 0)
    assert sent_keys(saas)[:2] == ["og:c2:welcome:step_due", "og:c2:connect:step_due"]


def test_a_step_waits_for_the_earlier_one_being_retried() -> None:
    saas = Saas(ROWS[:1], START + timedelta(days=1))  # day 1: welcome and connect both due
    saas.mailer.faults.fail_next("send")
    saas.day()
    assert sent_keys(saas) == []
    saas.until(saas.clock.now() + timedelta(hours=1))
    assert sent_keys(saas) == ["og:c1:welcome:step_due", "og:c1:connect:step_due"]


def test_owner_pause_hand_off_and_finish() -> None:
    saas = Saas(ROWS[:1], START)
    for _ in range(8):
        saas.day()
    [flag] = [m for m in saas.mailer.sent if m.idempotency_key == "og:c1:connect:flag"]
    tokens = {link.action: link.value for link in flag.links}
    page = saas.open(tokens["hand_off"])
    assert page.form is not None and page.form.fields == (("hand_off_to", ""),)
    refused = saas.act(tokens["hand_off"], fields={"hand_off_to": "not someone"})
    assert not refused.accepted
    handed = saas.act(tokens["hand_off"], fields={"hand_off_to": "U0BEN0001"}, request_id="h")
    assert handed.accepted, handed.message
    assert saas.chat.posted[-1].to == "U0BEN0001"  # the colleague is told
    row = next(r for r in saas.sheet_rows() if r[0] == "c1")
    assert row[5] == "U0BEN0001" and row[7] == "handed off"
    before = len(saas.delivered)
    saas.day()
    assert len(saas.delivered) == before  # nothing more to the customer
    finished = saas.act(tokens["finish"], request_id="f")
    assert finished.accepted
    assert any(r["archive_index"].endswith("#chain") for r in saas.rows(service.ARCHIVE))
    assert saas.act(tokens["pause"], fields={"note": "x"}, request_id="p").status == 409


def test_enroll_appends_one_row_and_answers_again_idempotently() -> None:
    saas = Saas(ROWS[:1], START)
    body = {
        "signup_id": "s-9",
        "email": "zoe@example.com",
        "name": '=HYPERLINK("http://x","Zoë")',
        "plan": "team",
        "signed_up_at": "2026-12-01T12:55:00Z",
    }
    assert saas.enroll(body).body == {"status": "enrolled"}
    assert saas.enroll(body).body == {"status": "already_enrolled"}
    rows = [r for r in saas.sheet_rows() if r[0] == "s-9"]
    assert (
        len(rows) == 1 and rows[0][2] == "zoe@example.com" and rows[0][5] == "founder@example.com"
    )
    assert rows[0][1] == body["name"]  # as typed, never a formula
    assert b"'=HYPERLINK" in saas.blobs.get("onboarding.csv").body


def test_enroll_refuses_a_wrong_secret_a_bad_body_and_too_much() -> None:
    saas = Saas(ROWS[:1], START)
    good = {
        "signup_id": "s1",
        "email": "a@b.co",
        "name": "A",
        "plan": "team",
        "signed_up_at": "2026-12-01T12:00:00Z",
    }
    assert saas.enroll(good, secret="nope").status == 401
    bad = saas.enroll({**good, "email": "a at b", "plan": "gold", "signed_up_at": "2027-01-01"})
    assert bad.status == 400
    assert bad.body["fields"] == ["email", "plan", "signed_up_at"]
    missing = saas.enroll({"email": "a@b.co"})
    assert set(missing.body["fields"]) == {"signup_id", "name", "plan", "signed_up_at"}
    assert saas.enroll(b"{not json").status == 400
    assert saas.enroll(b"[1]").status == 400
    assert saas.enroll(b" " * (64 * 1024 + 1)).status == 413
    assert [r[0] for r in saas.sheet_rows()[1:]] == ["c1"]


def test_a_failed_append_gives_the_claim_back_so_the_retry_enrolls() -> None:
    saas = Saas(ROWS[:1], START)
    good = {
        "signup_id": "s1",
        "email": "a@b.co",
        "name": "A",
        "plan": "team",
        "signed_up_at": "2026-12-01T12:00:00Z",
    }
    saas.blobs.faults.fail_next("put")
    with pytest.raises(InjectedFault):
        saas.enroll(good)
    assert saas.enroll(good).body == {"status": "enrolled"}
    assert [r[0] for r in saas.sheet_rows()[1:]] == ["c1", "s1"]


def test_a_hard_bounce_pauses_the_customer_once_and_tells_the_owner() -> None:
    saas = Saas(ROWS[:1], START)
    saas.day()
    [outcome] = saas.bounce("ADA@example.com", "fb-1")
    assert outcome.outcome == "paused"
    [again] = saas.bounce("ada@example.com", "fb-1")
    assert again.outcome == "unchanged"
    told = [m for m in saas.mailer.sent if m.to == ("founder@example.com",)]
    assert len(told) == 1 and "Ada" in told[0].text
    assert saas.bounce("ada@example.com", "fb-2", kind="Transient")[0].outcome == "soft"
    before = len(saas.delivered)
    for _ in range(3):
        saas.day()
    assert len(saas.delivered) == before
    assert next(r for r in saas.sheet_rows() if r[0] == "c1")[7] == "paused"


class Rewriter:
    def __init__(self, answer: str) -> None:
        self.answer = answer

    def complete(self, instructions: str, prompt: str) -> str:
        return self.answer.replace("LINK", prompt.split("Done? ")[-1].strip())


@pytest.mark.parametrize(
    ("answer", "used"),
    [
        ("Hey Ada! Hook up your data here when ready: LINK", True),
        ("Hey Ada, no link here.", False),
        ("Hey {name}: LINK", False),
        ("Click https://evil.example/x or LINK", False),
        ("x" * 2100 + " LINK", False),
    ],
)
def test_a_personalised_step_uses_the_rewrite_only_when_it_passes(answer: str, used: bool) -> None:
    from attrs import evolve

    saas = Saas(ROWS[:1], START + timedelta(days=1))
    saas.ports = evolve(saas.ports, model=Rewriter(answer))
    saas.day()
    [mail] = [m for m in saas.mailer.sent if m.idempotency_key == "og:c1:connect:step_due"]
    assert mail.text.startswith("Hey") is used
    assert "/og/answer?t=" in mail.text


def test_the_weekly_digest_lists_stuck_and_paused() -> None:
    from backoffice.core import onboarding_guide as og

    saas = Saas(ROWS[:1], START)
    for _ in range(4):
        saas.day()
    docs = service.load_documents(saas.blobs, saas.settings)
    digest = og.compose_digest(docs.customers, service.load_state(saas.tables), START.date())
    assert "Stuck: nudged and not done yet (1)" in digest.text and "connect" in digest.text
