"""The `backoffice` command as a person runs it, on a workspace written by `init`."""

from __future__ import annotations

import email
import email.policy
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backoffice.cli.main import main
from backoffice.handlers.wiring import read_settings

NY = ZoneInfo("America/New_York")
TODAY = date.today()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    target = tmp_path / "ew"
    assert run(capsys, "init", "expiry-watcher", str(target))[0] == 0
    return target


def next_weekday_morning(weekday: int) -> datetime:
    """The next given weekday at 08:00 New York time, a day or more from now; for a business
    weekday, one that is not a holiday in the example's calendar."""
    from backoffice.core.business_time import is_business_day
    from backoffice.core.settings import load_settings
    from backoffice.services.runtime import calendar_for

    example = Path(__file__).parents[2] / "src/cli/examples/expiry-watcher/backoffice.toml"
    settings = load_settings(example.read_text())
    now = datetime.combine(TODAY, datetime.min.time(), NY)
    calendar = calendar_for(settings, now)
    day = TODAY + timedelta(days=1)
    while day.weekday() != weekday or (weekday < 5 and not is_business_day(day, calendar)):
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 8, 0, tzinfo=NY)


def test_init_writes_a_workspace_and_refuses_to_overwrite_it(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sorted(p.name for p in workspace.iterdir()) == [
        "backoffice.toml",
        "registry.csv",
        "rules.toml",
        "voice.toml",
    ]
    assert "{link_secret}" not in (workspace / "backoffice.toml").read_text()
    code, _, err = run(capsys, "init", "expiry-watcher", str(workspace))
    assert code == 1 and "already exists" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], workspace: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["init", "no-such-system", "x"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["tick", "--workspace", str(workspace), "--now", "next tuesday"])
    assert exit_info.value.code == 2


def test_check_reports_the_example_bad_row_by_file_and_line(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "check", "--workspace", str(workspace))
    assert code == 1
    assert "registry.csv:7 [expires_on] 'not a date'" in out
    lines = (workspace / "registry.csv").read_text().splitlines()
    (workspace / "registry.csv").write_text("\n".join(lines[:-1]) + "\n")
    code, out, _ = run(capsys, "check", "--workspace", str(workspace))
    assert (code, out.strip()) == (0, "No problems found.")


def test_check_names_the_line_of_a_broken_rules_doc(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = workspace / "rules.toml"
    rules.write_text(rules.read_text().replace("max_reminders = 6", "max_reminders = “six”"))
    code, out, _ = run(capsys, "check", "--workspace", str(workspace))
    assert code == 1 and re.search(r"rules\.toml:\d+", out)


def test_missing_workspace_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "tick", "--workspace", str(tmp_path / "nowhere"))
    assert code == 1 and "backoffice init" in err


def test_tick_json_follows_the_contract_and_fills_the_outbox(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = next_weekday_morning(1)
    code, out, _ = run(
        capsys, "tick", "--workspace", str(workspace), "--now", now.isoformat(), "--json"
    )
    assert code == 0
    result = json.loads(out)
    assert set(result) == {"system", "timezone", "sends", "deferred", "problems"}
    assert (result["system"], result["timezone"]) == ("expiry-watcher", "America/New_York")
    subjects = [(s["subject"], s["move"]) for s in result["sends"]]
    assert ("CON-001", "first_alert") in subjects and ("CON-001", "escalate") in subjects
    assert ("LSE-001", "first_alert") not in subjects
    for send in result["sends"]:
        assert set(send) == {"at", "move", "subject", "to", "channel", "key"}
        assert datetime.fromisoformat(send["at"]).utcoffset() is not None
    assert [s["at"] for s in result["sends"]] == sorted(s["at"] for s in result["sends"])
    [problem] = result["problems"]
    assert problem == {
        "file": "registry.csv",
        "line": 7,
        "column": "expires_on",
        "value": "not a date",
        "message": problem["message"],
    }
    outbox = sorted((workspace / "outbox").iterdir())
    emails = [p for p in outbox if p.suffix == ".eml"]
    slack = [p for p in outbox if p.name.endswith(".json")]
    assert len(emails) + len(slack) == len(result["sends"]) and slack
    message = email.message_from_bytes(emails[0].read_bytes(), policy=email.policy.default)
    assert (
        message["From"] == "watcher@example.com"
        and "/ew/ack?t=" in message.get_body(("plain",)).get_content()
    )
    again = json.loads(
        run(capsys, "tick", "--workspace", str(workspace), "--now", now.isoformat(), "--json")[1]
    )
    assert again["sends"] == []


def test_a_weekend_tick_defers_and_a_later_tick_delivers(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saturday = next_weekday_morning(5)
    result = json.loads(
        run(capsys, "tick", "--workspace", str(workspace), "--now", saturday.isoformat(), "--json")[
            1
        ]
    )
    assert result["sends"] == [] and result["deferred"]
    untils = {datetime.fromisoformat(d["until"]) for d in result["deferred"]}
    assert all(u.weekday() == 0 and u.hour == 8 for u in untils)
    monday = min(untils)
    later = json.loads(
        run(capsys, "tick", "--workspace", str(workspace), "--now", monday.isoformat(), "--json")[1]
    )
    delivered = {s["key"] for s in later["sends"]}
    assert {d["key"] for d in result["deferred"]} <= delivered
    assert all(datetime.fromisoformat(s["at"]) == monday for s in later["sends"])


def test_preview_shows_the_timeline_and_writes_nothing(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(p.name for p in workspace.iterdir())
    code, out, _ = run(capsys, "preview", "--workspace", str(workspace), "--days", "21", "--json")
    assert code == 0
    assert sorted(p.name for p in workspace.iterdir()) == before
    sends = json.loads(out)["sends"]
    moves = {(s["subject"], s["move"]) for s in sends}
    assert {
        ("LIC-001", "first_alert"),
        ("CON-001", "escalate"),
        ("CRT-001", "escalate"),
        ("LIC-001", "reminder"),
    } <= moves
    assert all(datetime.fromisoformat(s["at"]).weekday() < 5 for s in sends)
    keys = [s["key"] for s in sends]
    assert len(keys) == len(set(keys))
    code, out, _ = run(capsys, "preview", "--workspace", str(workspace), "--days", "3")
    assert code == 0 and "Sent (" in out and "Problems (1)" in out


def test_preview_builds_no_message(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A preview shows who gets what and when: it signs no link and writes no message."""
    import importlib

    tick = importlib.import_module("backoffice.services.expiry_watcher.tick")

    def refused(*_: object) -> None:
        raise AssertionError("a preview built a message")

    monkeypatch.setattr(tick, "action_links", refused)
    monkeypatch.setattr(tick, "deliver_text", refused)
    code, out, _ = run(capsys, "preview", "--workspace", str(workspace), "--days", "21", "--json")
    assert code == 0
    sends = json.loads(out)["sends"]
    assert {("LIC-001", "first_alert"), ("LIC-001", "reminder")} <= {
        (s["subject"], s["move"]) for s in sends
    }


@pytest.fixture
def server(workspace: Path) -> Iterator[str]:
    from backoffice.cli.serve import make_server

    httpd = make_server(workspace, read_settings(workspace), 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def fetch(url: str, data: dict[str, str] | None = None) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with urllib.request.urlopen(url, data=body, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_serve_confirms_on_get_and_acts_on_post_once(
    workspace: Path, server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    now = next_weekday_morning(2)
    run(capsys, "tick", "--workspace", str(workspace), "--now", now.isoformat())
    eml = next(
        p
        for p in (workspace / "outbox").iterdir()
        if "CON-001" in p.name and "first_alert" in p.name
    )
    text = (
        email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        .get_body(("plain",))
        .get_content()
    )
    link = re.search(r"Renew: (\S+)", text).group(1)  # type: ignore[union-attr]
    token = link.split("?t=")[1]
    path = "/ew/ack?t=" + token
    status, page = fetch(server + path)
    assert status == 200 and '<form method="post"' in page and 'type="date"' in page
    assert "viewport" in page
    status, page = fetch(server + "/ew/ack", {"t": token, "date": "2099-01-01"})
    assert status == 200 and "renewed to 2099-01-01" in page
    assert "CON-001,Cleaning contract,2099-01-01" in (workspace / "registry.csv").read_text()
    status, page = fetch(server + "/ew/ack", {"t": token, "date": "2099-02-01"})
    assert status == 409 and "already been used" in page
    assert fetch(server + "/nowhere")[0] == 404


def test_demo_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "demo", "--dir", str(tmp_path))
    assert code == 0
    assert "preview" in out and "Outbox (" in out
    assert "=== appointment-reminder ===" in out
    outbox = tmp_path / "expiry-watcher" / "outbox"
    delivered = outbox.exists() and any(outbox.iterdir())
    assert delivered or "outside the hours" in out


def test_preview_starts_from_the_current_time(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from freezegun import freeze_time

    tuesday_evening = next_weekday_morning(1).replace(hour=21)
    with freeze_time(tuesday_evening):
        code, out, _ = run(
            capsys, "preview", "--workspace", str(workspace), "--days", "2", "--json"
        )
    assert code == 0
    times = [datetime.fromisoformat(s["at"]) for s in json.loads(out)["sends"]]
    # Nothing at 21:00 (quiet hours) or earlier that day: the first send is a later morning.
    assert times and min(times) > tuesday_evening and min(times).hour == 8


def test_the_system_clock_is_aware_utc() -> None:
    from freezegun import freeze_time

    from backoffice.adapters.clock import SystemClock

    with freeze_time("2026-12-01 13:00:00"):
        now = SystemClock().now()
    assert now == datetime(2026, 12, 1, 8, 0, tzinfo=NY)


def test_check_reports_an_unknown_holiday_calendar(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = workspace / "backoffice.toml"
    settings.write_text(settings.read_text().replace('country = "US"', 'country = "XX"'))
    code, out, _ = run(capsys, "check", "--workspace", str(workspace))
    assert code == 1 and "backoffice.toml:7" in out and "XX" in out


def test_intake_proposes_a_row_from_a_forwarded_email(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Dan Ruiz <dan@example.com>"
    message["Subject"] = "Fwd: Fire safety certificate"
    message.set_content("Certificate FS-88 is valid until 2099-05-01. Inspection fee $120.00.")
    path = tmp_path / "forwarded.eml"
    path.write_bytes(bytes(message))
    code, out, _ = run(capsys, "intake", "--workspace", str(workspace), str(path), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["problems"] == []
    proposal = result["proposal"]
    assert (proposal["name"], proposal["expires_on"], proposal["owner"]) == (
        "Fire safety certificate",
        "2099-05-01",
        "dan@example.com",
    )
    code, _, err = run(capsys, "intake", "--workspace", str(workspace), str(tmp_path / "none.eml"))
    assert code == 1 and "none.eml" in err


def test_appointment_reminder_workspace_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "salon"
    assert run(capsys, "init", "appointment-reminder", str(target))[0] == 0
    code, out, _ = run(capsys, "check", "--workspace", str(target))
    assert code == 1 and "appointments.csv:6 [service] 'massage'" in out
    sg = ZoneInfo("Asia/Singapore")
    start = datetime.combine(TODAY, datetime.min.time(), sg).replace(hour=9)
    code, out, _ = run(
        capsys,
        "preview",
        "--workspace",
        str(target),
        "--from",
        TODAY.isoformat(),
        "--days",
        "3",
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    assert result["system"] == "appointment-reminder"
    moves = {(s["subject"], s["move"], s["channel"]) for s in result["sends"]}
    assert ("A-101", "first_reminder", "sms") in moves
    assert ("A-103", "first_reminder", "email") in moves
    assert ("A-101", "gap_alert", "slack") in moves
    for send in result["sends"]:
        at = datetime.fromisoformat(send["at"]).astimezone(sg)
        if send["channel"] == "sms":
            assert 8 <= at.hour < 21  # never inside the SMS quiet hours
    code, out, _ = run(
        capsys,
        "tick",
        "--workspace",
        str(target),
        "--now",
        (start + timedelta(days=1)).isoformat(),
        "--json",
    )
    assert code == 0
    texts = list((target / "outbox").glob("*.sms.json"))
    assert texts and all(json.loads(p.read_text())["segments"] == 1 for p in texts)


def test_preview_drops_a_reminder_that_could_only_go_out_after_the_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "salon"
    run(capsys, "init", "appointment-reminder", str(target))
    early = (TODAY + timedelta(days=2)).isoformat() + " 07:30"
    with (target / "appointments.csv").open("a") as sheet:
        sheet.write(f"A-106,Zed,+6591234570,,default,{early},,,,\n")
    args = ("preview", "--workspace", str(target), "--from", TODAY.isoformat(), "--days", "4")
    code, out, _ = run(capsys, *args, "--json")
    assert code == 0
    result = json.loads(out)
    zed = {s["move"] for s in result["sends"] if s["subject"] == "A-106"}
    assert zed == {"first_reminder", "gap_alert"}  # the 05:30 text would wait until 08:00
    assert not [d for d in result["deferred"] if "A-106" in d["key"]]
    code, out, _ = run(capsys, *args)
    assert code == 0
    assert "Dropped: they could only go out at or after the start (1):" in out
    assert "- second reminder for A-106" in out


def test_intake_in_an_appointment_workspace_proposes_an_appointment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from email.message import EmailMessage

    target = tmp_path / "salon"
    run(capsys, "init", "appointment-reminder", str(target))
    message = EmailMessage()
    message["From"] = "Front desk <desk@salon.example.com>"
    message["Subject"] = "Fwd: New booking"
    message.set_content(
        "Lin Wei booked a haircut on 5 Dec 2026 at 3.30 pm. Call 9123 4570 or "
        "lin@example.com. Sent by desk@salon.example.com"
    )
    path = tmp_path / "booking.eml"
    path.write_bytes(bytes(message))
    code, out, _ = run(capsys, "intake", "--workspace", str(target), str(path), "--json")
    assert code == 0
    proposal = json.loads(out)["proposal"]
    assert set(proposal) == {
        "appt_id",
        "customer_name",
        "phone",
        "email",
        "service",
        "starts_at",
        "duration_min",
        "staff",
        "timezone",
        "status",
    }
    assert (proposal["starts_at"], proposal["phone"], proposal["email"]) == (
        "2026-12-05 15:30",
        "+6591234570",
        "lin@example.com",  # not the forwarder's address
    )
    assert proposal["customer_name"] == ""  # left for the admin, not guessed


def test_serve_answers_a_text_link_and_downloads_the_calendar_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from backoffice.cli.serve import make_server

    target = tmp_path / "salon"
    run(capsys, "init", "appointment-reminder", str(target))
    sg = ZoneInfo("Asia/Singapore")
    now = datetime.combine(TODAY, datetime.min.time(), sg).replace(hour=12)
    run(capsys, "tick", "--workspace", str(target), "--now", now.isoformat())
    texts = [json.loads(p.read_text()) for p in (target / "outbox").glob("*.sms.json")]
    link = next(t["text"] for t in texts if "/ar/r/A-101/" in t["text"]).split()[-1]
    httpd = make_server(target, read_settings(target), 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_port}"
    try:
        status, page = fetch(base + "/ar/r/" + link.split("/ar/r/")[1])
        assert status == 200 and "Add to calendar" in page
        ics_path = re.search(r'href="(/ar/ics/[^"]+)"', page).group(1)  # type: ignore[union-attr]
        with urllib.request.urlopen(base + ics_path, timeout=10) as response:
            assert response.headers["content-type"].startswith("text/calendar")
            assert response.read().startswith(b"BEGIN:VCALENDAR")
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_check_names_the_texts_that_would_cost_two_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "salon"
    run(capsys, "init", "appointment-reminder", str(target))
    sheet = target / "appointments.csv"
    rows = [r for r in sheet.read_text().splitlines() if not r.startswith(("A-104", "A-105"))]
    # "ë" is not in the GSM alphabet: the whole text goes as UCS-2, 70 characters a message.
    rows.append(f"A-107,Zoë Tan,+6591234571,,default,{TODAY.isoformat()} 10:00,,,,")
    sheet.write_text("\n".join(rows) + "\n")
    code, out, _ = run(capsys, "check", "--workspace", str(target))
    assert code == 0 and "No problems found." in out
    notes = [line for line in out.splitlines() if line.startswith("- ") and " text is " in line]
    assert [n.split(": the ")[1].split(" text")[0] for n in notes] == [
        "first reminder",
        "second reminder",
    ]
    assert all("A-107" in n and "sent as 2 messages" in n for n in notes)
