"""`backoffice status`: what a machine running `backoffice run` is doing, for a person or a
monitor: the last and next runs, messages in flight or failed, problems in the documents.
Exit 1 when something needs a person."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from attrs import frozen

from backoffice.cli.run import jobs, next_run
from backoffice.cli.workspace import check_workspace
from backoffice.core.settings import Settings
from backoffice.services.registry import system_named

LATE = timedelta(minutes=15)  # a run this late means `backoffice run` is not running
RECENT = timedelta(days=7)  # failures older than this have been seen in a digest


@frozen
class Status:
    lines: tuple[str, ...]
    needs_a_person: bool


def status_of(workspace: Path, settings: Settings, now: datetime) -> tuple[str, bool]:
    sections = [_runs(workspace, settings, now), _messages(workspace, settings, now)]
    problems = check_workspace(workspace)
    documents = Status(
        (f"Problems in the documents ({len(problems)}):", *(f"- {p}" for p in problems))
        if problems
        else ("No problems in the documents.",),
        bool(problems),
    )
    sections.append(documents)
    text = "\n\n".join("\n".join(section.lines) for section in sections)
    return text, any(section.needs_a_person for section in sections)


def _runs(workspace: Path, settings: Settings, now: datetime) -> Status:
    from backoffice.adapters.local.runs import RunLog

    zone = ZoneInfo(settings.timezone)
    last_runs = RunLog(workspace / "state.db").all() if (workspace / "state.db").exists() else {}
    lines, late = [f"Schedules ({settings.timezone}):"], False
    for job in jobs(system_named(settings.system), settings):
        last = last_runs.get(job.name)
        due = next_run(job, last or now, settings)
        overdue = last is not None and due is not None and due + LATE < now
        late = late or overdue or last is None
        shown = f"{last.astimezone(zone):%a %Y-%m-%d %H:%M}" if last else "never"
        upcoming = f"{due.astimezone(zone):%a %Y-%m-%d %H:%M}" if due else "none"
        flag = "  LATE: is `backoffice run` running?" if overdue else ""
        lines.append(f"- {job.name}: last {shown}, next {upcoming}{flag}")
    if not last_runs:
        lines.append("`backoffice run` has not run in this workspace yet.")
    return Status(tuple(lines), late)


def _messages(workspace: Path, settings: Settings, now: datetime) -> Status:
    from backoffice.adapters.local.tables import SqliteTables

    if not (workspace / "state.db").exists():
        return Status(("No messages yet.",), False)
    system = system_named(settings.system)
    rows = SqliteTables(workspace / "state.db", system.storage.all).scan(system.storage.sends.name)
    stamp = now.isoformat()
    flying = [r for r in rows if r.get("status") == "sending"]
    stuck = [r for r in flying if str(r.get("lease_until") or "") < stamp]
    failed = [r for r in rows if r.get("status") == "failed" and _recent(r, now)]
    lines = [f"In flight ({len(flying)}), of which past their lease ({len(stuck)}):"]
    lines += [f"- {r['key']} (lease until {r.get('lease_until')})" for r in flying]
    lines.append(f"Failed in the last {RECENT.days} days ({len(failed)}):")
    lines += [f"- {r['key']}: {r.get('error', '')}" for r in failed]
    return Status(tuple(lines), bool(stuck or failed))


def _recent(row: dict[str, object], now: datetime) -> bool:
    failed_at = row.get("failed_at")
    return not isinstance(failed_at, str) or datetime.fromisoformat(failed_at) >= now - RECENT
