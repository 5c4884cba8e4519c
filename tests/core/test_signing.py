from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backoffice.core.signing import hub_signature_valid, slack_signature_valid

# Slack's documented example request (api.slack.com, "Verifying requests from Slack").
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TIMESTAMP = "1531420618"
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    b"collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F3977008"
    b"85554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c4"
    b"47fce8b6703c"
)
SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
SENT = datetime.fromtimestamp(int(SLACK_TIMESTAMP), UTC)


def test_slacks_documented_example_verifies() -> None:
    assert slack_signature_valid(
        SLACK_SECRET, SLACK_TIMESTAMP, SLACK_BODY, SLACK_SIGNATURE, SENT + timedelta(seconds=30)
    )


def test_slack_signature_agrees_with_slack_sdk() -> None:
    from slack_sdk.signature import SignatureVerifier

    body = b'payload={"type":"block_actions"}'
    timestamp = str(int(SENT.timestamp()))
    signature = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=timestamp, body=body)
    assert slack_signature_valid(SLACK_SECRET, timestamp, body, signature, SENT)


@pytest.mark.parametrize(
    ("secret", "timestamp", "body", "signature", "now"),
    [
        (SLACK_SECRET, SLACK_TIMESTAMP, SLACK_BODY, SLACK_SIGNATURE, SENT + timedelta(seconds=301)),
        (SLACK_SECRET, SLACK_TIMESTAMP, SLACK_BODY, SLACK_SIGNATURE, SENT - timedelta(seconds=301)),
        (SLACK_SECRET, SLACK_TIMESTAMP, SLACK_BODY + b"&x=1", SLACK_SIGNATURE, SENT),
        ("another-secret", SLACK_TIMESTAMP, SLACK_BODY, SLACK_SIGNATURE, SENT),
        (SLACK_SECRET, "not-a-number", SLACK_BODY, SLACK_SIGNATURE, SENT),
        (SLACK_SECRET, SLACK_TIMESTAMP, SLACK_BODY, SLACK_SIGNATURE[3:], SENT),
        (SLACK_SECRET, SLACK_TIMESTAMP, SLACK_BODY, "v0=", SENT),
        (SLACK_SECRET, SLACK_TIMESTAMP, SLACK_BODY, "v1=" + SLACK_SIGNATURE[3:], SENT),
    ],
)
def test_slack_rejections(
    secret: str, timestamp: str, body: bytes, signature: str, now: datetime
) -> None:
    assert not slack_signature_valid(secret, timestamp, body, signature, now)


def test_uppercase_hex_and_empty_bodies() -> None:
    assert slack_signature_valid(
        SLACK_SECRET, SLACK_TIMESTAMP, SLACK_BODY, "v0=" + SLACK_SIGNATURE[3:].upper(), SENT
    )
    empty = (
        "v0="
        + hmac.new(
            SLACK_SECRET.encode(), f"v0:{SLACK_TIMESTAMP}:".encode(), hashlib.sha256
        ).hexdigest()
    )
    assert slack_signature_valid(SLACK_SECRET, SLACK_TIMESTAMP, b"", empty, SENT)


def hub(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@given(st.text(min_size=1), st.binary())
def test_hub_signature_round_trip_and_tampering(secret: str, body: bytes) -> None:
    header = hub(secret, body)
    assert hub_signature_valid(secret, body, header)
    assert not hub_signature_valid(secret, body + b"x", header)
    assert not hub_signature_valid(secret + "x", body, header)


@pytest.mark.parametrize(
    "header", ["", "sha256=", "sha1=" + "0" * 40, "sha256=" + "z" * 64, "sha256=" + "0" * 63]
)
def test_hub_signature_malformed_headers(header: str) -> None:
    assert not hub_signature_valid("secret", b"{}", header)
