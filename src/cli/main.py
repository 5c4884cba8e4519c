"""The `backoffice` command. Exit codes: 0 success, 1 a problem the user can fix, 2 usage."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from backoffice.cli import report
from backoffice.cli.workspace import UserError, check_workspace, workspace_notes, write_example
from backoffice.core.business_time import local_at
from backoffice.core.documents import DocumentError
from backoffice.core.settings import SYSTEMS, Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (UserError, DocumentError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backoffice",
        description="Small-business automations on one engine, run on this machine.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="write a working example workspace for a system")
    init.add_argument("system", choices=SYSTEMS)
    init.add_argument("dir", type=Path)
    init.set_defaults(run=_init)

    check = commands.add_parser("check", help="validate settings, sheet, rules and voice")
    _workspace(check)
    check.set_defaults(run=_check)

    tick = commands.add_parser("tick", help="run one tick and deliver to the outbox")
    _workspace(tick)
    tick.add_argument("--now", type=_instant, help="pretend it is this ISO 8601 time")
    tick.add_argument("--json", action="store_true", help="print one JSON object")
    tick.set_defaults(run=_tick)

    preview = commands.add_parser("preview", help="show what would be sent; changes nothing")
    _workspace(preview)
    preview.add_argument(
        "--from", dest="start", type=date.fromisoformat, help="first day (default: today)"
    )
    preview.add_argument("--days", type=_positive, default=30, help="how many days (default 30)")
    preview.add_argument("--json", action="store_true", help="print one JSON object")
    preview.set_defaults(run=_preview)

    serve = commands.add_parser("serve", help="serve the links in emails on 127.0.0.1")
    _workspace(serve)
    serve.add_argument("--port", type=int, default=8787)
    serve.set_defaults(run=_serve)

    intake = commands.add_parser("intake", help="propose a sheet row from a forwarded file")
    _workspace(intake)
    intake.add_argument("file", type=Path, help="an .eml, .pdf, .docx, .xlsx or .txt file")
    intake.add_argument("--json", action="store_true", help="print one JSON object")
    intake.set_defaults(run=_intake)

    demo = commands.add_parser("demo", help="run every system on its bundled example")
    demo.add_argument("--dir", type=Path, help="where to write the demo workspaces")
    demo.set_defaults(run=_demo)
    return parser


def _workspace(command: argparse.ArgumentParser) -> None:
    command.add_argument("--workspace", type=Path, required=True, metavar="DIR")


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time like 2026-12-01T08:00:00-05:00"
        ) from None
    return value


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days")
    return int(text)


def _settings(workspace: Path) -> Settings:
    from backoffice.handlers.wiring import read_settings

    if not (workspace / "backoffice.toml").exists():
        raise UserError(f"{workspace / 'backoffice.toml'} not found; run `backoffice init` first")
    return read_settings(workspace)


def _init(args: argparse.Namespace) -> int:
    written = write_example(args.system, args.dir, date.today())
    print(f"Wrote a {args.system} workspace to {args.dir}:")
    for path in written:
        print(f"  {path.name}")
    print(f"\nNext: backoffice check --workspace {args.dir}")
    print(f"      backoffice preview --workspace {args.dir}")
    return 0


def _check(args: argparse.Namespace) -> int:
    problems = check_workspace(args.workspace)
    print(report.problems_text(problems))
    if problems:
        return 1
    notes = workspace_notes(args.workspace)
    if notes:
        print("\n".join(["", f"Worth knowing ({len(notes)}):", *(f"- {n}" for n in notes)]))
    return 0


def _tick(args: argparse.Namespace) -> int:
    from backoffice.cli.running import tick_workspace

    settings = _settings(args.workspace)
    now = args.now
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=ZoneInfo(settings.timezone))
    result = tick_workspace(args.workspace, settings, now)
    print(report.dumps(result) if args.json else report.human(result, "Tick"))
    return 0


def _preview(args: argparse.Namespace) -> int:
    from backoffice.cli.running import preview_workspace

    settings = _settings(args.workspace)
    zone = ZoneInfo(settings.timezone)
    if args.start:
        start = local_at(args.start, time(0, 0), zone)
    else:
        start = datetime.now(UTC).astimezone(zone)
    result = preview_workspace(args.workspace, settings, start, args.days)
    heading = f"Preview of {args.days} days from {start.date().isoformat()}, if nobody answers"
    print(report.dumps(result) if args.json else report.human(result, heading))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from backoffice.cli.serve import serve

    settings = _settings(args.workspace)
    serve(args.workspace, settings, args.port)
    return 0


def _intake(args: argparse.Namespace) -> int:
    import json

    from backoffice.adapters.local.documents import LocalDocuments
    from backoffice.cli.systems import system_for
    from backoffice.services.intake import propose_from

    settings = _settings(args.workspace)
    try:
        body = args.file.read_bytes()
    except OSError as error:
        raise UserError(f"{args.file}: {error.strerror}") from None
    intake = system_for(settings).intake
    today = datetime.now(UTC).astimezone(ZoneInfo(settings.timezone)).date()
    result = propose_from(
        LocalDocuments().extract(args.file.name, body),
        intake.model(settings, today),
        args.file.name,
        intake.columns,
        intake.date_columns,
        dayfirst=settings.dayfirst,
        owner_column=intake.owner_column,
        time_columns=intake.time_columns,
    )
    problems = [
        {"file": args.file.name, "line": None, "column": None, "value": None, "message": message}
        for message in result.problems
    ]
    if args.json:
        print(
            json.dumps(
                {"proposal": result.proposal, "problems": problems}, indent=2, ensure_ascii=False
            )
        )
    else:
        print(f"Proposed row from {args.file.name}:")
        for column, value in result.proposal.items():
            print(f"  {column:<16} {value}")
        print()
        print("\n".join(f"- {p['message']}" for p in problems) or "No problems found.")
    return 0


DEMO_DAYS = {"expiry-watcher": 30, "appointment-reminder": 3}


def _demo(args: argparse.Namespace) -> int:
    root = args.dir or Path(tempfile.mkdtemp(prefix="backoffice-demo-"))
    for system, days in DEMO_DAYS.items():
        _demo_system(root / system, system, days)
    return 0


def _demo_system(workspace: Path, system: str, days: int) -> None:
    from backoffice.cli.running import preview_workspace, tick_workspace

    write_example(system, workspace, date.today())
    settings = _settings(workspace)
    now = datetime.now(UTC).astimezone(ZoneInfo(settings.timezone))
    print(f"=== {system} === workspace: {workspace}\n")
    problems = check_workspace(workspace)
    print("$ backoffice check  (the example has bad rows on purpose)")
    print(report.problems_text(problems), end="\n\n")
    preview = preview_workspace(workspace, settings, now, days)
    heading = f"$ backoffice preview: the next {days} days, if nobody answers"
    print(report.human(preview, heading), end="\n\n")
    result = tick_workspace(workspace, settings, now)
    print(report.human(result, "$ backoffice tick: delivered to the outbox now"), end="\n\n")
    outbox = workspace / "outbox"
    files = sorted(outbox.iterdir()) if outbox.exists() else []
    print(f"Outbox ({len(files)} files) in {outbox}:")
    for path in files:
        print(f"  {path.name}")
    if not files:
        print(
            f"  (nothing yet: it is {now:%a %H:%M} in {settings.timezone}, outside the hours "
            "messages may go out, or nothing is due; the preview above shows when they go out)"
        )
    print(f"\nAnswer the links with: backoffice serve --workspace {workspace}\n")


if __name__ == "__main__":
    sys.exit(main())
