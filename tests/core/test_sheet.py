from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backoffice.core.sheet import (
    column_index,
    is_email,
    is_slack_user,
    normalise_header,
    parse_date,
    parse_int,
    read_csv,
)


@pytest.mark.parametrize("name", ["Expires On", " expires_on ", "EXPIRES-ON", "\ufeffExpires  On"])
def test_headers_match_case_and_space_insensitively(name: str) -> None:
    assert normalise_header(name) == "expires_on"
    assert column_index(["Item ID", name], "expires on") == 1


def test_line_numbers_survive_blank_lines_and_quoted_newlines() -> None:
    table, problems = read_csv('Item ID,Notes\n\nA,"two\nlines"\n\nB,x,extra\nC\n', "registry.csv")
    assert [(r.line, r.values["item_id"]) for r in table.rows] == [(3, "A"), (6, "B"), (7, "C")]
    assert table.rows[0].values["notes"] == "two\nlines"
    assert table.rows[2].values["notes"] == ""
    [problem] = problems
    assert (problem.line, problem.value) == (6, "extra")


def test_a_line_the_csv_reader_refuses_is_one_problem_and_the_rest_is_read() -> None:
    """A stray carriage return before a NUL (a damaged export) is not a traceback."""
    table, problems = read_csv("Item ID,Notes\nA,x\r\x00y\nB,z\n", "registry.csv")
    assert [(r.line, r.values["item_id"]) for r in table.rows] == [(3, "B")]
    [problem] = problems
    assert (problem.file, problem.line) == ("registry.csv", 2)
    assert "the row is skipped" in problem.message


def test_header_problems() -> None:
    _, problems = read_csv("item_id,,Item ID\n1,2,3\n", "registry.csv")
    assert [p.message.split(";")[0] for p in problems] == [
        "a column has no name",
        "this column name appears twice",
    ]


@pytest.mark.parametrize(
    ("text", "dayfirst", "expected"),
    [
        ("2026-12-01", False, date(2026, 12, 1)),
        ("04/06/2027", False, date(2027, 4, 6)),
        ("04/06/2027", True, date(2027, 6, 4)),
        ("1 Dec 2026", False, date(2026, 12, 1)),
        ("December 1, 2026", False, date(2026, 12, 1)),
        ("2026/12/01", True, date(2026, 12, 1)),  # a year first is never day-first
    ],
)
def test_dates(text: str, dayfirst: bool, expected: date) -> None:
    assert parse_date(text, dayfirst=dayfirst) == expected


@pytest.mark.parametrize("text", ["", "soon", "December", "2026", "12/2026", "31/31/2026"])
def test_incomplete_or_bad_dates_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected a date like 2026-12-01"):
        parse_date(text, dayfirst=False)


@given(st.dates(date(1900, 1, 1), date(2200, 12, 31)), st.booleans())
def test_iso_dates_always_parse(day: date, dayfirst: bool) -> None:
    assert parse_date(day.isoformat(), dayfirst=dayfirst) == day


@given(
    st.datetimes(datetime(1971, 1, 1), datetime(2200, 12, 31)),
    st.booleans(),
    st.sampled_from(["%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M"]),
)
def test_a_start_written_year_first_reads_the_same_in_every_workspace(
    when: datetime, dayfirst: bool, spelling: str
) -> None:
    """Reschedules write starts_at year first; a day-first business must read it back as is."""
    from zoneinfo import ZoneInfo

    from backoffice.core.appointment_reminder import parse_start

    start = when.replace(second=0, microsecond=0)
    parsed = parse_start(start.strftime(spelling), ZoneInfo("UTC"), dayfirst=dayfirst)
    assert parsed.replace(tzinfo=None) == start


def test_numbers_and_recipients() -> None:
    assert parse_int(" 30 ") == 30
    for bad in ("abc", "-1", "1.5", ""):
        with pytest.raises(ValueError):
            parse_int(bad)
    assert is_email("maria@example.com") and not is_email("maria@example")
    assert not is_email("a b@example.com") and not is_email("a@b@example.com")
    assert is_slack_user("U024BE7LH") and is_slack_user("W012A3CDE")
    assert not is_slack_user("u024be7lh") and not is_slack_user("C024BE7LH")


def _dateutil_reading(text: str, dayfirst: bool) -> date | None:
    """What dateutil makes of a numeric date: the reference the quick path must agree with."""
    from dateutil import parser as date_parser

    try:
        return date_parser.parse(text, dayfirst=dayfirst, default=datetime(2000, 1, 1)).date()
    except (ValueError, OverflowError):
        return None


@given(
    st.integers(0, 40),
    st.integers(0, 40),
    st.integers(1000, 9999),
    st.sampled_from("/.-"),
    st.booleans(),
    st.booleans(),
)
def test_numeric_dates_read_as_dateutil_reads_them(
    first: int, second: int, year: int, separator: str, padded: bool, dayfirst: bool
) -> None:
    width = 2 if padded else 1
    text = f"{first:0{width}d}{separator}{second:0{width}d}{separator}{year}"
    expected = _dateutil_reading(text, dayfirst)
    if expected is None:
        with pytest.raises(ValueError, match="not a date"):
            parse_date(text, dayfirst=dayfirst)
    else:
        assert parse_date(text, dayfirst=dayfirst) == expected


@given(st.dates(date(1000, 1, 1), date(9999, 12, 31)))
def test_a_numeric_date_that_reads_two_ways_is_refused_without_an_order(day: date) -> None:
    text = f"{day.day:02d}/{day.month:02d}/{day.year}"
    if day.day != day.month and day.day <= 12:
        with pytest.raises(ValueError, match="reads two ways"):
            parse_date(text, dayfirst=None)
    else:
        assert parse_date(text, dayfirst=None) == day
