"""`backoffice threads`: the social inbox's threads as they stand, for people or as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backoffice.cli.workspace import UserError, load_workspace_settings
from backoffice.core.digest import text_table
from backoffice.handlers.machine import local_ports
from backoffice.services import social_inbox as si


def threads_of(workspace: Path) -> list[dict[str, Any]]:
    settings = load_workspace_settings(workspace)
    if settings.system != si.SYSTEM.name:
        raise UserError(f"threads is the social inbox's; this workspace is a {settings.system}")
    ports = local_ports(workspace, settings, si.SYSTEM, _no_events)
    found = sorted(si.all_threads(ports.tables), key=lambda t: (t.opened_at, t.thread_id))
    return [_row(thread) for thread in found]


def _row(thread: Any) -> dict[str, Any]:
    return {
        "thread_id": thread.thread_id,
        "platform": thread.platform,
        "customer_id": thread.customer_id,
        "status": thread.status,
        "topic": thread.label.topic,
        "urgency": thread.label.urgency,
        "team": thread.team,
        "assignee": thread.assignee,
        "sla_due": thread.sla_due.isoformat() if thread.sla_due else None,
        "summary": thread.label.summary,
        "messages": [
            {
                "platform_message_id": m.platform_message_id,
                "direction": m.direction,
                "text": m.text,
                "at": m.at.isoformat(),
            }
            for m in thread.messages
        ],
    }


def render(rows: list[dict[str, Any]], as_json: bool) -> str:
    if as_json:
        return json.dumps({"threads": rows}, indent=2, ensure_ascii=False)
    table = [
        (
            r["thread_id"],
            r["platform"],
            r["status"],
            r["topic"],
            r["urgency"],
            r["team"],
            r["assignee"] or "(queued)",
            str(len(r["messages"])),
        )
        for r in rows
    ]
    heading = ("thread", "platform", "status", "topic", "urgency", "team", "assignee", "msgs")
    return f"Threads ({len(rows)}):\n" + text_table(heading, table)


def _no_events(detail_type: str, detail: dict[str, Any]) -> None:
    raise RuntimeError("listing threads emits nothing")
