"""Idempotency keys for moves, and the schedule names derived from them."""

from __future__ import annotations

import hashlib
import re

_SCHEDULE_SAFE = re.compile(r"[^0-9A-Za-z_.-]")
SCHEDULE_NAME_MAX = 64


def move_key(system_prefix: str, subject: str, *position: str | int) -> str:
    """move_key("ew", "LIC-1", "2026-12-01", "reminder", 2) == "ew:LIC-1:2026-12-01:reminder:2"."""
    return ":".join([system_prefix, subject, *(str(part) for part in position)])


def schedule_name(key: str) -> str:
    """A valid EventBridge Scheduler name ([0-9a-zA-Z-_.]{1,64}) that no other key maps to.

    Keys that were altered to fit carry a hash of the original, so two keys that differ only in
    characters that had to be replaced still get different names."""
    safe = _SCHEDULE_SAFE.sub("-", key)
    if safe == key and 0 < len(key) <= SCHEDULE_NAME_MAX:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return f"{safe[: SCHEDULE_NAME_MAX - len(digest) - 1]}.{digest}".lstrip(".") or digest
