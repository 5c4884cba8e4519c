"""The `backoffice` command. Exit codes: 0 success, 1 a problem the user can fix, 2 usage."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from backoffice.cli import report
from backoffice.cli.workspace import (
    UserError,
    check_workspace,
    load_workspace_settings,
    workspace_notes,
    write_example,
)
from backoffice.core.business_time import local_at
from backoffice.core.documents import DocumentError
from backoffice.core.settings import Settings
from backoffice.services.registry import NAMES, SYSTEMS, system_named
from backoffice.services.system import System


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except DocumentError as error:
        print("\n".join(f"error: {problem}" for problem in error.problems()), file=sys.stderr)
        return 1
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return _closed_pipe()
    except OSError as error:  # a folder that is a file, a disk that is full: said in one line
        print(f"error: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _closed_pipe() -> int:
    """The reader went away (`backoffice preview | head`): stop quietly. Python would otherwise
    complain about the pipe again while flushing stdout at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backoffice",
        description="Small-business automations on one engine, run on this machine.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="write a working example workspace for a system")
    init.add_argument("system", choices=NAMES)
    init.add_argument("dir", type=Path)
    init.set_defaults(run=_init)

    check = commands.add_parser("check", help="validate settings, sheet, rules and voice")
    _workspace(check)
    check.add_argument(
        "--live", action="store_true", help="also try each configured connection; sends nothing"
    )
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
    preview.add_argument(
        "--days", type=_days, default=30, help=f"how many days, 1 to {MAX_DAYS} (default 30)"
    )
    preview.add_argument("--json", action="store_true", help="print one JSON object")
    preview.set_defaults(run=_preview)

    serve = commands.add_parser("serve", help="serve the links in emails on 127.0.0.1")
    _workspace(serve)
    serve.add_argument("--port", type=_port, default=8787, help="1 to 65535 (0: any free port)")
    serve.add_argument("--host", default="127.0.0.1", help=HOST_HELP)
    serve.set_defaults(run=_serve)

    run = commands.add_parser(
        "run", help="keep the schedules, fire one-offs and serve the links, until stopped"
    )
    _workspace(run)
    run.add_argument("--port", type=_port, default=8787, help="1 to 65535 (0: any free port)")
    run.add_argument("--host", default="127.0.0.1", help=HOST_HELP)
    run.set_defaults(run=_run)

    status = commands.add_parser("status", help="last and next runs, messages in flight or failed")
    _workspace(status)
    status.set_defaults(run=_status)

    intake = commands.add_parser("intake", help="propose a sheet row from a forwarded file")
    _workspace(intake)
    intake.add_argument("file", type=Path, help="an .eml, .pdf, .docx, .xlsx or .txt file")
    intake.add_argument("--json", action="store_true", help="print one JSON object")
    intake.set_defaults(run=_intake)

    threads = commands.add_parser("threads", help="the social inbox's threads and who has them")
    _workspace(threads)
    threads.add_argument("--json", action="store_true", help="print one JSON object")
    threads.set_defaults(run=_threads)

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


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1 to 65535)")
    return int(text)


MAX_DAYS = 366
HOST_HELP = "where to listen (default 127.0.0.1; behind an HTTPS proxy, see deploy/README.md)"


def _days(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days from 1 to {MAX_DAYS}")
    return int(text)


def _init(args: argparse.Namespace) -> int:
    written = write_example(system_named(args.system), args.dir, date.today())
    print(f"Wrote a {args.system} workspace to {args.dir}:")
    for path in written:
        print(f"  {path.relative_to(args.dir)}")
    print(f"\nNext: backoffice check --workspace {args.dir}")
    print(f"      backoffice preview --workspace {args.dir}")
    return 0


def _check(args: argparse.Namespace) -> int:
    problems = check_workspace(args.workspace)
    print(report.problems_text(problems))
    if args.live and _check_live(args.workspace):
        return 1
    if problems:
        return 1
    notes = workspace_notes(args.workspace, datetime.now(UTC))
    if notes:
        print("\n".join(["", f"Worth knowing ({len(notes)}):", *(f"- {n}" for n in notes)]))
    return 0


def _check_live(workspace: Path) -> bool:
    """Print each connection's result; True when one of them does not work."""
    from backoffice.cli.live_check import live_checks

    settings = load_workspace_settings(workspace)
    found = live_checks(workspace, settings, system_named(settings.system))
    print("\nConnections:" if found else "\nNo connections to try (delivery is the outbox).")
    for what, result, works in found:
        print(f"- {what}: {'ok, ' if works else 'FAILED: '}{result}")
    return not all(works for _, _, works in found)


def _tick(args: argparse.Namespace) -> int:
    from backoffice.cli.running import tick_workspace

    settings = load_workspace_settings(args.workspace)
    now = args.now
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=ZoneInfo(settings.timezone))
    result = tick_workspace(args.workspace, settings, now)
    print(report.dumps(result) if args.json else report.human(result, "Tick"))
    return 0


def _preview(args: argparse.Namespace) -> int:
    from backoffice.cli.running import preview_workspace

    settings = load_workspace_settings(args.workspace)
    zone = ZoneInfo(settings.timezone)
    if args.start:
        start = local_at(args.start, time(0, 0), zone)
    else:
        start = datetime.now(UTC).astimezone(zone)
    result = preview_workspace(args.workspace, settings, start, args.days)
    heading = f"Preview of {args.days} days from {start.date().isoformat()}, if nobody answers"
    if system_named(settings.system).preview is not None:
        heading = f"Who a new thread would go to at {start:%a %Y-%m-%d %H:%M}"
    print(report.dumps(result) if args.json else report.human(result, heading))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from backoffice.cli.serve import ServeError, serve

    settings = load_workspace_settings(args.workspace)
    try:
        serve(args.workspace, settings, args.port, args.host)
    except ServeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def _run(args: argparse.Namespace) -> int:
    import signal
    import threading

    from backoffice.adapters.clock import SystemClock
    from backoffice.cli.run import Runner, quiet_after
    from backoffice.cli.serve import ServeError, make_server

    settings = load_workspace_settings(args.workspace)
    system = system_named(settings.system)
    try:
        server = make_server(args.workspace, settings, args.port, args.host)
    except ServeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        Runner(args.workspace, settings, system, SystemClock(), quiet_after(stop)).run()
    finally:
        server.shutdown()  # the requests being answered finish first
        server.server_close()
    return 0


def _status(args: argparse.Namespace) -> int:
    from backoffice.cli.status import status_of

    settings = load_workspace_settings(args.workspace)
    text, needs_a_person = status_of(args.workspace, settings, datetime.now(UTC))
    print(text)
    return 1 if needs_a_person else 0


def _intake(args: argparse.Namespace) -> int:
    import json

    from backoffice.adapters.local.documents import LocalDocuments
    from backoffice.adapters.local.model import HeuristicModel
    from backoffice.services.intake import propose_from

    settings = load_workspace_settings(args.workspace)
    try:
        body = args.file.read_bytes()
    except OSError as error:
        raise UserError(f"{args.file}: {error.strerror}") from None
    system = system_named(settings.system)
    intake = system.intake
    today = datetime.now(UTC).astimezone(ZoneInfo(settings.timezone)).date()
    result = propose_from(
        LocalDocuments().extract(args.file.name, body),
        HeuristicModel(intake.heuristic(settings, today)),
        args.file.name,
        system.sheet.columns,
        intake.date_columns,
        dayfirst=bool(settings.dayfirst),
        owner_column=intake.owner_column,
        time_columns=intake.time_columns,
        fallback_owner=settings.admin,
    )
    problems = [
        {"file": args.file.name, "line": None, "column": None, "value": None, "message": message}
        for message in result.problems
    ]
    if args.json:
        print(
            json.dumps(
                {
                    "proposal": result.proposal,
                    "problems": problems,
                    "missing": _unfilled(system, result.proposal),
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        print(f"Proposed row from {args.file.name}:")
        for column, value in result.proposal.items():
            print(f"  {column:<16} {value}")
        print()
        print("\n".join(f"- {p['message']}" for p in problems) or "No problems found.")
        print(_intake_next_steps(system, result.proposal, settings))
    return 1 if problems else 0  # an unreadable file; fields left empty are for a person


def _unfilled(system: System, proposal: dict[str, str]) -> list[str]:
    return [c for c in system.sheet.required if c != system.sheet.id_column and not proposal.get(c)]


def _intake_next_steps(system: System, proposal: dict[str, str], settings: Settings) -> str:
    missing = _unfilled(system, proposal)
    where = system.sheet.file
    if not missing:
        return f"\nNext: add this row to {where} (or correct it there first)."
    return (
        f"\nCould not fill: {', '.join(missing)} (required). Next: add the row to {where} "
        f"with those filled in; until then nothing is sent for it (the owner, if unknown, is "
        f"the admin: {settings.admin})."
    )


def _threads(args: argparse.Namespace) -> int:
    from backoffice.cli.threads import render, threads_of

    print(render(threads_of(args.workspace), args.json))
    return 0


def _demo(args: argparse.Namespace) -> int:
    root = args.dir or Path(tempfile.mkdtemp(prefix="backoffice-demo-"))
    for system in SYSTEMS:
        _demo_system(root / system.name, system)
    return 0


def _send_samples(workspace: Path, system: System, settings: Settings) -> None:
    """The example's signed sample requests, handed to the server as a platform sends them."""
    from backoffice.handlers.factories import http_of
    from backoffice.handlers.machine import local_ports
    from backoffice.handlers.web import event_from_request
    from backoffice.handlers.wiring import no_events

    ports = local_ports(workspace, settings, system, no_events)
    print("$ the example's sample webhooks, signed, to backoffice serve")
    for path in sorted((workspace / "samples").glob("*.json")):
        signature = path.with_name(path.name + ".signature").read_text().strip()
        platform = path.name.split("-")[0]
        headers = {"x-hub-signature-256": signature}
        event = event_from_request(
            "POST", f"/siu/webhook/{platform}", "", headers, path.read_bytes(), path.stem
        )
        answer = http_of(system).answer(event, ports, settings)
        print(f"  {path.name}: {answer['statusCode']} {answer['body']}")
    print()


def _demo_system(workspace: Path, system: System) -> None:
    from backoffice.cli.running import preview_workspace, tick_workspace

    write_example(system, workspace, date.today())
    settings = load_workspace_settings(workspace)
    now = datetime.now(UTC).astimezone(ZoneInfo(settings.timezone))
    days = system.demo_days
    print(f"=== {system.name} === workspace: {workspace}\n")
    problems = check_workspace(workspace)
    print("$ backoffice check  (the example has bad rows on purpose)")
    print(report.problems_text(problems), end="\n\n")
    preview = preview_workspace(workspace, settings, now, days)
    heading = f"$ backoffice preview: the next {days} days, if nobody answers"
    print(report.human(preview, heading), end="\n\n")
    if system.sign_sample is not None:
        _send_samples(workspace, system, settings)
    result = tick_workspace(workspace, settings, now)
    print(report.human(result, "$ backoffice tick: delivered to the outbox now"), end="\n\n")
    if system.consumer is not None:
        from backoffice.cli.threads import render, threads_of

        print("$ backoffice threads")
        print(render(threads_of(workspace), as_json=False), end="\n\n")
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
