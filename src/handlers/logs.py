"""Structured logs: one JSON object per line, to stdout (CloudWatch Logs in Lambda).

Callers pass only what is safe to keep: ids, counts, statuses, never a token or a secret."""

from __future__ import annotations

import json
import sys
from typing import Any


def log(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}, default=str, sort_keys=True), file=sys.stdout)
