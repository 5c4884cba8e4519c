from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backoffice.core.documents import DocumentError, load_toml, normalise


def test_docs_export_artefacts_are_normalised_before_parsing() -> None:
    exported = (
        "\ufeff[chains.default]\r\nescalate_to = \u201cops@example.com\u201d\r\n"
        "first_alert_days\u00a0= 30\r\nnote = \u201cit\u2019s fine\u201d\n"
    )
    doc = load_toml(exported, "rules.toml")
    assert doc["chains"]["default"] == {
        "escalate_to": "ops@example.com",
        "first_alert_days": 30,
        "note": "it's fine",
    }


def test_errors_name_file_and_line() -> None:
    with pytest.raises(DocumentError) as error:
        load_toml('a = 1\nb = "fine"\nc = no quotes\n', "voice.toml")
    assert (error.value.file, error.value.line) == ("voice.toml", 3)
    assert str(error.value).startswith("voice.toml:3: ")
    assert "quotes" in error.value.message


@given(st.text())
def test_normalise_is_idempotent(text: str) -> None:
    assert normalise(normalise(text)) == normalise(text)
