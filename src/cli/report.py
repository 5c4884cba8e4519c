"""How a run is shown: a readable table for people, one JSON object for programs."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from backoffice.cli.running import RunReport
from backoffice.core.digest import text_table
from backoffice.core.problems import Problem


def as_json(report: RunReport) -> dict[str, Any]:
    return {
        "system": report.settings.system,
        "timezone": report.settings.timezone,
        "sends": [
            {
                "at": d.at.isoformat(),
                "move": d.kind,
                "subject": d.subject,
                "to": list(d.to),
                "channel": d.channel,
                "key": d.key,
            }
            for d in report.sends()
        ],
        "deferred": [
            {"key": d.key, "until": d.until.isoformat() if d.until else None}
            for d in report.deferred()
        ],
        "problems": [problem.as_json() for problem in report.problems],
    }


def dumps(report: RunReport) -> str:
    return json.dumps(as_json(report), indent=2, ensure_ascii=False)


def _local(at: datetime | None, timezone: str) -> str:
    """In the business's time, as the heading says (a customer's own zone may differ)."""
    return at.astimezone(ZoneInfo(timezone)).strftime("%a %Y-%m-%d %H:%M") if at else ""


def human(report: RunReport, heading: str) -> str:
    sends = report.sends()
    lines = [f"{heading} ({report.settings.system}, {report.settings.timezone})", ""]
    lines.append(f"Sent ({len(sends)}):")
    lines.append(
        text_table(
            ("when", "move", "item", "to", "via"),
            [
                (
                    d.at.strftime("%a %Y-%m-%d %H:%M"),
                    d.kind.replace("_", " "),
                    d.subject,
                    ", ".join(d.to),
                    d.channel,
                )
                for d in sends
            ],
        )
    )
    deferred = report.deferred()
    if deferred:
        lines += ["", f"Waiting for business hours ({len(deferred)}):"]
        lines.append(
            text_table(
                ("until", "move", "item", "to"),
                [
                    (
                        _local(d.until, report.settings.timezone),
                        d.kind.replace("_", " "),
                        d.subject,
                        ", ".join(d.to),
                    )
                    for d in deferred
                ],
            )
        )
    skipped = report.skipped()
    if skipped:
        lines += ["", f"Dropped: they could only go out at or after the start ({len(skipped)}):"]
        lines += [f"- {d.kind.replace('_', ' ')} for {d.subject}" for d in skipped]
    if report.in_flight:
        lines += ["", f"In flight: claimed, not confirmed yet ({len(report.in_flight)}):"]
        lines += [
            f"- {f.key} (retried after {f.lease_until} if its run died)" for f in report.in_flight
        ]
    failed = report.failed()
    if failed:
        lines += ["", f"Could not be delivered, the admin was told ({len(failed)}):"]
        lines += [f"- {d.kind} for {d.subject} to {', '.join(d.to)}: {d.error}" for d in failed]
    lines += ["", problems_text(report.problems)]
    return "\n".join(lines)


def problems_text(problems: tuple[Problem, ...] | list[Problem]) -> str:
    if not problems:
        return "No problems found."
    return "\n".join([f"Problems ({len(problems)}):", *(f"- {p}" for p in problems)])
