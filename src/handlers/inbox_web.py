"""The teammates' inbox over HTTP: the sign-in page and link, the session cookie, the pages
(my threads, the team's queue, a thread, the team) and the forms' actions. Every form carries
a CSRF token; a POST without a valid one changes nothing (403). Pages are rendered at this
edge from the services' data, times in the teammate's own timezone."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from http.cookies import SimpleCookie
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from attrs import evolve, frozen

from backoffice.core import social_inbox as core
from backoffice.core.settings import Settings
from backoffice.handlers import metrics, pages, web
from backoffice.handlers.web import Endpoint, Request, Route
from backoffice.ports import Ports, Replied, Replies, Reply
from backoffice.services.social_inbox import close, load_documents, loads
from backoffice.services.social_inbox import inbox as service

BASE = service.INBOX_PATH
SESSION_COOKIE, BROWSER_COOKIE = "siu_session", "siu_browser"

PLATFORMS = {"facebook": "Messenger", "instagram": "Instagram", "whatsapp": "WhatsApp"}
SUMMARY_BY = {
    "model": "The model's summary",
    "keywords": "The message's first words (no model labels here)",
    "fallback": "The message's first words (the model could not label it)",
}
Page = dict[str, Any]


class Visit(NamedTuple):
    """One signed-in request, as every page and action of the inbox takes it."""

    request: Request
    params: Mapping[str, str]
    ports: Ports
    settings: Settings
    session: service.Session
    form: Mapping[str, str]


View = Callable[[Visit], Page]


def _cookies(request: Request) -> Mapping[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(request.headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is no session
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def _cookie(settings: Settings, name: str, value: str, max_age: int) -> str:
    secure = (
        ""
        if settings.public_url.startswith(("http://127.0.0.1", "http://localhost"))
        else "; Secure"
    )
    return f"{name}={value}; Path={BASE}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"


def _page(
    status: int, template: str, headers: Mapping[str, str] | None = None, **context: Any
) -> Page:
    shown = {"flash": "", "problem": False, "me": None, "csrf": "", "admin": False, **context}
    response = web.html_response(status, pages.render(f"inbox/{template}", base=BASE, **shown))
    response["headers"].update(headers or {})
    return response


def _redirect(to: str, cookie: str = "") -> Page:
    headers = {"location": to, "cache-control": "no-store"}
    if cookie:
        headers["set-cookie"] = cookie
    return {"statusCode": 303, "headers": headers, "body": ""}


def _session(request: Request, ports: Ports, settings: Settings) -> service.Session | None:
    return service.session_of(ports, settings, _cookies(request).get(SESSION_COOKIE, ""))


def _signed_in(view: View) -> Endpoint:
    """The pages and actions of a session; without one, the sign-in page (GET) or 403 (POST).
    A POST must carry the session's CSRF token."""

    def endpoint(
        request: Request, params: Mapping[str, str], ports: Ports, settings: Settings
    ) -> Page:
        session = _session(request, ports, settings)
        if session is None:
            if request.method == "POST":
                return pages.message(403, "Signed out", "Sign in again; nothing was changed.")
            return _sign_in_page(request, settings)
        if request.method == "POST":
            form = request.form()
            if not service.csrf_valid(settings, session, form.get("csrf", "")):
                return pages.message(
                    403, "Refused", "The form was out of date; nothing was changed."
                )
            return view(Visit(request, params, ports, settings, session, form))
        return view(Visit(request, params, ports, settings, session, {}))

    return endpoint


def _context(session: service.Session, settings: Settings, **more: Any) -> dict[str, Any]:
    return {
        "me": session.teammate,
        "csrf": session.csrf(settings),
        "admin": session.teammate.admin,
        **more,
    }


# --- signing in ----------------------------------------------------------------------------------


def _sign_in_page(request: Request, settings: Settings, flash: str = "") -> Page:
    nonce = _cookies(request).get(BROWSER_COOKIE) or secrets.token_urlsafe(18)
    cookie = _cookie(settings, BROWSER_COOKIE, nonce, 3600)
    csrf = service.anonymous_csrf(settings, nonce)
    return _page(
        200, "signin.html", {"set-cookie": cookie}, title="Sign in", csrf=csrf, flash=flash, me=None
    )


def _sign_in(request: Request, params: Mapping[str, str], ports: Ports, settings: Settings) -> Page:
    form = request.form()
    nonce = _cookies(request).get(BROWSER_COOKIE, "")
    if not nonce or not service.csrf_valid_anonymous(settings, nonce, form.get("csrf", "")):
        return pages.message(
            403, "Refused", "The form was out of date; open the sign-in page again."
        )
    message = service.request_sign_in(ports, settings, form.get("contact", ""), request.request_id)
    return _sign_in_page(request, settings, message)


def _enter(request: Request, params: Mapping[str, str], ports: Ports, settings: Settings) -> Page:
    """GET shows the button; POST spends the link and opens the session."""
    token = request.query.get("t", "") if request.method == "GET" else request.form().get("t", "")
    if request.method == "GET":
        claim = service.sign_in_claim(settings, token, ports.clock.now())
        if claim is None:
            return pages.message(410, "Link expired", "Ask for a new sign-in link.")
        return _page(200, "enter.html", title="Sign in", token=token, me=None)
    cookie = service.start_session(ports, settings, token, secrets.token_urlsafe(24))
    if cookie is None:
        return pages.message(410, "Link used or expired", "Ask for a new sign-in link.")
    return _redirect(
        BASE, _cookie(settings, SESSION_COOKIE, cookie, int(service.SESSION_FOR.total_seconds()))
    )


# --- pages ---------------------------------------------------------------------------------


def _local(when: datetime | None, zone: str) -> str:
    return when.astimezone(ZoneInfo(zone)).strftime("%a %d %b %H:%M") if when else ""


def _rows(threads: list[core.Thread], zone: str) -> list[dict[str, Any]]:
    return [
        {
            "thread_id": t.thread_id,
            "due": _local(t.sla_due, zone),
            "topic": t.label.topic,
            "urgent": t.label.urgency == "urgent",
            "platform": PLATFORMS.get(t.platform, t.platform),
            "summary": t.label.summary or "(no summary)",
        }
        for t in threads
    ]


def _mine(visit: Visit) -> Page:
    rows = _rows(service.my_queue(visit.ports, visit.session), visit.session.teammate.zone)
    return _page(
        200,
        "queue.html",
        title="My threads",
        threads=rows,
        take=False,
        caption="Assigned to you, the nearest target first.",
        empty="Nothing is waiting for you.",
        flash=visit.request.query.get("said", ""),
        **_context(visit.session, visit.settings),
    )


def _team(visit: Visit) -> Page:
    rows = _rows(service.team_queue(visit.ports, visit.session), visit.session.teammate.zone)
    return _page(
        200,
        "queue.html",
        title="Team queue",
        threads=rows,
        take=True,
        caption="Waiting for someone in your teams.",
        empty="Nobody is waiting.",
        flash=visit.request.query.get("said", ""),
        **_context(visit.session, visit.settings),
    )


def _thread(visit: Visit) -> Page:
    from backoffice.services.social_inbox.state import get_thread

    thread = get_thread(visit.ports.tables, visit.params["thread_id"])
    if thread is None or not service.visible(visit.session, thread):
        return pages.message(404, "Not found", "No such thread in your teams.")
    zone = visit.session.teammate.zone
    docs = load_documents(visit.ports.blobs, visit.settings)
    view = {
        "thread_id": thread.thread_id,
        "platform": PLATFORMS.get(thread.platform, thread.platform),
        "team": thread.team,
        "urgent": thread.label.urgency == "urgent",
        "topic": thread.label.topic,
        "due": _local(thread.sla_due, zone),
        "status": thread.status,
        "assignee": thread.assignee,
        "summary": thread.label.summary,
        "summary_by": SUMMARY_BY.get(thread.label.source, "Summary"),
    }
    messages = [
        {"direction": m.direction, "by": m.by, "at": _local(m.at, zone), "text": m.text}
        for m in thread.messages
    ]
    earlier = [
        {
            "thread_id": e.thread_id,
            "opened": _local(e.opened_at, zone),
            "topic": e.label.topic,
            "status": e.status,
        }
        for e in service.earlier_threads(visit.ports, thread)
    ]
    window = core.reply_window(thread, visit.ports.clock.now())
    said = visit.request.query.get("said", "")
    return _page(
        200,
        "thread.html",
        title=f"A thread on {PLATFORMS.get(thread.platform, thread.platform)}",
        thread=view,
        messages=messages,
        earlier=earlier,
        window=window,
        templates=docs.rules.whatsapp_templates,
        teammates=service.teammates_of(docs, thread),
        flash=said,
        problem=visit.request.query.get("problem") == "1",
        **_context(visit.session, visit.settings),
    )


def _admin(visit: Visit) -> Page:
    if not visit.session.teammate.admin:
        return pages.message(403, "Admins only", "Ask an admin to look at the team.")
    docs = load_documents(visit.ports.blobs, visit.settings)
    counts = loads(visit.ports.tables)
    roster = [
        {
            "name": m.name,
            "status": m.status,
            "load": counts.get(m.assignee, 0),
            "capacity": m.capacity,
            "teams": ", ".join(sorted(m.teams)),
            "hours": "; ".join(
                f"{s.start:%H:%M}-{s.end:%H:%M}" if s.end else f"{s.start:%H:%M}-24:00"
                for s in m.shifts
            ),
            "zone": m.zone,
        }
        for m in docs.roster
    ]
    return _page(
        200,
        "admin.html",
        title="The team",
        roster=roster,
        **_context(visit.session, visit.settings),
    )


# --- actions -------------------------------------------------------------------------------


def _back_to(path: str, done: service.Done) -> Page:
    from urllib.parse import urlencode

    query = urlencode({"said": done.message, **({} if done.ok else {"problem": "1"})})
    return _redirect(f"{path}?{query}")


def _act(action: str) -> Endpoint:
    def view(visit: Visit) -> Page:
        thread_id = visit.params["thread_id"]
        here = f"{BASE}/t/{thread_id}"
        if action == "reply":
            done = service.reply(
                _counting_replies(visit.ports),
                visit.settings,
                visit.session,
                thread_id,
                visit.form.get("text", ""),
                visit.form.get("template", ""),
            )
        elif action == "take":
            done = service.take(visit.ports, visit.settings, visit.session, thread_id)
        elif action == "reassign":
            done = service.reassign_to(
                visit.ports,
                visit.settings,
                visit.session,
                thread_id,
                visit.form.get("assignee", ""),
            )
        else:
            closed = close(visit.ports, visit.settings, thread_id, visit.session.teammate.assignee)
            done = service.Done(closed is not None, "Closed." if closed else "It was not open.")
            here = BASE
        return _back_to(here, done)

    return _signed_in(view)


@frozen
class _CountedReplies:
    """The platform's send API, each send that raises counted as `ReplyFailed`: the reply
    did not reach the customer (refused for good or not, nothing was sent)."""

    inner: Replies

    def send(self, reply: Reply) -> Replied:
        try:
            return self.inner.send(reply)
        except Exception:
            metrics.count(metrics.REPLY_FAILED)
            raise


def _counting_replies(ports: Ports) -> Ports:
    return evolve(ports, replies=_CountedReplies(ports.replies)) if ports.replies else ports


def _status(status: str) -> Endpoint:
    def view(visit: Visit) -> Page:
        return _back_to(
            BASE, service.set_status(visit.ports, visit.settings, visit.session, status)
        )

    return _signed_in(view)


def _sign_out(visit: Visit) -> Page:
    service.end_session(visit.ports, visit.session)
    return _redirect(BASE, _cookie(visit.settings, SESSION_COOKIE, "", 0))


ROUTES = (
    Route("GET", BASE, _signed_in(_mine)),
    Route("POST", f"{BASE}/sign-in", _sign_in),
    Route("GET", f"{BASE}/enter", _enter),
    Route("POST", f"{BASE}/enter", _enter),
    Route("POST", f"{BASE}/sign-out", _signed_in(_sign_out)),
    Route("GET", f"{BASE}/team", _signed_in(_team)),
    Route("GET", f"{BASE}/admin", _signed_in(_admin)),
    Route("GET", f"{BASE}/t/{{thread_id}}", _signed_in(_thread)),
    *(
        Route("POST", f"{BASE}/t/{{thread_id}}/{a}", _act(a))
        for a in ("reply", "take", "reassign", "close")
    ),
    Route("POST", f"{BASE}/away", _status("away")),
    Route("POST", f"{BASE}/back", _status("active")),
)
