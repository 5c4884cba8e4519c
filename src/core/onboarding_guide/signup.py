"""A signup from the product's webhook, checked field by field before it becomes a row."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from attrs import frozen

from backoffice.core.business_time import BAD_ZONE
from backoffice.core.onboarding_guide.plan import SKEW
from backoffice.core.onboarding_guide.sheet import parse_moment
from backoffice.core.sheet import is_email, is_slack_user
from backoffice.core.text import one_line

REQUIRED = ("signup_id", "email", "name", "plan", "signed_up_at")
OPTIONAL = ("owner", "timezone")
MAX_FIELD = 200  # characters any one field may take


@frozen
class Signup:
    signup_id: str
    email: str
    name: str
    plan: str
    signed_up_at: str  # as sent (an ISO 8601 instant), checked
    owner: str  # "" when the signup names none: the row falls to the admin
    timezone: str

    def row(self) -> dict[str, str]:
        """The sheet row it becomes; `customer_id` is the signup id."""
        return {
            "customer_id": self.signup_id,
            "name": self.name,
            "email": self.email,
            "plan": self.plan,
            "signed_up_at": self.signed_up_at,
            "owner": self.owner,
            "timezone": self.timezone,
        }


@frozen
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def read_signup(
    data: Mapping[str, Any], plans: Collection[str], now: datetime, timezone: str
) -> Signup | list[FieldError]:
    """The signup, or every field's problem at once (missing, not text, not an address, an
    unknown plan, not a time, in the future beyond the clocks' skew)."""
    errors: list[FieldError] = []
    values: dict[str, str] = {}
    for name in (*REQUIRED, *OPTIONAL):
        value = data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if name in REQUIRED:
                errors.append(FieldError(name, "missing"))
            values[name] = ""
        elif not isinstance(value, str):
            errors.append(FieldError(name, "must be text"))
        elif len(value) > MAX_FIELD or one_line(value) != value.strip():
            errors.append(FieldError(name, f"one line of at most {MAX_FIELD} characters"))
        else:
            values[name] = value.strip()
    errors += _field_errors(values, plans, now, timezone)
    if errors:
        return errors
    return Signup(**{name: values.get(name, "") for name in (*REQUIRED, *OPTIONAL)})


def _field_errors(
    values: Mapping[str, str], plans: Collection[str], now: datetime, timezone: str
) -> list[FieldError]:
    errors = []
    if values.get("signup_id", "").startswith("~"):
        errors.append(FieldError("signup_id", "may not start with ~"))
    if values.get("email") and not is_email(values["email"]):
        errors.append(FieldError("email", "not an email address"))
    if values.get("plan") and values["plan"] not in plans:
        errors.append(FieldError("plan", f"unknown plan; known: {', '.join(sorted(plans))}"))
    owner = values.get("owner", "")
    if owner and not (is_email(owner) or is_slack_user(owner)):
        errors.append(FieldError("owner", "an email address or a Slack member id (U…)"))
    zone = _zone(values.get("timezone") or timezone)
    if zone is None:
        errors.append(FieldError("timezone", "unknown timezone; a name like Asia/Singapore"))
    elif values.get("signed_up_at"):
        errors += _moment_errors(values["signed_up_at"], zone, now)
    return errors


def _moment_errors(text: str, zone: ZoneInfo, now: datetime) -> list[FieldError]:
    try:
        moment = parse_moment(text, zone, dayfirst=False)
    except ValueError:
        return [FieldError("signed_up_at", "not a time; send ISO 8601 like 2026-12-01T09:30:00Z")]
    if moment > now + SKEW:
        return [FieldError("signed_up_at", "in the future")]
    return []


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except BAD_ZONE:
        return None
