from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backoffice.core.templates import TemplateError, check, placeholders, render

names = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True)
plain = st.text().filter(lambda t: "{" not in t and "}" not in t)


def test_render_and_literal_braces() -> None:
    assert render("{{x}} {item_name}!", {"item_name": "Lease"}) == "{x} Lease!"
    assert render("{a}", {"a": "{b}"}) == "{b}"  # values are never formatted again


@pytest.mark.parametrize(
    "template", ["{a.b}", "{a[0]}", "{a!r}", "{a:>10}", "{", "}", "{}", "{ 1a }"]
)
def test_anything_but_plain_names_is_an_error(template: str) -> None:
    assert check(template, ["a"])
    with pytest.raises(TemplateError):
        render(template, {"a": "x"})


def test_check_lists_unknown_names_and_what_is_known() -> None:
    [message] = check("Hi {owner}, {item_nme}", ["owner", "item_name"])
    assert "{item_nme}" in message and "item_name" in message
    assert check("Hi {owner}", ["owner"]) == []


@given(st.lists(st.tuples(plain, names), max_size=6), plain)
def test_placeholders_and_render_agree(parts: list[tuple[str, str]], tail: str) -> None:
    template = "".join(f"{text}{{{name}}}" for text, name in parts) + tail
    fields = {name: name.upper() for _, name in parts}
    assert placeholders(template) == frozenset(fields)
    assert render(template, fields) == "".join(f"{t}{n.upper()}" for t, n in parts) + tail


@given(plain)
def test_text_without_braces_renders_unchanged(text: str) -> None:
    assert render(text, {}) == text
