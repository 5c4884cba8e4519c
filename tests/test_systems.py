"""Every registered system, the same checks: its description, its example workspace, its SAM
template and its handlers agree. A new system passes these by being registered."""

from __future__ import annotations

import importlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from backoffice.cli.running import preview_workspace
from backoffice.cli.workspace import check_workspace, load_workspace_settings, write_example
from backoffice.handlers import wiring
from backoffice.handlers.factories import Http, http_of
from backoffice.ports import Ports
from backoffice.services.delivery import Slot
from backoffice.services.registry import SYSTEMS
from backoffice.services.system import System

DEPLOY = Path(__file__).parents[1] / "deploy"
by_name = pytest.mark.parametrize("system", SYSTEMS, ids=lambda s: s.name)


def template(system: System) -> dict:
    found, problems = decode(str(DEPLOY / f"{system.name}.yaml"))
    assert not problems, problems
    return found


def functions(system: System) -> dict[str, dict]:
    resources = template(system)["Resources"]
    return {
        name: r["Properties"]
        for name, r in resources.items()
        if r["Type"] == "AWS::Serverless::Function"
    }


def test_the_list_of_systems_is_derived_once_and_names_are_unique() -> None:
    for attribute in ("name", "stem", "prefix"):
        values = [getattr(system, attribute) for system in SYSTEMS]
        assert len(set(values)) == len(values), attribute


@by_name
def test_the_example_workspace_checks_clean_except_its_deliberate_mistakes(
    system: System, tmp_path: Path
) -> None:
    write_example(system, tmp_path, date(2026, 12, 1))
    problems = check_workspace(tmp_path)
    assert all(p.file == system.sheet.file and p.line for p in problems), problems


@by_name
def test_preview_runs_on_the_example_and_writes_nothing(system: System, tmp_path: Path) -> None:
    write_example(system, tmp_path, date(2026, 12, 1))
    before = sorted(path.name for path in tmp_path.iterdir())
    settings = load_workspace_settings(tmp_path)
    start = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    report = preview_workspace(tmp_path, settings, start, system.demo_days)
    assert report.sends(), "the example shows what the system sends"
    assert sorted(path.name for path in tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    "system",
    [s for s in SYSTEMS if s.preview is None and s.name != "appointment-reminder"],
    ids=lambda s: s.name,
)  # the reminders' summary has its own schedule, the inbox its own preview
def test_a_preview_composes_no_report(
    system: System, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It shows that a digest or a summary goes, not what it says: nothing is read for it and
    no model is asked."""
    from backoffice.services import engine

    write_example(system, tmp_path, date(2026, 12, 1))
    real, reports = engine.report_once, []

    def refusing(ports: Ports, slot: Slot, to: str, compose: Any, *rest: Any) -> Any:
        reports.append(slot.sk)
        return real(ports, slot, to, _refused, *rest)

    monkeypatch.setattr(engine, "report_once", refusing)
    settings = load_workspace_settings(tmp_path)
    start = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    report = preview_workspace(tmp_path, settings, start, 35)
    assert reports, "the preview covers a report"
    shown = {s.key for s in report.sends()}
    assert set(reports) <= shown


def _refused() -> tuple[str, str]:
    raise AssertionError("a preview composed a report")


@by_name
def test_the_template_declares_the_description_s_tables(system: System) -> None:
    resources = template(system)["Resources"]
    declared = {
        r["Properties"]["TableName"]
        for r in resources.values()
        if r["Type"] == "AWS::DynamoDB::Table"
    }
    assert {schema.name for schema in system.storage.all} <= declared
    for r in resources.values():
        if r["Type"] != "AWS::DynamoDB::Table":
            continue
        keys = {k["KeyType"]: k["AttributeName"] for k in r["Properties"]["KeySchema"]}
        schema = next(s for s in system.storage.all if s.name == r["Properties"]["TableName"])
        assert (keys["HASH"], keys["RANGE"]) == (schema.partition_key, schema.sort_key)


@by_name
def test_every_handler_the_template_names_imports_and_every_schedule_is_described(
    system: System,
) -> None:
    handlers = importlib.import_module(f"backoffice.handlers.{system.stem}")
    named = {props["Handler"] for props in functions(system).values()}
    for handler in named:
        module, _, name = handler.rpartition(".")
        assert module == handlers.__name__ and callable(getattr(handlers, name)), handler
    assert isinstance(http_of(system), Http)
    resources = template(system)["Resources"]
    scheduled = {
        r["Properties"]["ScheduleExpression"]
        for r in resources.values()
        if r["Type"] == "AWS::Scheduler::Schedule"
    }
    assert {schedule.expression for schedule in system.schedules} == scheduled
    for schedule in system.schedules:
        assert f"{handlers.__name__}.{schedule.handler}" in named, schedule


@by_name
def test_the_template_sets_every_variable_the_wiring_reads(system: System) -> None:
    """The names the AWS wiring builds from the system's description exist in the template."""
    found = template(system)
    variables = set(found["Globals"]["Function"]["Environment"]["Variables"])
    for props in functions(system).values():
        variables |= set(props.get("Environment", {}).get("Variables", {}))
    var = lambda name: wiring.var(system, name)  # noqa: E731
    needed = {wiring.table_variable(system, t.name) for t in system.storage.all}
    needed |= {wiring.sheet_bucket_variable(system), var("RULES_BUCKET")}
    if system.consumer is None:  # a system of moves books one-offs of its dispatch
        needed |= {var("DISPATCH_ARN"), var("SCHEDULER_ROLE_ARN")}
    else:  # an event-driven one reads its queue
        needed |= {var("INTAKE_QUEUE_URL"), var("DEAD_LETTER_QUEUE_URL")}
    handlers = importlib.import_module(f"backoffice.handlers.{system.stem}")
    if hasattr(handlers, "intake_ses_parser"):  # the forwarded-mail lane
        needed.add(var("RAW_MIME_BUCKET"))
    needed |= {var(f"{folder.upper()}_FOLDER_ID") for folder in system.folders}
    needed.add(var("SPREADSHEET_ID"))
    needed |= {wiring.doc_variable(system, name) for name in system.documents}
    if system.intake.calendar is not None:
        needed.add(var("CALENDAR_IDS"))
    if system.intake.textract:
        needed |= {var(n) for n in ("SOURCE_PDFS_BUCKET", "TEXTRACT_TOPIC_ARN")}
    assert needed <= variables, sorted(needed - variables)


def test_check_names_settings_that_only_another_system_reads(tmp_path: Path) -> None:
    from backoffice.cli.workspace import workspace_notes
    from backoffice.services.expiry_watcher import SYSTEM

    write_example(SYSTEM, tmp_path, date(2026, 12, 1))
    settings = tmp_path / "backoffice.toml"
    staff = 'staff_channel = "C1"\n[secrets]'
    settings.write_text(settings.read_text().replace("[secrets]", staff))
    [note] = workspace_notes(tmp_path, datetime(2026, 12, 1, tzinfo=UTC))
    assert "staff_channel is not used by the expiry-watcher" in note
    assert note.startswith("backoffice.toml:")


@by_name
def test_every_report_schedule_fires_at_an_allowed_minute_in_each_of_its_periods(
    system: System, tmp_path: Path
) -> None:
    """The digest and the summary go out at the first run on or after their day at which the
    workspace's calendar allows delivery: their schedules must reach such a run every week
    (digest) and every month (summary), holidays included, or the report is never sent."""
    from backoffice.core.business_time import next_allowed
    from backoffice.core.schedules import fires_between
    from backoffice.services.runtime import calendar_for

    write_example(system, tmp_path, date(2026, 12, 1))
    settings = load_workspace_settings(tmp_path)
    start = datetime(2027, 1, 1, tzinfo=UTC)
    for schedule in system.schedules:
        if schedule.handler not in ("digest", "summary"):
            continue
        fires = fires_between(
            schedule.expression, start, start.replace(year=2028), settings.timezone
        )
        allowed = [f for f in fires if next_allowed(f, calendar_for(settings, f)) == f]
        if schedule.handler == "digest":
            periods = {f.isocalendar()[:2] for f in allowed}
            assert len(periods) >= 52, f"{schedule.expression}: weeks without a digest"
        else:
            assert len({(f.year, f.month) for f in allowed}) == 12, schedule.expression
