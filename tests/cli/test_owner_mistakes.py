"""Owner mistakes and hostile files through every command, as a person runs them: each ends in
one clear message naming the file and line (exit 1), a usage error exits 2, nothing ends in a
traceback, and the good rows still run."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from backoffice.cli.main import main

TODAY = date(2026, 12, 1)
NOW = "2026-12-01T09:00:00-05:00"  # a Tuesday in New York, inside business hours


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def ew(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert run(capsys, "init", "expiry-watcher", str(tmp_path / "ew"))[0] == 0
    return tmp_path / "ew"


@pytest.fixture
def salon(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert run(capsys, "init", "appointment-reminder", str(tmp_path / "salon"))[0] == 0
    return tmp_path / "salon"


def sheet(workspace: Path, text: str, name: str = "registry.csv", encoding: str = "utf-8") -> None:
    (workspace / name).write_bytes(text.encode(encoding))


def test_a_latin_1_sheet_names_the_bad_line_and_the_other_rows_run(
    ew: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = "item_id,name,expires_on,owner\nA,Café licence,2026-12-20,maria@example.com\n"
    rows += "B,Lease,2026-12-21,dan@example.com\n"
    sheet(ew, rows, encoding="latin-1")
    code, out, _ = run(capsys, "check", "--workspace", str(ew))
    assert code == 1 and "registry.csv:2" in out and "CSV UTF-8" in out
    code, out, _ = run(capsys, "tick", "--workspace", str(ew), "--now", NOW, "--json")
    assert code == 0 and '"subject": "B"' in out and '"subject": "A"' not in out


def test_a_semicolon_export_is_read(ew: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sheet(ew, "item_id;name;expires_on;owner\nA;Licence;2026-12-20;maria@example.com\n")
    code, out, _ = run(capsys, "check", "--workspace", str(ew))
    assert (code, out.strip()) == (0, "No problems found.")


@pytest.mark.parametrize("command", ["check", "preview", "tick", "serve"])
def test_a_missing_document_is_named_with_how_to_get_one(
    ew: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    (ew / "rules.toml").unlink()
    code, out, err = run(capsys, command, "--workspace", str(ew))
    assert code == 1 and "rules.toml is missing" in out + err and "backoffice init" in out + err


def test_check_lists_every_problem_of_every_document_in_one_run(
    ew: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = (ew / "rules.toml").read_text()
    rules = rules.replace("reminder_every_days = 7", "reminder_every_days = 0")
    rules = rules.replace("escalate_days = 14", "escalate_days = 90")
    (ew / "rules.toml").write_text(rules)
    voice = (ew / "voice.toml").read_text().replace("{act_by}", "{act_bye}")
    (ew / "voice.toml").write_text(voice)
    code, out, _ = run(capsys, "check", "--workspace", str(ew))
    assert code == 1
    assert "reminder_every_days in [chains.default] must be a whole number of at least 1" in out
    assert "escalate_days in [chains.insurance] (90) is longer than first_alert_days" in out
    assert out.count("unknown placeholder {act_bye}") == 6  # each subject and body, by line
    assert "registry.csv:7" in out  # and the sheet's problem too


def test_settings_problems_are_all_named(ew: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = (ew / "backoffice.toml").read_text()
    toml = toml.replace('timezone = "America/New_York"', 'timezone = "Mars/Olympus"')
    toml = toml.replace('quiet_hours = "20:00-08:00"', 'quiet_hours = "8pm"')
    (ew / "backoffice.toml").write_text('colour = "blue"\n' + toml)
    code, out, _ = run(capsys, "check", "--workspace", str(ew))
    assert code == 1
    assert "unknown timezone 'Mars/Olympus'" in out and "quiet_hours '8pm'" in out
    assert "unknown setting 'colour'" in out and out.count("backoffice.toml:") == 3


def test_a_date_that_reads_two_ways_is_a_problem_until_the_order_is_stated(
    salon: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = salon / "backoffice.toml"
    toml.write_text(toml.read_text().replace("dayfirst = true", ""))
    sheet(
        salon,
        "appt_id,customer_name,phone,starts_at\nA1,Mei,+6591234567,03/12/2026 10:00\n",
        "appointments.csv",
    )
    code, out, _ = run(capsys, "check", "--workspace", str(salon))
    assert code == 1 and "reads two ways (3 December 2026 or 12 March 2026)" in out
    toml.write_text("dayfirst = true\n" + toml.read_text())
    code, out, _ = run(capsys, "check", "--workspace", str(salon))
    assert code == 0


@pytest.mark.parametrize("status", ["Canceled", " CANCELLED. ", "cancel"])
def test_cancelled_is_understood_as_people_spell_it(
    salon: Path, capsys: pytest.CaptureFixture[str], status: str
) -> None:
    sheet(
        salon,
        "appt_id,customer_name,phone,starts_at,status\n"
        f"A1,Mei,+6591234567,2026-12-02 10:00,{status}\n",
        "appointments.csv",
    )
    code, out, _ = run(
        capsys, "tick", "--workspace", str(salon), "--now", "2026-12-01T12:00:00+08:00", "--json"
    )
    assert code == 0 and '"sends": []' in out


def test_an_unknown_status_is_named_with_the_words_understood(
    salon: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet(
        salon,
        "appt_id,customer_name,phone,starts_at,status\nA1,Mei,+6591234567,"
        "2026-12-02 10:00,Cancld\n",
        "appointments.csv",
    )
    code, out, _ = run(capsys, "check", "--workspace", str(salon))
    assert code == 1 and "appointments.csv:2 [status] 'Cancld': unknown status" in out
    assert "write cancelled" in out


def test_a_line_break_in_a_name_is_still_emailed(
    ew: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet(
        ew,
        'item_id,name,expires_on,owner\nA,"Licence\nfor the shop",2026-12-20,maria@example.com\n',
    )
    code, out, _ = run(capsys, "tick", "--workspace", str(ew), "--now", NOW, "--json")
    assert code == 0 and '"move": "first_alert"' in out
    [mail] = (ew / "outbox").glob("ew_A_*.eml")
    assert b"Subject: Licence for the shop: please renew" in mail.read_bytes()


@pytest.mark.parametrize(
    "argv",
    [
        ["preview", "--workspace", "W", "--days", "0"],
        ["preview", "--workspace", "W", "--days", "100000"],
        ["serve", "--workspace", "W", "--port", "99999"],
        ["tick", "--workspace", "W", "--now", "tomorrow"],
        ["init", "no-such-system", "x"],
        ["nothing"],
    ],
)
def test_usage_errors_exit_2(ew: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([str(ew) if a == "W" else a for a in argv])
    assert exit_info.value.code == 2 and "Traceback" not in capsys.readouterr().err


def test_init_onto_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    code, _, err = run(capsys, "init", "expiry-watcher", str(target))
    assert code == 1 and err.count("\n") == 1 and "is a file" in err


def test_an_unreadable_intake_file_exits_1_and_says_what_to_do(
    ew: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 this is not really a pdf")
    code, out, _ = run(capsys, "intake", "--workspace", str(ew), str(scan))
    assert code == 1 and "scan.pdf: could not be read" in out
    assert "Could not fill: name, expires_on (required)" in out and "ops@example.com" in out


def test_a_closed_pipe_is_quiet(ew: Path) -> None:
    command = (
        f"{sys.executable} -m backoffice.cli.main preview --workspace {ew} --days 60 | head -1"
    )
    done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("Preview of 60 days") and done.stderr == ""
