"""The inbox's audit rows, written in the same transaction as the change they record: a thread
is never placed, routed or closed without its row."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from backoffice.core import social_inbox as si
from backoffice.core.vocabulary import AuditEntry
from backoffice.ports import Absent, Write
from backoffice.services.records import audit_row
from backoffice.services.social_inbox.state import AUDIT


def audit_write(
    thread: si.Thread,
    now: datetime,
    action: str,
    after: Mapping[str, str],
    request_id: str,
    by: str = "system",
) -> Write:
    entry = AuditEntry(
        subject=thread.thread_id,
        at=now,
        request_id=request_id,
        action=action,
        by=by,
        before={},
        after={**after, "status": thread.status, "team": thread.team},
        outcome="accepted",
    )
    return Write(AUDIT.name, audit_row(AUDIT, entry), Absent())
