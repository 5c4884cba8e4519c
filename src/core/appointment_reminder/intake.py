"""Reading a booking from text: a forwarded confirmation or a tagged calendar event."""

from __future__ import annotations

from backoffice.core.appointment_reminder.sheet import COLUMNS
from backoffice.core.intake import date_times_in
from backoffice.core.sheet import is_email


def contact_in(text: str, default_country: str) -> tuple[str, str]:
    """The first valid phone number (E.164) and email address written in a text, or ""."""
    import phonenumbers

    phone = next(
        (
            phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            for match in phonenumbers.PhoneNumberMatcher(text, default_country.upper() or None)
        ),
        "",
    )
    email = next((word for word in _words(text) if is_email(word)), "")
    return str(phone), email


def heuristic_booking(
    subject: str, text: str, sender: str, *, default_country: str, dayfirst: bool
) -> dict[str, str]:
    """A booking confirmation read without a model: the first date written with a time is the
    start, the first phone number and email address that are not the forwarder's the contact.
    Nothing else is guessed: the customer's name is left for the admin."""
    starts = date_times_in(text, dayfirst=dayfirst)
    phone, email = contact_in(text.replace(sender, " ") if sender else text, default_country)
    guess = {
        "starts_at": starts[0].strftime("%Y-%m-%d %H:%M") if starts else "",
        "phone": phone,
        "email": email,
    }
    return {column: guess.get(column, "") for column in COLUMNS}


def _words(text: str) -> list[str]:
    return [word.strip("<>()[],;:.\"'") for word in text.split()]
