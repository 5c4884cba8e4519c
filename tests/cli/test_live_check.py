"""`backoffice check --live` tries each configured connection without sending anything, and
names the setting behind each one that fails."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from standins import slack_api, smtp_servers
from test_run import live

from backoffice.cli.main import main
from backoffice.cli.workspace import write_example
from backoffice.services.expiry_watcher import SYSTEM


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write_example(SYSTEM, tmp_path, date(2026, 12, 1))
    rows = (tmp_path / "registry.csv").read_text().splitlines()
    (tmp_path / "registry.csv").write_text("\n".join(r for r in rows if "not a date" not in r))
    return tmp_path


@pytest.mark.parametrize(
    ("password", "token", "works"),
    [
        ("secret-pw", "xoxb-test", True),
        ("bad-Pw-9x", "xoxb-test", False),
        ("secret-pw", "xoxb-revoked", False),
    ],
)
def test_every_connection_is_tried_and_nothing_is_sent(
    workspace: Path, capsys: pytest.CaptureFixture[str], password: str, token: str, works: bool
) -> None:
    with smtp_servers() as launch, slack_api() as slack:
        mailbox = launch(login=True, auth_require_tls=False)
        mailbox.user, mailbox.password = "bot", "secret-pw"
        live(workspace, mailbox.port, slack.base_url, password=password)
        toml = workspace / "backoffice.toml"
        toml.write_text(toml.read_text().replace('"xoxb-test"', f'"{token}"'))
        code = main(["check", "--workspace", str(workspace), "--live"])
        assert mailbox.messages == [] and slack.posts == []
    out = capsys.readouterr().out
    assert code == (0 if works else 1)
    assert (
        "- mail: ok, smtp 127.0.0.1" in out
        or "check [smtp] user and [secrets] smtp_password" in out
    )
    assert "- slack: ok" in out or "check [secrets] slack_bot_token" in out
    assert "bad-Pw-9x" not in out  # a password never reaches the output
