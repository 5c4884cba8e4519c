"""The signup webhook: a new customer from the product becomes a row of the sheet, once.

The signup id is claimed with a conditional write before the row is appended, so retries that
arrive together append one row. A claim left by a request that died before appending is taken
over once its lease has run out.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from attrs import frozen

from backoffice.core import onboarding_guide as og
from backoffice.core.settings import Settings
from backoffice.core.sheet import column_index, normalise_header
from backoffice.ports import Absent, AllOf, ConditionFailed, Equals, Ports
from backoffice.services.delivery import stamp
from backoffice.services.onboarding_guide.state import SIGNUPS, load_documents
from backoffice.services.runtime import local_now

SECRET = "webhook_secret"
MAX_BODY = 64 * 1024
LEASE = timedelta(seconds=60)  # a claim older than this without its row is taken over
KIND = "signup"


@frozen
class Enrolled:
    """The webhook's answer: an HTTP status and its JSON body."""

    status: int
    body: Mapping[str, Any]


def enroll(ports: Ports, settings: Settings, secret_header: str, body: bytes) -> Enrolled:
    """401 for a wrong secret, 413 for a body over 64 KB, 400 with every field's error, 503
    while another request is enrolling the same signup, else 200 enrolled or
    already_enrolled."""
    if not hmac.compare_digest(secret_header.encode(), settings.secret(SECRET).encode()):
        return Enrolled(
            401, {"status": "unauthorized", "error": "wrong or missing X-Webhook-Secret"}
        )
    if len(body) > MAX_BODY:
        return Enrolled(413, {"status": "too_large", "error": f"at most {MAX_BODY} bytes"})
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _invalid([og.FieldError("body", "not JSON")])
    if not isinstance(data, dict):
        return _invalid([og.FieldError("body", "a JSON object with the signup's fields")])
    now = local_now(ports.clock, settings)
    docs = load_documents(ports.blobs, settings)
    signup = og.read_signup(data, docs.rules.plans, now, settings.timezone)
    if isinstance(signup, list):
        return _invalid(signup)
    outcome = _enrolled(ports, settings, signup, now)
    if outcome == "in_progress":
        return Enrolled(503, {"status": "in_progress", "error": "being enrolled; retry shortly"})
    return Enrolled(200, {"status": outcome})


def _invalid(errors: list[og.FieldError]) -> Enrolled:
    return Enrolled(
        400,
        {
            "status": "invalid",
            "errors": [str(error) for error in errors],
            "fields": list(dict.fromkeys(error.field for error in errors)),
        },
    )


def _enrolled(ports: Ports, settings: Settings, signup: og.Signup, now: datetime) -> str:
    """enrolled, already_enrolled, or in_progress (another request holds the claim and has
    not appended yet: the caller waits, or the sender retries)."""
    claim = _claim(ports, signup.signup_id, now)
    if claim != "new":
        return claim
    try:
        if _in_sheet(ports, signup.signup_id):
            outcome = "already_enrolled"  # added by hand, or by a request that died after
        else:
            ports.sheet.append(
                _fitted(ports, {**signup.row(), "owner": signup.owner or settings.admin})
            )
            outcome = "enrolled"
    except Exception:
        # Nothing was appended: the claim is given back, so the sender's retry enrolls.
        ports.tables.delete_many(SIGNUPS.name, [(signup.signup_id, KIND)])
        raise
    done = {"signup_id": signup.signup_id, "kind": KIND, "status": "enrolled", "at": stamp(now)}
    ports.tables.put(SIGNUPS.name, done)
    return outcome


def _claim(ports: Ports, signup_id: str, now: datetime) -> str:
    """ "new" when this request may append the row: its claim is new, or it took over one whose
    request died (the lease ran out, the row never came); else what the held claim says."""
    claim = {"signup_id": signup_id, "kind": KIND, "status": "claimed", "at": stamp(now)}
    try:
        ports.tables.put(SIGNUPS.name, claim, Absent())
        return "new"
    except ConditionFailed:
        pass
    held = ports.tables.get(SIGNUPS.name, signup_id, KIND)
    if held is None:
        return "in_progress"  # given back a moment ago: the sender's retry enrolls
    if held.get("status") != "claimed":
        return "already_enrolled"
    if held.get("at", "") > stamp(now - LEASE):
        return "in_progress"
    try:
        stale = AllOf((Equals("status", "claimed"), Equals("at", held["at"])))
        ports.tables.put(SIGNUPS.name, claim, stale)
        return "new"
    except ConditionFailed:
        return "in_progress"


def _in_sheet(ports: Ports, customer_id: str) -> bool:
    rows = ports.sheet.read()
    index = column_index(rows[0] if rows else [], "customer_id")
    return any(len(row) > index and row[index].strip() == customer_id for row in rows[1:])


def _fitted(ports: Ports, values: Mapping[str, str]) -> dict[str, str]:
    """The values the sheet has columns for (timezone is optional)."""
    header = {normalise_header(name) for name in (ports.sheet.read() or [[]])[0]}
    return {k: v for k, v in values.items() if normalise_header(k) in header}
