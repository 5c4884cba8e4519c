from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backoffice.core.tokens import LinkClaim, TokenError, mint, nonce_for, read, verify

NOW = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
CLAIM = LinkClaim(
    "expiry-watcher",
    "LIC-1",
    "renew",
    "LIC-1@2026-12-20",
    "n0nce",
    int((NOW + timedelta(days=45)).timestamp()),
    "maria@example.com",
)

claims = st.builds(
    LinkClaim,
    st.text(),
    st.text(),
    st.text(),
    st.text(),
    st.text(),
    st.integers(int(NOW.timestamp()) + 1, 2**40),
    st.text(),
)


@given(claims)
def test_round_trip(claim: LinkClaim) -> None:
    assert read("secret", mint("secret", claim), NOW) == claim


@given(st.data())
def test_any_single_character_change_is_rejected(data: st.DataObject) -> None:
    token = mint("secret", CLAIM)
    index = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from("AbZ09-_.x").filter(lambda c: c != token[index]))
    tampered = token[:index] + replacement + token[index + 1 :]
    with pytest.raises(TokenError):
        read("secret", tampered, NOW)


@pytest.mark.parametrize("token", ["", ".", "abc", "abc.def", "!!!.???", "a.b.c"])
def test_malformed_tokens(token: str) -> None:
    with pytest.raises(TokenError) as error:
        read("secret", token, NOW)
    assert error.value.reason in ("malformed", "bad_signature")


def test_wrong_secret_and_expiry() -> None:
    token = mint("secret", CLAIM)
    with pytest.raises(TokenError) as error:
        read("other", token, NOW)
    assert error.value.reason == "bad_signature"
    with pytest.raises(TokenError) as error:
        read("secret", token, NOW + timedelta(days=46))
    assert error.value.reason == "expired"
    assert verify("secret", token) == CLAIM  # still genuine, so a refusal can name the item


def test_nonces_are_deterministic_and_distinct() -> None:
    assert nonce_for("s", "ew:A:1", "renew") == nonce_for("s", "ew:A:1", "renew")
    assert nonce_for("s", "ew:A:1", "renew") != nonce_for("s", "ew:A:1", "snooze")
    assert nonce_for("s", "ew:A:1", "renew") != nonce_for("t", "ew:A:1", "renew")
    assert nonce_for("s", "a", "bc") != nonce_for("s", "ab", "c")
