"""A teammate who has never seen the inbox, in a real headless Chromium against `backoffice
serve`: signs in from the link in their mail, finds the thread waiting for them, answers it,
reassigns and closes; the WhatsApp 24-hour case; a forged form and a signed-out session are
refused; every page fits a phone's width. Screenshots of the main pages are kept in
build/screenshots/."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backoffice.cli.running import tick_workspace
from backoffice.cli.serve import Server, make_server
from backoffice.cli.workspace import write_example
from backoffice.handlers.wiring import read_settings
from backoffice.services.social_inbox import SYSTEM

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).parents[2] / "build" / "screenshots"
PHONE = {"width": 375, "height": 740}
ALWAYS = "Mon-Sun 00:00-24:00"
ROSTER = f"""assignee,name,contact,teams,timezone,working_hours,status,capacity,backup,admin
mei,Mei Tan,mei@shop.example,"support, sales",Asia/Singapore,{ALWAYS},active,5,ravi,yes
ravi,Ravi Kumar,ravi@shop.example,support,Asia/Kolkata,{ALWAYS},active,5,mei,
"""


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[tuple[Path, Server]]:
    workspace = tmp_path / "inbox"
    write_example(SYSTEM, workspace, date.today())
    (workspace / "roster.csv").write_text(ROSTER)
    rules = workspace / "rules.toml"
    rules.write_text('whatsapp_templates = ["hours_update"]\n' + rules.read_text())
    server = make_server(workspace, read_settings(workspace), 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield workspace, server
    server.shutdown()
    server.server_close()


def webhook(server: Server, workspace: Path, platform: str, payload: dict[str, Any]) -> int:
    import http.client

    body = json.dumps(payload).encode()
    secret = read_settings(workspace).secret("meta_app_secret")
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
    headers = {"content-type": "application/json", "x-hub-signature-256": signature}
    connection.request("POST", f"/siu/webhook/{platform}", body=body, headers=headers)
    return connection.getresponse().status


def messenger(sender: str, mid: str, text: str, at: datetime) -> dict[str, Any]:
    ms = int(at.timestamp() * 1000)
    item = {
        "sender": {"id": sender},
        "recipient": {"id": "P1"},
        "timestamp": ms,
        "message": {"mid": mid, "text": text},
    }
    return {"object": "page", "entry": [{"id": "P1", "time": ms, "messaging": [item]}]}


def whatsapp(sender: str, wamid: str, text: str, at: datetime) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Sheena"}, "wa_id": sender}],
        "messages": [
            {
                "from": sender,
                "id": wamid,
                "timestamp": str(int(at.timestamp())),
                "text": {"body": text},
                "type": "text",
            }
        ],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"value": value, "field": "messages"}]}],
    }


def sign_in_link(workspace: Path, to: str) -> str:
    """The newest sign-in link in the outbox's mail to `to`."""
    for _ in range(50):
        mails = sorted((workspace / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime)
        for path in reversed(mails):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if message["To"] == to and "Sign in" in str(message["Subject"]):
                body = message.get_body(("plain",))
                assert body is not None
                return re.findall(
                    r"http://127\.0\.0\.1:\d+/siu/inbox/enter\?t=\S+", body.get_content()
                )[0]
        time.sleep(0.1)
    raise AssertionError("no sign-in link in the outbox")


def fits_the_phone(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_teammate_signs_in_finds_their_thread_and_answers_it(browser: Any, inbox: Any) -> None:
    workspace, server = inbox
    base = f"http://127.0.0.1:{server.server_port}"
    settings_text = (workspace / "backoffice.toml").read_text()
    (workspace / "backoffice.toml").write_text(settings_text.replace("http://127.0.0.1:8787", base))
    now = datetime.now(UTC)
    assert (
        webhook(
            server,
            workspace,
            "facebook",
            messenger("c1", "m1", "Refund <b>please</b>, charged twice", now),
        )
        == 200
    )
    assert (
        webhook(
            server,
            workspace,
            "whatsapp",
            whatsapp("6591234567", "w1", "my invoice?", now - timedelta(hours=30)),
        )
        == 200
    )
    tick_workspace(workspace, read_settings(workspace), None)

    page = browser.new_page(viewport=PHONE)
    page.goto(f"{base}/siu/inbox")
    shot(page, "sign-in")
    assert fits_the_phone(page)
    page.get_by_label("E-mail address or Slack member id").fill("mei@shop.example")
    page.get_by_role("button", name="Send me a sign-in link").click()
    assert "a sign-in link is on its way" in page.content()
    page.goto(sign_in_link(workspace, "mei@shop.example").replace("http://127.0.0.1:8787", base))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/siu/inbox")
    shot(page, "my-threads")
    assert fits_the_phone(page)
    assert "Refund <b>please</b>" in page.inner_text("main")  # the customer's markup, as text
    page.get_by_role("link", name=re.compile("Refund")).click()
    shot(page, "thread")
    assert fits_the_phone(page)
    assert "never sent to the customer" in page.inner_text("main")
    page.get_by_label("Your reply").fill("We have refunded the second charge today.")
    page.get_by_role("button", name="Send reply").click()
    assert "Sent." in page.inner_text("main")
    assert "We have refunded the second charge today." in page.inner_text("main")
    replies = list((workspace / "outbox").glob("reply-*.json"))
    assert len(replies) == 1 and "refunded the second charge" in replies[0].read_text()

    page.get_by_label("Reassign to").select_option("ravi")
    page.get_by_role("button", name="Reassign").click()
    assert "Reassigned to Ravi Kumar" in page.inner_text("main")
    page.get_by_role("button", name="Close the thread").click()
    assert "Closed." in page.inner_text("main")

    from backoffice.cli.threads import threads_of

    [wa] = [t for t in threads_of(workspace) if t["platform"] == "whatsapp"]
    page.goto(f"{base}/siu/inbox/t/{wa['thread_id']}")  # Ravi's, in Mei's team
    shot(page, "whatsapp-template")
    assert fits_the_phone(page)
    text = page.inner_text("main")
    assert "within 24 hours" in text and page.locator("textarea").count() == 0
    assert page.get_by_label("Approved template").input_value() == "hours_update"

    page.goto(f"{base}/siu/inbox/team")
    shot(page, "team-queue")
    assert fits_the_phone(page)
    page.goto(f"{base}/siu/inbox/admin")
    shot(page, "team")
    assert fits_the_phone(page) and "Ravi Kumar" in page.inner_text("main")


def test_a_forged_form_and_a_signed_out_session_are_refused(browser: Any, inbox: Any) -> None:
    workspace, server = inbox
    base = f"http://127.0.0.1:{server.server_port}"
    settings_text = (workspace / "backoffice.toml").read_text()
    (workspace / "backoffice.toml").write_text(settings_text.replace("http://127.0.0.1:8787", base))
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/siu/inbox")
    page.get_by_label("E-mail address or Slack member id").fill("ravi@shop.example")
    page.get_by_role("button", name="Send me a sign-in link").click()
    page.goto(sign_in_link(workspace, "ravi@shop.example").replace("http://127.0.0.1:8787", base))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/siu/inbox")
    forged = context.request.post(f"{base}/siu/inbox/away", form={"csrf": "not-the-token"})
    assert forged.status == 403
    assert "ravi,Ravi Kumar" in (workspace / "roster.csv").read_text()
    assert ",active," in (workspace / "roster.csv").read_text().splitlines()[2]
    cookies = context.cookies()
    page.get_by_role("button", name="Sign out").click()
    replay = browser.new_context()
    replay.add_cookies(cookies)
    again = replay.new_page()
    again.goto(f"{base}/siu/inbox")
    assert "Send me a sign-in link" in again.content()
    assert replay.request.post(f"{base}/siu/inbox/away", form={"csrf": "x"}).status == 403
