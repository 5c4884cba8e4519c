"""Appointment reminders' decisions: which reminders an hourly tick sends, what a reply changes,
and which slots a reschedule may pick.

Everything here is a pure function of the sheet rows, the stored state, the rules and `now`.

- `sheet`: the appointments; `documents`: the rules and voice docs;
- `plan`: the state and the hourly tick; `replies`: Confirm, Pick another time, Cancel, and the
  slot picker; `summary`: the week's facts; `intake`: reading a booking from text.
"""

from backoffice.core.appointment_reminder.documents import (
    MESSAGE_FIELDS,
    RULES_FILE,
    SERVICE_KEYS,
    VOICE_PARTS,
    Booking,
    Rules,
    Service,
    load_rules,
    load_voice,
    read_voice,
)
from backoffice.core.appointment_reminder.plan import (
    ANSWER_TIME,
    CUSTOMER_WINDOWS,
    MOVES,
    REPLIES,
    Reply,
    ReplyRecord,
    Sent,
    State,
    Window,
    appointment_moves,
    confirmed,
    customer_addresses,
    had_a_chance,
    overtaken,
    plan_tick,
    quiet_zone,
    still_due,
)
from backoffice.core.appointment_reminder.replies import (
    Current,
    apply_action,
    chosen_start,
    free_slots,
)
from backoffice.core.appointment_reminder.sheet import (
    COLUMNS,
    OPTIONAL_COLUMNS,
    PREFIX,
    REQUIRED_COLUMNS,
    SHEET_FILE,
    SYSTEM,
    Appointment,
    normalise_phone,
    parse_appointments,
    parse_rows,
    parse_start,
)
from backoffice.core.vocabulary import Action, Move, Plan, SheetWrite, Transition
from backoffice.core.voice import VOICE_FILE, Voice

__all__ = [
    "ANSWER_TIME",
    "COLUMNS",
    "CUSTOMER_WINDOWS",
    "MESSAGE_FIELDS",
    "MOVES",
    "OPTIONAL_COLUMNS",
    "PREFIX",
    "REPLIES",
    "REQUIRED_COLUMNS",
    "RULES_FILE",
    "SERVICE_KEYS",
    "SHEET_FILE",
    "SYSTEM",
    "VOICE_FILE",
    "VOICE_PARTS",
    "Action",
    "Appointment",
    "Booking",
    "Current",
    "Move",
    "Plan",
    "Reply",
    "ReplyRecord",
    "Rules",
    "Sent",
    "Service",
    "SheetWrite",
    "State",
    "Transition",
    "Voice",
    "Window",
    "apply_action",
    "appointment_moves",
    "chosen_start",
    "confirmed",
    "customer_addresses",
    "free_slots",
    "had_a_chance",
    "load_rules",
    "load_voice",
    "normalise_phone",
    "overtaken",
    "parse_appointments",
    "parse_rows",
    "parse_start",
    "plan_tick",
    "quiet_zone",
    "read_voice",
    "still_due",
]
