"""The social scheduler through the CLI: the example, check with every problem on its line,
preview as JSON (the contract), and live ticks posting through the channel adapters to local
stand-ins of the Graph API, with the owner's mail on a real SMTP server."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cafe import picture

from backoffice.adapters.posting import FileTokens
from backoffice.cli.main import main
from backoffice.cli.workspace import check_workspace, write_example
from backoffice.handlers.machine import CHANNEL_TOKENS
from backoffice.services.social_scheduler import SYSTEM

SG = ZoneInfo("Asia/Singapore")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write_example(SYSTEM, tmp_path / "ss", date(2026, 12, 1))
    return tmp_path / "ss"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_the_example_has_one_deliberate_mistake_and_says_where(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "check", "--workspace", str(workspace))
    assert code == 1
    assert "posts.csv:4 [channels]" in out and "over its limit of 500" in out
    assert out.count("\n- ") == 1


def test_preview_json_is_one_send_per_post_and_channel_at_its_exact_minute(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(
        capsys, "preview", "--workspace", str(workspace), "--from", "2026-12-01", "--json"
    )
    assert code == 0
    sends = json.loads(out)["sends"]
    posts = [(s["subject"], s["channel"], s["at"], s["key"]) for s in sends if s["move"] == "post"]
    assert posts == [
        (
            "welcome-winter",
            "facebook",
            "2026-12-02T10:30:00+08:00",
            "ss:welcome-winter:facebook:post",
        ),
        (
            "welcome-winter",
            "instagram",
            "2026-12-02T10:30:00+08:00",
            "ss:welcome-winter:instagram:post",
        ),
        ("tuesday-quiz", "facebook", "2026-12-04T08:00:00+08:00", "ss:tuesday-quiz:facebook:post"),
    ]
    flags = [(s["subject"], s["key"].split(":")[3]) for s in sends if s["move"] == "flag"]
    assert ("too-long", "refused") in flags  # nothing posted anywhere, the owner told why
    assert ("new-cake", "review") in flags  # unapproved and due: a review card, never a post
    assert {s["to"][0] for s in sends if s["move"] == "flag"} == {"owner@cafe.example"}
    assert not (workspace / "outbox").exists() and not (workspace / "state.db").exists()


BROKEN = {
    2: 'a,Hello,"facebook, myspace",,2026-12-05 10:00,TRUE,',
    3: "b,Hello,facebook,,next friday-ish,TRUE,",
    4: "c,Hello,facebook,nowhere.jpg,2026-12-05 10:00,TRUE,",
    5: "d,Hello,instagram,photo.jpg,2026-12-05 10:00,TRUE,",
    6: "e,,facebook,,2026-12-05 10:00,TRUE,no-such-template",
    7: "f,Fine,facebook,,2026-12-05 10:00,TRUE,",
}


def test_each_bad_row_is_a_problem_on_its_line_and_the_other_posts_run(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = (workspace / "posts.csv").read_text().splitlines()[0]
    (workspace / "posts.csv").write_text("\n".join([header, *BROKEN.values()]) + "\n")
    (workspace / "images" / "photo.jpg").write_bytes(picture("PNG"))
    problems = {(p.line, p.column): p.message for p in check_workspace(workspace)}
    assert "unknown channel 'myspace'" in problems[(2, "channels")]
    assert "not a date and time" in problems[(3, "publish_at")]
    assert "no file 'nowhere.jpg'" in problems[(4, "image")]
    assert "image/png; it takes image/jpeg" in problems[(5, "channels")]
    assert "unknown template 'no-such-template'" in problems[(6, "text")]
    assert not [key for key in problems if key[0] == 7]
    code, out = run(
        capsys, "preview", "--workspace", str(workspace), "--from", "2026-12-05", "--json"
    )
    assert code == 0
    assert [s["subject"] for s in json.loads(out)["sends"] if s["move"] == "post"] == ["f"]


def test_a_template_with_an_unknown_placeholder_is_a_problem_on_its_line(workspace: Path) -> None:
    rules = workspace / "rules.toml"
    rules.write_text(rules.read_text().replace("{offer}", "{offfer}"))
    [problem] = check_workspace(workspace)
    assert problem.file == "rules.toml" and "{offfer}" in problem.message
    assert rules.read_text().splitlines()[problem.line - 1].startswith("text = ")


def live(workspace: Path, graph_url: str, ig_url: str, smtp_port: int) -> None:
    """The workspace in live mode: both channels on the Graph stand-in, mail over SMTP."""
    from platforms import PAGE_TOKEN

    toml = workspace / "backoffice.toml"
    text = toml.read_text().replace('delivery = "outbox"', 'delivery = "live"')
    text += f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\ntls = "none"\n'
    toml.write_text(text)
    rules = workspace / "rules.toml"
    rules.write_text(
        rules.read_text()
        .replace("https://graph.facebook.com/v21.0/CAFE_PAGE_ID/feed", graph_url)
        .replace("https://graph.facebook.com/v21.0/CAFE_IG_USER_ID", ig_url)
    )
    tokens = FileTokens(workspace / CHANNEL_TOKENS)
    for channel in ("facebook", "instagram"):
        tokens.write(f"ss/channels/{channel}", json.dumps({"access_token": PAGE_TOKEN}))


def test_live_ticks_post_through_the_platform_once_each_at_their_minute(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from platforms import meta_graph
    from standins import smtp_server

    with meta_graph() as graph, smtp_server() as mailbox:
        live(workspace, graph.feed_url, graph.ig_user_url, mailbox.port)
        for when in (
            "2026-12-02T07:00",
            "2026-12-02T10:29",
            "2026-12-02T10:30",
            "2026-12-02T10:31",
        ):
            code, out = run(capsys, "tick", "--workspace", str(workspace), "--now", when, "--json")
            assert code == 0, out
        landed = graph.landed
        paths = sorted(r.path for r in graph.requests if r.method == "POST")
        flagged = [m.message["Subject"] for m in mailbox.messages]
    assert len(landed) == 2  # welcome-winter on facebook (a photo) and instagram
    assert sum(path.endswith("/photos") for path in paths) == 1
    assert sum(path.endswith("/media_publish") for path in paths) == 1
    assert any("too-long needs a change" in subject for subject in flagged)
    assert not (workspace / "outbox").exists()


def test_a_token_the_platform_refuses_tells_the_owner_once_and_waits_for_a_reconnect(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from platforms import PAGE_TOKEN, meta_graph
    from standins import smtp_server

    with meta_graph() as graph, smtp_server() as mailbox:
        live(workspace, graph.feed_url, graph.ig_user_url, mailbox.port)
        graph.revoke()
        for when in (
            "2026-12-02T07:00",
            "2026-12-02T10:30",
            "2026-12-02T10:45",
            "2026-12-02T11:30",
        ):
            run(capsys, "tick", "--workspace", str(workspace), "--now", when)
        reconnects = [m for m in mailbox.messages if "Reconnect" in m.message["Subject"]]
        assert len(reconnects) == 2  # one per channel, once each
        assert PAGE_TOKEN not in "".join(str(m.message) for m in mailbox.messages)
        posts_before = len(graph.landed)
        graph.accept("EAAGnew-token-0002")
        tokens = FileTokens(workspace / CHANNEL_TOKENS)
        for channel in ("facebook", "instagram"):
            tokens.write(
                f"ss/channels/{channel}", json.dumps({"access_token": "EAAGnew-token-0002"})
            )
        run(capsys, "tick", "--workspace", str(workspace), "--now", "2026-12-02T12:00")
        assert posts_before == 0 and len(graph.landed) == 2
