"""The teammates' inbox through its HTTP table (as `backoffice serve` and the reply handler's
Function URL answer it), on fake adapters: sign-in by link, the session cookie, CSRF, the
pages, replies inside and outside Meta's windows, take, reassign, close, away and back."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

from shop import RULES, SG, Shop, messenger, whatsapp

from backoffice.handlers import social_inbox as handlers
from backoffice.handlers.web import event_from_request
from backoffice.ports import ReplyRefused

THURSDAY = datetime(2026, 12, 3, 10, 0, tzinfo=SG)
RULES_WITH_TEMPLATES = 'whatsapp_templates = ["hours_update"]\n' + RULES
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Browser:
    """One teammate's browser: it keeps cookies and follows the inbox's forms."""

    def __init__(self, shop: Shop) -> None:
        self.shop, self.cookies, self.requests = shop, SimpleCookie(), 0

    def call(self, method: str, path: str, form: dict[str, str] | None = None) -> dict[str, Any]:
        path, _, query = path.partition("?")
        headers = {"cookie": "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())}
        body = urlencode(form or {}).encode()
        if form is not None:
            headers["content-type"] = "application/x-www-form-urlencoded"
        self.requests += 1
        request_id = f"req-{id(self)}-{self.requests}"  # as a Function URL's: unique
        event = event_from_request(method, path, query, headers, body, request_id)
        response = handlers.HTTP.answer(event, self.shop.ports, self.shop.settings)
        if "set-cookie" in response["headers"]:
            self.cookies.load(response["headers"]["set-cookie"])
        return response

    def csrf(self, path: str) -> str:
        return CSRF.findall(self.call("GET", path)["body"])[0]

    def sign_in(self, contact: str) -> dict[str, Any]:
        token = self.csrf("/siu/inbox")
        self.call("POST", "/siu/inbox/sign-in", {"csrf": token, "contact": contact})
        [link] = re.findall(
            r"https://shop\.example(/siu/inbox/enter\?t=\S+)", _last_message(self.shop)
        )
        assert self.call("GET", link)["statusCode"] == 200
        return self.call("POST", "/siu/inbox/enter", {"t": link.split("t=", 1)[1]})


def _last_message(shop: Shop) -> str:
    """The newest sign-in link's message (by mail or Slack DM)."""
    texts = [m.text for m in shop.mailer.sent] + [m.text for m in shop.chat.posted]
    links = [t for t in texts if "/siu/inbox/enter" in t]
    return links[-1] if links else ""


def shop_with_threads(rules: str = RULES) -> Shop:
    shop = Shop(THURSDAY, rules=rules)
    shop.webhook(
        "facebook", messenger("c1", "m1", "Refund <script>alert(1)</script> please", THURSDAY)
    )
    shop.webhook("whatsapp", whatsapp("6591234567", "w1", "my invoice?", THURSDAY))
    shop.drain()
    return shop


def test_sign_in_by_link_starts_a_session_and_strangers_learn_nothing() -> None:
    shop = shop_with_threads()
    browser = Browser(shop)
    page = browser.call("GET", "/siu/inbox")
    assert page["statusCode"] == 200 and "Send me a sign-in link" in page["body"]
    token = CSRF.findall(page["body"])[0]
    stranger = browser.call(
        "POST", "/siu/inbox/sign-in", {"csrf": token, "contact": "who@evil.example"}
    )
    known_before = len(shop.mailer.sent)
    assert shop.mailer.sent == [] or known_before == 0
    entered = browser.sign_in("mei@shop.example")
    assert entered["statusCode"] == 303
    cookie = entered["headers"]["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    mine = browser.call("GET", "/siu/inbox")
    assert "My threads" in mine["body"] and "Refund" in mine["body"]
    assert "<script>alert(1)</script>" not in mine["body"]  # a stranger's text is data
    known = browser.call(
        "POST", "/siu/inbox/sign-in", {"csrf": token, "contact": "mei@shop.example"}
    )
    assert _flash(stranger) == _flash(known)


def _flash(response: dict[str, Any]) -> str:
    return re.findall(r'role="status">([^<]*)<', response["body"])[0]


def test_a_sign_in_link_works_once() -> None:
    shop = shop_with_threads()
    browser = Browser(shop)
    token = browser.csrf("/siu/inbox")
    browser.call("POST", "/siu/inbox/sign-in", {"csrf": token, "contact": "U0RAVIKUMA1"})
    [link] = re.findall(r"/siu/inbox/enter\?t=(\S+)", _last_message(shop))
    assert browser.call("POST", "/siu/inbox/enter", {"t": link})["statusCode"] == 303
    assert Browser(shop).call("POST", "/siu/inbox/enter", {"t": link})["statusCode"] == 410


def test_a_post_without_the_csrf_token_changes_nothing() -> None:
    shop = shop_with_threads()
    browser = Browser(shop)
    browser.sign_in("mei@shop.example")
    thread = shop.thread_of("c1")
    refused = browser.call("POST", f"/siu/inbox/t/{thread.thread_id}/close", {"csrf": "forged"})
    assert refused["statusCode"] == 403 and shop.thread_of("c1").status == "open"
    assert (
        browser.call("POST", "/siu/inbox/sign-in", {"contact": "mei@shop.example"})["statusCode"]
        == 403
    )


def test_reply_is_sent_by_the_platform_appended_and_audited() -> None:
    shop = shop_with_threads()
    browser = Browser(shop)
    browser.sign_in("mei@shop.example")
    thread = shop.thread_of("c1")
    path = f"/siu/inbox/t/{thread.thread_id}"
    answer = browser.call(
        "POST", f"{path}/reply", {"csrf": browser.csrf(path), "text": "Refunded today."}
    )
    assert answer["statusCode"] == 303 and "Sent" in answer["headers"]["location"]
    [sent] = shop.replies.sent
    assert (sent.platform, sent.customer_id, sent.text, sent.tag) == (
        "facebook",
        "c1",
        "Refunded today.",
        "",
    )
    after = shop.thread_of("c1")
    assert [(m.direction, m.by) for m in after.messages] == [("in", ""), ("out", "mei")]
    assert any(r["action"] == "replied" for r in shop.rows("siu-audit"))


def test_a_refused_reply_shows_the_platforms_reason_and_records_nothing() -> None:
    shop = shop_with_threads()
    browser = Browser(shop)
    browser.sign_in("mei@shop.example")
    thread = shop.thread_of("c1")
    path = f"/siu/inbox/t/{thread.thread_id}"
    shop.replies.faults.fail_next("send", ReplyRefused("(#10) outside of allowed window"))
    answer = browser.call("POST", f"{path}/reply", {"csrf": browser.csrf(path), "text": "hi"})
    assert "outside+of+allowed+window" in answer["headers"]["location"]
    assert len(shop.thread_of("c1").messages) == 1


def test_whatsapp_after_24_hours_offers_the_templates_and_messenger_the_human_agent_tag() -> None:
    shop = shop_with_threads(RULES_WITH_TEMPLATES)
    shop.clock.set(THURSDAY + timedelta(hours=24))
    browser = Browser(shop)
    browser.sign_in("mei@shop.example")
    wa = shop.thread_of("6591234567")
    page = browser.call("GET", f"/siu/inbox/t/{wa.thread_id}")["body"]
    assert "within 24 hours" in page and "hours_update" in page and "<textarea" not in page
    path = f"/siu/inbox/t/{wa.thread_id}"
    free_text = browser.call("POST", f"{path}/reply", {"csrf": browser.csrf(path), "text": "hi"})
    assert "problem=1" in free_text["headers"]["location"] and shop.replies.sent == []
    browser.call("POST", f"{path}/reply", {"csrf": browser.csrf(path), "template": "hours_update"})
    assert shop.replies.sent[-1].template == "hours_update"
    fb = shop.thread_of("c1")
    path = f"/siu/inbox/t/{fb.thread_id}"
    browser.call(
        "POST", f"{path}/reply", {"csrf": browser.csrf(path), "text": "Sorry for the wait"}
    )
    assert shop.replies.sent[-1].tag == "HUMAN_AGENT"
    shop.clock.set(THURSDAY + timedelta(days=7))
    browser = Browser(shop)
    browser.sign_in("mei@shop.example")
    assert "Meta allows no reply now" in browser.call("GET", path)["body"]


def test_take_reassign_close_away_and_back() -> None:
    night = datetime(2026, 12, 3, 20, 0, tzinfo=SG)
    shop = Shop(night)
    shop.webhook("facebook", messenger("c9", "m9", "refund", night))
    shop.drain()
    assert shop.thread_of("c9").queued
    browser = Browser(shop)
    browser.sign_in("mei@shop.example")
    thread = shop.thread_of("c9")
    team = browser.call("GET", "/siu/inbox/team")["body"]
    assert "Take" in team and thread.thread_id in team
    browser.call(
        "POST", f"/siu/inbox/t/{thread.thread_id}/take", {"csrf": browser.csrf("/siu/inbox/team")}
    )
    assert shop.thread_of("c9").assignee == "mei" and shop.loads() == {"mei": 1}
    path = f"/siu/inbox/t/{thread.thread_id}"
    browser.call("POST", f"{path}/reassign", {"csrf": browser.csrf(path), "assignee": "ravi"})
    assert shop.thread_of("c9").assignee == "ravi" and shop.loads() == {"mei": 0, "ravi": 1}
    browser.call("POST", f"{path}/close", {"csrf": browser.csrf(path)})
    assert shop.thread_of("c9").status == "closed" and shop.loads()["ravi"] == 0
    browser.call("POST", "/siu/inbox/away", {"csrf": browser.csrf("/siu/inbox")})
    assert "away" in shop.sheet.read()[1]
    browser.call("POST", "/siu/inbox/back", {"csrf": browser.csrf("/siu/inbox")})
    assert "active" in shop.sheet.read()[1]


def test_signing_out_or_leaving_the_roster_ends_the_session() -> None:
    shop = shop_with_threads()
    browser = Browser(shop)
    browser.sign_in("mei@shop.example")
    kept = SimpleCookie()
    kept.load("; ".join(f"{k}={m.value}" for k, m in browser.cookies.items()))
    browser.call("POST", "/siu/inbox/sign-out", {"csrf": browser.csrf("/siu/inbox")})
    replay = Browser(shop)
    replay.cookies = kept  # the old cookie, kept by someone
    assert "Send me a sign-in link" in replay.call("GET", "/siu/inbox")["body"]
    assert replay.call("POST", "/siu/inbox/away", {"csrf": "x"})["statusCode"] == 403
    other = Browser(shop)
    other.sign_in("U0RAVIKUMA1")
    roster = shop.blobs.get("roster.csv")
    assert roster is not None  # ravi leaves the roster
    kept_lines = [
        line for line in roster.body.decode().splitlines() if not line.startswith("ravi,")
    ]
    shop.blobs.put("roster.csv", ("\n".join(kept_lines) + "\n").encode())
    assert "Send me a sign-in link" in other.call("GET", "/siu/inbox")["body"]


def test_the_admin_page_is_for_admins() -> None:
    shop = shop_with_threads()
    browser = Browser(shop)
    browser.sign_in("mei@shop.example")
    assert browser.call("GET", "/siu/inbox/admin")["statusCode"] == 403
