"""The ack handler with Function URL events: the real sample when ../shared is present, and the
same shape built here otherwise."""

from __future__ import annotations

import base64
import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from world import NY, World

from backoffice.handlers.expiry_watcher import HTTP
from backoffice.services import expiry_watcher as service

SAMPLE = (
    Path(__file__).parents[2]
    / "../shared/fixtures/aws-events/aws_powertools_lambdaFunctionUrlEvent.json"
)
TUESDAY = datetime(2026, 12, 1, 8, 0, tzinfo=NY)


def built_event() -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": {},
        "requestContext": {"http": {"method": "GET", "path": "/"}, "requestId": "built"},
        "isBase64Encoded": False,
    }


def sample_event() -> dict[str, Any]:
    if not SAMPLE.exists():
        pytest.skip("the shared AWS event samples are not beside this clone")
    return json.loads(SAMPLE.read_text())


@pytest.fixture(params=["sample", "built"])
def base_event(request: pytest.FixtureRequest) -> dict[str, Any]:
    return sample_event() if request.param == "sample" else built_event()


def request(
    base: dict[str, Any],
    method: str,
    path: str,
    query: str = "",
    body: bytes = b"",
    encode: bool = False,
) -> dict[str, Any]:
    event = copy.deepcopy(base)
    event["rawPath"] = path
    event["rawQueryString"] = query
    event["requestContext"]["http"].update(method=method, path=path)
    if body:
        event["body"] = base64.b64encode(body).decode() if encode else body.decode()
        event["isBase64Encoded"] = encode
    return event


@pytest.fixture
def world() -> World:
    w = World([["LIC-1", "Licence", "2026-12-20", "maria@example.com", "", ""]], TUESDAY)
    w.run_day()
    return w


def test_get_confirms_and_post_acts(world: World, base_event: dict[str, Any]) -> None:
    links = world.links("ew:LIC-1:2026-12-20:first_alert")
    token = links["Snooze"]
    before = world.tables.snapshot()
    page = HTTP.answer(
        request(base_event, "GET", "/ew/ack", f"t={token}"), world.ports, world.settings
    )
    assert page["statusCode"] == 200 and page["headers"]["content-type"].startswith("text/html")
    assert 'method="post"' in page["body"] and 'name="date"' in page["body"]
    assert world.tables.snapshot() == before
    form = urlencode({"t": token, "date": "2026-12-10"}).encode()
    done = HTTP.answer(
        request(base_event, "POST", "/ew/ack", body=form, encode=True), world.ports, world.settings
    )
    assert done["statusCode"] == 200 and "paused until 2026-12-10" in done["body"]
    [ack] = world.rows(service.ACKS)
    assert (ack["action"], ack["snooze_until"], ack["by_user"]) == (
        "snooze",
        "2026-12-10",
        "maria@example.com",
    )


def test_plain_bodies_and_refusals(world: World, base_event: dict[str, Any]) -> None:
    token = world.links("ew:LIC-1:2026-12-20:first_alert")["Ack only"]
    body = urlencode({"t": token}).encode()
    first = HTTP.answer(
        request(base_event, "POST", "/ew/ack", body=body), world.ports, world.settings
    )
    again = HTTP.answer(
        request(base_event, "POST", "/ew/ack", body=body), world.ports, world.settings
    )
    assert (first["statusCode"], again["statusCode"]) == (200, 409)
    assert (
        HTTP.answer(request(base_event, "GET", "/elsewhere"), world.ports, world.settings)[
            "statusCode"
        ]
        == 404
    )
    assert (
        HTTP.answer(request(base_event, "PUT", "/ew/ack"), world.ports, world.settings)[
            "statusCode"
        ]
        == 405
    )
    bad = HTTP.answer(
        request(base_event, "GET", "/ew/ack", "t=%3Cscript%3E"), world.ports, world.settings
    )
    assert bad["statusCode"] == 400 and "<script>" not in bad["body"]
