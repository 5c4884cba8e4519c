"""The teammates' inbox: sign-in by a single-use link, sessions, and what a teammate sees and
does (their queue, the team's queue, a thread; take, reply, reassign, close, away and back).

Sessions are rows of their own: signing out revokes one, and a teammate who leaves the roster
has none that work. The reply text always comes from the teammate; the model only labels."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime, timedelta

from attrs import evolve, frozen

from backoffice.core import social_inbox as si
from backoffice.core.settings import Settings
from backoffice.core.tokens import LinkClaim, TokenError, mint, nonce_for, read
from backoffice.ports import Absent, ConditionFailed, Ports, Reply, ReplyRefused, Write
from backoffice.services.delivery import describe, stamp
from backoffice.services.runtime import deliver_text, local_now
from backoffice.services.social_inbox.audits import audit_write
from backoffice.services.social_inbox.routing import reassign, sla_due
from backoffice.services.social_inbox.state import (
    SESSIONS,
    Documents,
    all_threads,
    get_thread,
    load_documents,
    loads,
    thread_write,
)

SESSION, SIGN_IN = "session", "sign_in"
# The secret each platform's send token is under ([secrets] locally; siu/... in AWS).
REPLY_TOKENS = {
    "facebook": "facebook_page_token",
    "instagram": "instagram_token",
    "whatsapp": "whatsapp_token",
}
SIGN_IN_FOR = timedelta(minutes=15)
SESSION_FOR = timedelta(hours=12)
INBOX_PATH = "/siu/inbox"
SIGN_IN_SENT = (
    "If that address or Slack id belongs to someone on the team, a sign-in link is on its way. "
    "It works once, for 15 minutes."
)


def _secret(settings: Settings) -> str:
    return settings.secret("link_secret")


def _mac(settings: Settings, *parts: str) -> str:
    message = "\x1f".join(("inbox", *parts)).encode("utf-8")
    return hmac.new(_secret(settings).encode(), message, hashlib.sha256).hexdigest()


# --- sign-in and sessions ----------------------------------------------------------------------


def teammate_for(docs: Documents, entered: str) -> si.Teammate | None:
    wanted = entered.strip().casefold()
    return next(
        (
            m
            for m in docs.roster
            if wanted and wanted in (m.contact.casefold(), m.assignee.casefold())
        ),
        None,
    )


def request_sign_in(ports: Ports, settings: Settings, entered: str, request_id: str) -> str:
    """Send the teammate their link; the answer is the same for anyone (strangers learn
    nothing from it)."""
    docs = load_documents(ports.blobs, settings)
    mate = teammate_for(docs, entered)
    if mate is None:
        return SIGN_IN_SENT
    now = local_now(ports.clock, settings)
    claim = LinkClaim(
        system=si.SYSTEM,
        subject=mate.assignee,
        action=SIGN_IN,
        chain=SESSION,
        nonce=nonce_for(_secret(settings), "sign-in", mate.assignee, request_id),
        expires_at=int((now + SIGN_IN_FOR).timestamp()),
        by=mate.contact,
    )
    link = f"{settings.public_url}{INBOX_PATH}/enter?t={mint(_secret(settings), claim)}"
    text = f"Sign in to the inbox (the link works once, for 15 minutes):\n{link}"
    deliver_text(
        ports, mate.contact, "Sign in to the inbox", text, (), f"siu:sign-in:{claim.nonce}"
    )
    return SIGN_IN_SENT


def sign_in_claim(settings: Settings, token: str, now: datetime) -> LinkClaim | None:
    try:
        claim = read(_secret(settings), token, now)
    except TokenError:
        return None
    return claim if claim.action == SIGN_IN and claim.system == si.SYSTEM else None


def start_session(ports: Ports, settings: Settings, token: str, session_id: str) -> str | None:
    """Spend the sign-in link and open a session; the cookie's value, or None when the link is
    not genuine, expired or spent."""
    now = local_now(ports.clock, settings)
    claim = sign_in_claim(settings, token, now)
    if claim is None:
        return None
    spent = {"session_id": f"nonce:{claim.nonce}", "kind": SIGN_IN, "spent_at": stamp(now)}
    session = {
        "session_id": session_id,
        "kind": SESSION,
        "assignee": claim.subject,
        "expires": stamp(now + SESSION_FOR),
        "revoked": False,
    }
    try:
        ports.tables.transact(
            [Write(SESSIONS.name, spent, Absent()), Write(SESSIONS.name, session, Absent())]
        )
    except ConditionFailed:
        return None
    return f"{session_id}.{_mac(settings, 'session', session_id)}"


@frozen
class Session:
    session_id: str
    teammate: si.Teammate

    def csrf(self, settings: Settings) -> str:
        return _mac(settings, "csrf", self.session_id)


def session_of(ports: Ports, settings: Settings, cookie: str) -> Session | None:
    """The signed-in teammate: a genuine cookie, an open session, still on the roster."""
    session_id, _, mac = cookie.partition(".")
    if not session_id or not hmac.compare_digest(mac, _mac(settings, "session", session_id)):
        return None
    row = ports.tables.get(SESSIONS.name, session_id, SESSION)
    now = local_now(ports.clock, settings)
    if row is None or row.get("revoked") or str(row["expires"]) <= stamp(now):
        return None
    mate = load_documents(ports.blobs, settings).teammate(str(row["assignee"]))
    return Session(session_id, mate) if mate is not None else None


def end_session(ports: Ports, session: Session) -> None:
    row = ports.tables.get(SESSIONS.name, session.session_id, SESSION)
    if row is not None:
        ports.tables.put(SESSIONS.name, {**row, "revoked": True})


def csrf_valid(settings: Settings, session: Session, given: str) -> bool:
    return hmac.compare_digest(given.encode(), session.csrf(settings).encode())


def anonymous_csrf(settings: Settings, browser_nonce: str) -> str:
    """The sign-in form's token, tied to a cookie the browser was given (double submit)."""
    return _mac(settings, "anonymous", browser_nonce)


def csrf_valid_anonymous(settings: Settings, browser_nonce: str, given: str) -> bool:
    return hmac.compare_digest(given.encode(), anonymous_csrf(settings, browser_nonce).encode())


# --- what a teammate sees ------------------------------------------------------------------


def my_queue(ports: Ports, session: Session) -> list[si.Thread]:
    mine = [t for t in all_threads(ports.tables) if t.status == "open"]
    mine = [t for t in mine if t.assignee == session.teammate.assignee]
    return sorted(mine, key=lambda t: (t.sla_due or t.opened_at, t.thread_id))


def team_queue(ports: Ports, session: Session) -> list[si.Thread]:
    waiting = [t for t in all_threads(ports.tables) if t.queued]
    waiting = [t for t in waiting if t.team in session.teammate.teams]
    return sorted(waiting, key=lambda t: (t.sla_due or t.opened_at, t.thread_id))


def earlier_threads(ports: Ports, thread: si.Thread) -> list[si.Thread]:
    same = [t for t in all_threads(ports.tables) if t.customer_key == thread.customer_key]
    return sorted((t for t in same if t.thread_id != thread.thread_id), key=lambda t: t.opened_at)


def visible(session: Session, thread: si.Thread) -> bool:
    """A teammate sees the threads of their teams."""
    return thread.team in session.teammate.teams


# --- what a teammate does ------------------------------------------------------------------


@frozen
class Done:
    ok: bool
    message: str


def take(ports: Ports, settings: Settings, session: Session, thread_id: str) -> Done:
    """A queued thread of the teammate's team, to them, if they are under their capacity."""
    thread = get_thread(ports.tables, thread_id)
    if thread is None or not thread.queued or not visible(session, thread):
        return Done(False, "That thread is no longer waiting in your team's queue.")
    me = session.teammate
    if loads(ports.tables).get(me.assignee, 0) >= me.capacity:
        return Done(False, "You are at your capacity; close a thread first.")
    now = local_now(ports.clock, settings)
    routed = si.Routed(me.assignee, thread.team, "taken from the team's queue")
    try:
        reassign(ports, thread, routed, thread.sla_due or now, now, me.assignee)
    except ConditionFailed:
        return Done(False, "Someone else took it a moment ago.")
    return Done(True, "It is yours.")


def reply(
    ports: Ports,
    settings: Settings,
    session: Session,
    thread_id: str,
    text: str,
    template: str = "",
) -> Done:
    """Through the platform's send API, within Meta's window; recorded only once it is sent."""
    thread = get_thread(ports.tables, thread_id)
    if thread is None or not visible(session, thread):
        return Done(False, "That thread is not one of your team's.")
    now = local_now(ports.clock, settings)
    window = si.reply_window(thread, now)
    problem = _unsendable(window, text, template, load_documents(ports.blobs, settings).rules)
    if problem:
        return Done(False, problem)
    if ports.replies is None:
        raise RuntimeError("the social inbox needs a Replies adapter in its ports")
    key = f"siu:{thread.thread_id}:reply:{len(thread.messages)}"
    request = Reply(
        platform=thread.platform,
        business_id=thread.business_id,
        customer_id=thread.customer_id,
        idempotency_key=key,
        text=text.strip() if not template else "",
        template=template,
        tag=window.tag,
    )
    try:
        sent = ports.replies.send(request)
    except ReplyRefused as error:
        return Done(False, f"{thread.platform.capitalize()} refused the reply: {error}")
    except Exception as error:  # a rate limit, a timeout: nothing was sent, try again
        return Done(False, f"The reply could not reach {thread.platform} ({describe(error)}).")
    said = si.Said(
        sent.platform_message_id, "out", template or text.strip(), now, session.teammate.assignee
    )
    _record_reply(ports, thread, said, now, session)
    return Done(True, "Sent.")


def _unsendable(window: si.Window, text: str, template: str, rules: si.Rules) -> str:
    if window.kind == "closed":
        return window.why
    if window.kind == "template":
        if template not in rules.whatsapp_templates:
            return window.why
        return ""
    if template:
        return "Templates are for WhatsApp threads outside the 24-hour window."
    if not text.strip():
        return "Write the reply first."
    return ""


def _record_reply(
    ports: Ports, thread: si.Thread, said: si.Said, now: datetime, session: Session
) -> None:
    """The reply is out, so it is recorded however the store hiccups (a few tries, re-read
    each time): unrecorded, the teammate would send it again."""
    for attempt in range(RECORD_TRIES):
        try:
            current = get_thread(ports.tables, thread.thread_id) or thread
            after = evolve(current, messages=(*current.messages, said), version=current.version + 1)
            audit = audit_write(
                after,
                now,
                "replied",
                {"message": said.platform_message_id},
                f"reply-{after.version}",
                session.teammate.assignee,
            )
            ports.tables.transact([thread_write(current, after), audit])
            return
        except Exception:
            if attempt == RECORD_TRIES - 1:
                raise


RECORD_TRIES = 5


def reassign_to(
    ports: Ports, settings: Settings, session: Session, thread_id: str, assignee: str
) -> Done:
    thread = get_thread(ports.tables, thread_id)
    docs = load_documents(ports.blobs, settings)
    target = docs.teammate(assignee)
    if thread is None or thread.status != "open" or not visible(session, thread):
        return Done(False, "That thread is not open in your team.")
    if target is None or thread.team not in target.teams:
        return Done(False, f"{assignee} is not on the {thread.team} team.")
    if target.assignee == thread.assignee:
        return Done(False, f"It is already with {target.name}.")
    now = local_now(ports.clock, settings)
    routed = si.Routed(target.assignee, thread.team, f"reassigned by {session.teammate.assignee}")
    due = thread.sla_due or sla_due(settings, docs.rules, thread.label.urgency, now)
    try:
        reassign(ports, thread, routed, due, now, session.teammate.assignee)
    except ConditionFailed:
        return Done(False, "The thread changed meanwhile; look again.")
    return Done(True, f"Reassigned to {target.name}.")


def set_status(ports: Ports, settings: Settings, session: Session, status: str) -> Done:
    """Away or back, in the roster itself (RAW): routing reads it from there."""
    if status not in ("active", "away"):
        return Done(False, "Away or back only.")
    ports.sheet.update_cell(session.teammate.assignee, "status", status)
    now = local_now(ports.clock, settings)
    return Done(
        True,
        "You are away: no new threads come to you."
        if status == "away"
        else f"Welcome back ({now:%H:%M}): new threads come to you again.",
    )


def teammates_of(docs: Documents, thread: si.Thread) -> Sequence[si.Teammate]:
    return [m for m in docs.roster if thread.team in m.teams]
