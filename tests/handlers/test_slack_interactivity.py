"""Slack's button clicks and modal submissions through the ack handler, signed as Slack signs."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from slack_signing import slack_request
from world import NY, World

from backoffice.handlers.expiry_watcher import HTTP
from backoffice.services import expiry_watcher as service

TUESDAY = datetime(2026, 12, 1, 8, 0, tzinfo=NY)
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
KEY = "ew:CRT-1:2026-12-20:first_alert"


@pytest.fixture
def world() -> World:
    w = World([["CRT-1", "TLS certificate", "2026-12-20", "U024BE7LH", "", ""]], TUESDAY)
    w.run_day()
    return w


def token(world: World, action: str) -> str:
    [message] = [m for m in world.chat.posted if m.idempotency_key == KEY]
    return next(b.value for b in message.buttons if b.action == action)


def signed(
    world: World,
    payload: dict[str, Any],
    secret: str = SECRET,
    age: int = 0,
    raw: bytes | None = None,
) -> dict[str, Any]:
    return slack_request(world.clock.now(), payload, secret, age, raw)


def click(world: World, action: str) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": "U024BE7LH", "username": "sam"},
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "team": {"id": "T1"},
        "container": {
            "type": "message",
            "message_ts": "1548261231.000200",
            "channel_id": "D0CA5BRP8",
            "is_ephemeral": False,
        },
        "channel": {"id": "D0CA5BRP8"},
        "actions": [
            {
                "action_id": action,
                "block_id": "b",
                "type": "button",
                "value": token(world, action),
                "action_ts": "1548426417.840180",
            }
        ],
    }


def test_ack_only_updates_the_message_and_removes_the_buttons(world: World) -> None:
    response = HTTP.answer(signed(world, click(world, "ack_only")), world.ports, world.settings)
    assert response["statusCode"] == 200
    [(message_id, text)] = world.chat.updates
    assert message_id == "D0CA5BRP8:1548261231.000200" and "<@U024BE7LH>" in text
    [ack] = world.rows(service.ACKS)
    assert (ack["action"], ack["by_user"]) == ("ack_only", "slack:U024BE7LH")
    again = HTTP.answer(signed(world, click(world, "ack_only"), age=1), world.ports, world.settings)
    assert again["statusCode"] == 200
    [(_, user, text)] = world.chat.whispers
    assert user == "U024BE7LH" and "already been used" in text


def test_renew_opens_a_date_modal_and_its_submission_renews(world: World) -> None:
    HTTP.answer(signed(world, click(world, "renew")), world.ports, world.settings)
    [(trigger, view)] = world.chat.modals
    assert trigger.startswith("13345224609")
    assert view["type"] == "modal" and view["callback_id"] == "ew_renew"
    assert view["blocks"][0]["element"]["type"] == "datepicker"
    assert world.rows(service.ACKS) == []  # opening the modal changes nothing

    def submit(date: str, age: int) -> dict[str, Any]:
        payload = {
            "type": "view_submission",
            "user": {"id": "U024BE7LH"},
            "view": {
                **view,
                "state": {
                    "values": {
                        "date_block": {"date": {"type": "datepicker", "selected_date": date}}
                    }
                },
            },
        }
        return HTTP.answer(signed(world, payload, age=age), world.ports, world.settings)

    refused = json.loads(submit("2026-01-01", 1)["body"])
    assert refused["response_action"] == "errors" and "after" in refused["errors"]["date_block"]
    done = json.loads(submit("2027-12-20", 2)["body"])
    assert done == {"response_action": "clear"}
    assert world.sheet.rows[1][2] == "2027-12-20"
    assert "renewed to 2027-12-20" in world.chat.updates[-1][1]


@pytest.mark.parametrize(("secret", "age"), [("wrong-secret", 0), (SECRET, 301)])
def test_bad_or_stale_signatures_get_401_and_read_nothing(
    world: World, secret: str, age: int
) -> None:
    before = dict(world.tables.faults.calls)
    response = HTTP.answer(
        signed(world, click(world, "ack_only"), secret, age), world.ports, world.settings
    )
    assert response["statusCode"] == 401
    assert dict(world.tables.faults.calls) == before


@pytest.mark.parametrize("raw", [b"payload=not-json", b"nothing=here", b"payload=%7B%7D"])
def test_malformed_payloads_get_400(world: World, raw: bytes) -> None:
    assert HTTP.answer(signed(world, {}, raw=raw), world.ports, world.settings)["statusCode"] == 400


def test_a_button_for_a_renewed_item_gets_a_polite_private_answer(world: World) -> None:
    world.act(token(world, "renew"), "2027-06-01", "r1")
    HTTP.answer(signed(world, click(world, "snooze")), world.ports, world.settings)
    [(_, _, text)] = world.chat.whispers
    assert "no longer applies" in text and world.chat.modals == []


def test_a_proposal_card_edit_opens_a_modal_whose_submission_adds_the_row(world: World) -> None:
    from attrs import evolve

    from backoffice.ports.calendar import CalendarEvent

    world.settings = evolve(world.settings, admin="U0ADMIN0001")  # the admin is on Slack
    event = CalendarEvent(
        "e1", "cal", "Permt #expires", "", "2027-03-01", "confirmed", "dan@example.com"
    )
    assert world.propose(event)
    card = world.chat.posted[-1]
    assert [b.action for b in card.buttons] == ["approve", "edit", "discard"]
    edit = next(b for b in card.buttons if b.action == "edit")
    payload = {
        "type": "block_actions",
        "user": {"id": "U0ADMIN0001"},
        "trigger_id": "t-1",
        "container": {"type": "message", "message_ts": "1.2", "channel_id": "D1"},
        "actions": [{"action_id": "edit", "value": edit.value, "type": "button"}],
    }
    HTTP.answer(signed(world, payload), world.ports, world.settings)
    [(_, view)] = world.chat.modals
    assert view["callback_id"] == "ew_edit"
    names = [block["block_id"] for block in view["blocks"]]
    assert "name" in names and "expires_on" in names
    state = {
        name: {
            "value": {"type": "plain_text_input", "value": block["element"].get("initial_value")}
        }
        for name, block in zip(names, view["blocks"], strict=True)
    }
    state["name"]["value"]["value"] = "Permit"
    submitted = {
        "type": "view_submission",
        "user": {"id": "U0ADMIN0001"},
        "view": {**view, "state": {"values": state}},
    }
    response = HTTP.answer(signed(world, submitted, age=1), world.ports, world.settings)
    assert json.loads(response["body"]) == {"response_action": "clear"}
    assert world.sheet.rows[-1][1] == "Permit"
