"""The appointment reminders' quick ways agree with the general ones they stand in for: a start
written `2026-12-01 14:30` (beside dateutil's reading), a number written in E.164 (beside
phonenumbers' parse), and the hourly plan, which sets far-off appointments aside first (beside
`appointment_moves` of every appointment)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from attrs import evolve
from hypothesis import given, settings
from hypothesis import strategies as st

from backoffice.core import appointment_reminder as ar
from backoffice.core.appointment_reminder.sheet import read_start

ZONES = ("Asia/Singapore", "America/New_York", "Australia/Lord_Howe", "Pacific/Apia")
RULES = evolve(
    ar.load_rules(
        """
[services.default]
first_reminder_hours = 24
second_reminder_hours = 2
gap_alert_hours = 12
duration_min = 30

[services.colour]
first_reminder_hours = 48
gap_alert_hours = 30
duration_min = 90

[booking]
open = "09:00-18:00"
days = "Mon-Sat"
slot_minutes = 30
horizon_days = 14
"""
    ),
    staff_channel="C1",
)


def _outcome(read: object, *args: object, **kwargs: object) -> tuple[object, ...]:
    """What a reading gives: the instant as wall clock, fold, offset and zone; or its error."""
    try:
        at = read(*args, **kwargs)  # type: ignore[operator]
    except (ValueError, OverflowError) as error:  # overflow: the year 1 out east of Greenwich
        return (type(error).__name__, str(error))
    return (at.replace(tzinfo=None), at.fold, at.utcoffset(), at.tzinfo)


digits = st.sampled_from("0123456789")
shaped = st.builds(
    lambda y, mo, d, sep, h, mi, s: f"{y}-{mo}-{d}{sep}{h}:{mi}{s}",
    st.text(digits, min_size=4, max_size=4),
    st.text(digits, min_size=2, max_size=2),
    st.text(digits, min_size=2, max_size=2),
    st.sampled_from([" ", "T"]),
    st.text(digits, min_size=2, max_size=2),
    st.text(digits, min_size=2, max_size=2),
    st.one_of(st.just(""), st.text(digits, min_size=2, max_size=2).map(":".__add__)),
)
written = st.datetimes(datetime(1, 1, 2), datetime(2200, 12, 31)).flatmap(
    lambda at: st.sampled_from(
        [f"{at:%Y-%m-%d %H:%M}", f"{at:%Y-%m-%dT%H:%M}", f"{at:%Y-%m-%d %H:%M:%S}"]
    )
)


@settings(max_examples=400)
@given(
    st.one_of(written, shaped, st.text(st.sampled_from("0123-: T٣"), max_size=19)),
    st.sampled_from(ZONES),
    st.sampled_from([None, False, True]),
)
def test_a_start_reads_as_dateutil_reads_it(text: str, zone: str, dayfirst: bool | None) -> None:
    expected = _outcome(read_start, text, ZoneInfo(zone), dayfirst=dayfirst)
    assert _outcome(ar.parse_start, text, ZoneInfo(zone), dayfirst=dayfirst) == expected


def _through_phonenumbers(value: str, country: str) -> tuple[str, str]:
    """normalise_phone as first written: the parse, the check, the format, every time."""
    try:
        number = phonenumbers.parse(value, country)
    except phonenumbers.NumberParseException:
        return ("refused", "not a phone number; write it like +6591234567")
    if not phonenumbers.is_valid_number(number):
        return ("refused", "not a valid phone number for its country; write it like +6591234567")
    return ("read", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _normalised(value: str, country: str) -> tuple[str, str]:
    try:
        return ("read", ar.normalise_phone(value, country))
    except ValueError as error:
        return ("refused", str(error))


def _examples() -> list[str]:
    """An example number of every kind for every region and non-geographic code, in E.164."""
    found = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in range(11):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None:
            found.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return sorted(found)


EXAMPLES = _examples()


def test_every_region_s_example_numbers_read_as_phonenumbers_reads_them() -> None:
    assert len(EXAMPLES) > 1000
    for value in EXAMPLES:
        assert _normalised(value, "SG") == _through_phonenumbers(value, "SG"), value


def _after_the_code(value: str, inserted: str) -> str:
    """`value` with digits put between its country code and the rest: a trunk prefix kept
    (`+44 0 20...`, `+1 1 212...`) or a digit too many."""
    code = str(phonenumbers.parse(value).country_code)
    return f"+{code}{inserted}{value[1 + len(code) :]}"


numbers = st.one_of(
    st.sampled_from(EXAMPLES),
    st.builds(_after_the_code, st.sampled_from(EXAMPLES), st.sampled_from(["0", "1", "8", "00"])),
    # An example with a digit changed, added or dropped: often still plausible, often not.
    st.tuples(st.sampled_from(EXAMPLES), st.integers(1, 15), digits, st.integers(0, 2)).map(
        lambda t: t[0][: t[1]] + (t[2] if t[3] != 1 else "") + t[0][t[1] + (t[3] != 2) :]
    ),
    st.text(digits, min_size=1, max_size=17).map("+".__add__),
    st.text(st.sampled_from("+0123456789 -٣"), max_size=14),
)


@settings(max_examples=500)
@given(numbers, st.sampled_from(["SG", "US", "GB", "IT", "BR", ""]))
def test_a_number_reads_as_phonenumbers_reads_it(value: str, country: str) -> None:
    assert _normalised(value, country) == _through_phonenumbers(value, country or None)  # type: ignore[arg-type]


@st.composite
def appointments(draw: st.DrawFn, now: datetime) -> list[ar.Appointment]:
    found = []
    for n in range(draw(st.integers(0, 8))):
        zone = ZoneInfo(draw(st.sampled_from(ZONES)))
        # Around every window's edge to the minute, and far off.
        hours = draw(st.sampled_from([-1, 0, 1, 2, 12, 24, 30, 48, 49, 300]))
        start = now + timedelta(hours=hours, minutes=draw(st.integers(-2, 2)))
        if draw(st.booleans()):
            start = start.astimezone(zone)
        found.append(
            ar.Appointment(
                f"A{n}",
                "Mei",
                start,
                n + 2,
                "+6591234567",
                service=draw(st.sampled_from(["default", "colour", "gone"])),
                cancelled=draw(st.integers(0, 5)) == 0,
            )
        )
    return found


@st.composite
def states(draw: st.DrawFn, booked: list[ar.Appointment], now: datetime) -> ar.State:
    chains = [a.chain_id for a in booked]
    sends, replies = [], []
    for chain in draw(st.lists(st.sampled_from(chains))) if chains else []:
        window = draw(st.sampled_from(ar.MOVES))
        status = draw(st.sampled_from(["sent", "skipped", "failed"]))
        at = now - timedelta(minutes=draw(st.integers(0, 180)))
        sends.append(ar.Sent(chain, window, status, at))
    for chain in draw(st.lists(st.sampled_from(chains))) if chains else []:
        replies.append(ar.ReplyRecord(chain, draw(st.sampled_from(ar.REPLIES))))
    return ar.State.of(sends, replies)


@settings(max_examples=300)
@given(st.data())
def test_the_plan_is_appointment_moves_of_every_appointment(data: st.DataObject) -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo(data.draw(st.sampled_from(ZONES))))
    booked = data.draw(appointments(now))
    state = data.draw(states(booked, now))
    expected = [
        move
        for a in booked
        for move in ar.appointment_moves(a, state, RULES.service(a.service), now, "C1")
    ]
    assert ar.plan_tick(booked, state, RULES, now).moves == tuple(expected)
