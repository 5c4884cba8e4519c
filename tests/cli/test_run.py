"""`backoffice run` across a simulated day, its clock driven by the test: every move goes out
once, at the minute the preview says; a stop and a restart after a sleep lose nothing and catch
up once; a real process stops cleanly on SIGTERM; `status` tells the truth."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backoffice.adapters.fake import FakeClock
from backoffice.cli.main import main
from backoffice.cli.run import Runner
from backoffice.cli.running import preview_workspace
from backoffice.cli.workspace import write_example
from backoffice.handlers.wiring import read_settings
from backoffice.services.appointment_reminder import SYSTEM as SALON
from backoffice.services.expiry_watcher import SYSTEM as REGISTRY

SG = ZoneInfo("Asia/Singapore")
NY = ZoneInfo("America/New_York")
START_NY = datetime(2026, 12, 1, 7, 0, tzinfo=NY)  # a Tuesday, before the 08:00 tick


def drive(runner: Runner, clock: FakeClock, until: datetime) -> None:
    """Run the loop, each wait moving the simulated clock on; stop at `until`."""

    def wait(seconds: float) -> bool:
        clock.advance(timedelta(seconds=max(seconds, 1)))
        return clock.now() >= until

    runner.wait = wait
    runner.run()


def logged(capsys: pytest.CaptureFixture[str], event: str) -> list[dict[str, object]]:
    out = capsys.readouterr().out.splitlines()
    lines = [json.loads(text) for text in out if text.startswith("{")]
    return [line for line in lines if line["event"] == event]


@pytest.fixture
def salon(tmp_path: Path) -> Path:
    write_example(SALON, tmp_path, date(2026, 12, 1))
    return tmp_path


def test_a_simulated_day_delivers_every_move_once_at_its_minute(
    salon: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = read_settings(salon)
    start = datetime(2026, 12, 1, 7, 30, tzinfo=SG)
    end = start + timedelta(days=3)
    expected = preview_workspace(salon, settings, start, 3)
    clock = FakeClock(start)
    runner = Runner(salon, settings, SALON, clock, lambda _: True)
    drive(runner, clock, start + timedelta(minutes=1))  # the first start: records, sends nothing
    clock.set(start)
    drive(Runner(salon, settings, SALON, clock, lambda _: True), clock, end)
    sent = {
        line["key"]: line["at"] for line in logged(capsys, "dispatch") if line["status"] == "sent"
    }
    assert sent == {d.key: d.at.isoformat() for d in expected.sends()}
    assert len(sent) >= 5


def test_a_stop_and_a_restart_after_a_sleep_catch_up_once_and_send_nothing_twice(
    salon: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = read_settings(salon)
    start = datetime(2026, 12, 1, 7, 30, tzinfo=SG)
    clock = FakeClock(start)
    drive(Runner(salon, settings, SALON, clock, lambda _: True), clock, start.replace(hour=13))
    capsys.readouterr()
    clock.set(start.replace(hour=15, minute=20))  # the machine slept through 14:00 and 15:00
    drive(Runner(salon, settings, SALON, clock, lambda _: True), clock, start + timedelta(days=3))
    ticks = [line["at"] for line in logged(capsys, "tick")]
    assert ticks[0] == start.replace(hour=15, minute=20).isoformat()  # one catch-up run
    assert ticks[1] == start.replace(hour=16, minute=0).isoformat()  # then on the hour again
    keys = [p.name for p in (salon / "outbox").iterdir()]
    expected = preview_workspace(salon, settings, start, 3)
    assert {d.key for d in expected.sends()} <= {
        json.loads(p.read_text()).get("idempotency_key")
        for p in (salon / "outbox").glob("*.sms.json")
    } | {_mail_key(p) for p in (salon / "outbox").glob("*.eml")} | {
        json.loads(p.read_text()).get("idempotency_key")
        for p in (salon / "outbox").glob("*.slack.json")
    }
    assert len(keys) == len(set(keys))


def _mail_key(path: Path) -> str:
    return next(
        line.split(": ", 1)[1]
        for line in path.read_text().splitlines()
        if line.startswith("X-Backoffice-Key: ")
    )


def test_the_daily_tick_keeps_its_local_time_across_the_end_of_daylight_saving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_example(REGISTRY, tmp_path, date(2026, 10, 30))
    settings = read_settings(tmp_path)
    start = datetime(2026, 10, 30, 12, 0, tzinfo=NY)  # clocks go back on Sunday 1 November
    clock = FakeClock(start)
    drive(
        Runner(tmp_path, settings, REGISTRY, clock, lambda _: True),
        clock,
        start + timedelta(days=4),
    )
    ticks = [
        datetime.fromisoformat(str(line["at"])).astimezone(NY) for line in logged(capsys, "tick")
    ]
    assert [(t.day, t.hour, t.minute) for t in ticks] == [
        (31, 8, 0),
        (1, 8, 0),
        (2, 8, 0),
        (3, 8, 0),
    ]
    assert ticks[0].utcoffset() == timedelta(hours=-4) and ticks[1].utcoffset() == timedelta(
        hours=-5
    )


def test_a_real_process_stops_cleanly_on_sigterm_and_status_tells_the_truth(
    salon: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = [
        sys.executable,
        "-m",
        "backoffice.cli.main",
        "run",
        "--workspace",
        str(salon),
        "--port",
        "0",
    ]
    for _ in range(2):  # and once more: a restart
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert child.stdout is not None
        first = child.stdout.readline()
        assert json.loads(first)["event"] == "run_started"
        time.sleep(0.3)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
        assert child.returncode == 0, err
        assert '"event": "run_stopped"' in out and "Traceback" not in err
    code = main(["status", "--workspace", str(salon)])
    shown = capsys.readouterr().out
    assert "- tick: last " in shown and "never" not in shown.split("- tick:")[1].split("\n")[0]
    assert "In flight (0)" in shown and "Failed in the last 7 days (0)" in shown
    assert code == 1 and "Problems in the documents (" in shown  # the example's bad rows


def test_status_says_when_nothing_has_run_and_when_a_send_failed(
    salon: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from backoffice.adapters.local.tables import SqliteTables

    assert main(["status", "--workspace", str(salon)]) == 1
    assert "`backoffice run` has not run in this workspace yet." in capsys.readouterr().out
    sends = SALON.storage.sends
    row = {"appt_id": "A-101", "window_index": "x#first_reminder", "key": "ar:A-101:x"}
    failed_at = datetime.now(SG).isoformat()
    failed = {
        **row,
        "status": "failed",
        "error": "DeliveryError: SMTP login refused",
        "failed_at": failed_at,
    }
    SqliteTables(salon / "state.db", SALON.storage.all).put(sends.name, failed)
    main(["status", "--workspace", str(salon)])
    shown = capsys.readouterr().out
    assert "Failed in the last 7 days (1):" in shown and "ar:A-101:x: DeliveryError" in shown


def live(workspace: Path, smtp_port: int, slack_url: str, password: str = "secret-pw") -> None:
    """The workspace in live mode: mail to the SMTP server, Slack to the stand-in."""
    toml = workspace / "backoffice.toml"
    head = f'delivery = "live"\nslack_api_url = "{slack_url}"\n'
    tail = f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nuser = "bot"\ntls = "none"\n'
    text = toml.read_text().replace(
        "[secrets]\n", f'[secrets]\nsmtp_password = "{password}"\nslack_bot_token = "xoxb-test"\n'
    )
    toml.write_text(head + text + tail)


def test_live_delivery_across_a_simulated_day_goes_out_once_at_its_minute(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from standins import slack_api, smtp_servers

    write_example(REGISTRY, tmp_path, date(2026, 12, 1))
    expected = preview_workspace(tmp_path, read_settings(tmp_path), START_NY, 3)
    with smtp_servers() as launch, slack_api() as slack:
        mailbox = launch(login=True, auth_require_tls=False)
        mailbox.user, mailbox.password = "bot", "secret-pw"
        live(tmp_path, mailbox.port, slack.base_url)
        settings = read_settings(tmp_path)
        clock = FakeClock(START_NY)
        drive(
            Runner(tmp_path, settings, REGISTRY, clock, lambda _: True),
            clock,
            START_NY + timedelta(minutes=1),
        )
        clock.set(START_NY)
        drive(
            Runner(tmp_path, settings, REGISTRY, clock, lambda _: True),
            clock,
            START_NY + timedelta(days=3),
        )
        mailed = [r.message["X-Backoffice-Key"] for r in mailbox.messages]
        posted = [m.get("text", "") for m in slack.messages.values()]
    sent = {
        line["key"]: line["at"] for line in logged(capsys, "dispatch") if line["status"] == "sent"
    }
    assert sent == {d.key: d.at.isoformat() for d in expected.sends()}
    by_email = [d.key for d in expected.sends() if d.channel == "email"]
    assert sorted(mailed) == sorted(by_email) and len(set(mailed)) == len(mailed)
    assert len(posted) == len([d for d in expected.sends() if d.channel == "slack"]) >= 1
    assert not (tmp_path / "outbox").exists()  # live: nothing lands in the outbox


def test_a_wrong_smtp_password_is_retried_then_the_admin_hears_of_it_by_slack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from standins import slack_api, smtp_servers

    write_example(REGISTRY, tmp_path, date(2026, 12, 1))
    with smtp_servers() as launch, slack_api() as slack:
        mailbox = launch(login=True, auth_require_tls=False)
        live(tmp_path, mailbox.port, slack.base_url, password="wrong")
        toml = tmp_path / "backoffice.toml"
        toml.write_text('staff_channel = "C0STAFF001"\n' + toml.read_text())
        settings = read_settings(tmp_path)
        clock = FakeClock(START_NY)
        drive(
            Runner(tmp_path, settings, REGISTRY, clock, lambda _: True),
            clock,
            START_NY + timedelta(minutes=1),
        )
        clock.set(START_NY)
        drive(
            Runner(tmp_path, settings, REGISTRY, clock, lambda _: True),
            clock,
            START_NY + timedelta(hours=2),
        )
        notices = [
            m.get("text", "")
            for (channel, _), m in slack.messages.items()
            if channel.startswith("C")
        ]
    dispatches = logged(capsys, "dispatch")
    errors = {str(line["error"]) for line in dispatches if line["status"] in ("retry", "failed")}
    assert any("check [smtp] user and [secrets] smtp_password" in e for e in errors)
    assert "wrong" not in " ".join(errors)  # the password never reaches a log line
    assert {line["status"] for line in dispatches} >= {"retry", "failed"}
    assert mailbox.messages == [] and any("Could not deliver" in text for text in notices)
