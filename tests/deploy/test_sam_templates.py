"""The SAM templates lint clean, before and after the SAM transform, and point at real code."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

DEPLOY = Path(__file__).parents[2] / "deploy"
TEMPLATES = sorted(DEPLOY.glob("*.yaml"))
CFN_LINT = Path(sys.executable).parent / "cfn-lint"
PARAMETERS = {
    "TimeZone": "America/New_York",
    "SenderEmail": "watcher@example.com",
    "AlertEmail": "ops@example.com",
    "CodeBucket": "backoffice-code",
    "SpreadsheetId": "sheet-id",
    "RulesDocId": "rules-doc-id",
    "VoiceDocId": "voice-doc-id",
    "SmsOriginationNumber": "+6560000000",
}


def load(path: Path) -> dict[str, Any]:
    template, problems = decode(str(path))
    assert not problems, problems
    return template


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: r["Properties"]
        for name, r in template["Resources"].items()
        if r["Type"] == "AWS::Serverless::Function"
    }


def lint(path: Path) -> str:
    result = subprocess.run([str(CFN_LINT), str(path)], capture_output=True, text=True)
    return result.stdout + result.stderr


STACKS = sorted((DEPLOY / "stacks").glob("*.yaml"))  # the separate stacks: no functions


@pytest.mark.parametrize("path", TEMPLATES + STACKS, ids=lambda p: p.name)
def test_cfn_lint_is_clean(path: Path) -> None:
    assert lint(path) == ""


SERVERLESS = [p for p in TEMPLATES + STACKS if "AWS::Serverless-2016-10-31" in p.read_text()]


@pytest.mark.parametrize("path", SERVERLESS, ids=lambda p: p.name)
def test_the_rendered_template_is_clean_too(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cfn-lint misses some errors inside SAM resources; the SAM translator's output shows them."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    rendered = transform(load(path), PARAMETERS, NoManagedPolicies())
    out = tmp_path / f"{path.stem}.json"
    out.write_text(json.dumps(rendered, default=str))
    assert lint(out) == ""
    urls = [r for r in rendered["Resources"].values() if r["Type"] == "AWS::Lambda::Url"]
    assert all(u["Properties"]["AuthType"] == "NONE" for u in urls)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_every_handler_exists_and_has_a_role_and_logs_of_its_own(path: Path) -> None:
    template = load(path)
    found = functions(template)
    assert found
    roles = [props["Role"]["Fn::GetAtt"][0] for props in found.values()]
    assert len(set(roles)) == len(roles), "one role per function"
    for props in found.values():
        module, _, name = props["Handler"].rpartition(".")
        assert callable(getattr(importlib.import_module(module), name)), props["Handler"]
        group = template["Resources"][props["LoggingConfig"]["LogGroup"]["Ref"]]
        assert group["Properties"]["RetentionInDays"] == 7
    globals_ = template["Globals"]["Function"]
    assert (globals_["Runtime"], globals_["Architectures"]) == ("python3.14", ["arm64"])


def test_expiry_watcher_has_the_seed_inventory() -> None:
    template = load(DEPLOY / "expiry-watcher.yaml")
    handlers = {p["Handler"].rpartition(".")[2] for p in functions(template).values()}
    assert handlers == {
        "watcher",
        "dispatch",
        "ack_handler",
        "digest",
        "summary",
        "drive_sync",
        "calendar_sync",
        "intake_ses_parser",
    }
    kinds = [r["Type"] for r in template["Resources"].values()]
    assert kinds.count("AWS::DynamoDB::Table") == 6
    assert kinds.count("AWS::Scheduler::Schedule") == 5
    assert "AWS::Budgets::Budget" in kinds


def test_appointment_reminder_has_the_seed_inventory() -> None:
    template = load(DEPLOY / "appointment-reminder.yaml")
    handlers = {p["Handler"].rpartition(".")[2] for p in functions(template).values()}
    assert handlers == {
        "reminder",
        "dispatch",
        "reply_handler",
        "summary",
        "drive_sync",
        "calendar_sync",
        "intake_ses_parser",
    }
    resources = template["Resources"]
    tables = {
        r["Properties"]["TableName"] for r in resources.values() if r["Type"].endswith("Table")
    }
    assert {"ar-sends", "ar-replies", "ar-audit", "ar-sends-archive"} <= tables
    tick = resources["HourlyTick"]["Properties"]
    assert tick["ScheduleExpression"] == "cron(0 * * * ? *)"
    assert tick["ScheduleExpressionTimezone"] == {"Ref": "TimeZone"}
    summary = resources["WeeklySummary"]["Properties"]
    assert summary["ScheduleExpression"] == "cron(0 8 ? * MON *)"
    pattern = resources["MovesRule"]["Properties"]["EventPattern"]
    assert pattern["detail-type"] == ["ar.first_reminder", "ar.second_reminder", "ar.gap_alert"]
    assert "AWS::Budgets::Budget" in [r["Type"] for r in resources.values()]
