"""The expiry watcher's use cases: the daily tick, dispatching one move, and an owner's answer.

Each use case reads the clock once, loads what the core needs in a few batch calls, asks the core
what to do, and applies the answer through the ports.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from attrs import frozen

from backoffice.core import expiry_watcher as ew
from backoffice.core.business_time import next_allowed
from backoffice.core.documents import DocumentError
from backoffice.core.keys import move_key
from backoffice.core.problems import Problem
from backoffice.core.settings import Settings
from backoffice.core.sheet import read_csv
from backoffice.core.tokens import LinkClaim
from backoffice.ports import Button, Model, Tables, TableSchema
from backoffice.ports.calendar import CalendarEvent
from backoffice.services import audit, engine, proposals
from backoffice.services.delivery import Slot, stamp
from backoffice.services.engine import Delivery, Outgoing
from backoffice.services.links import ActionResult, Answered, LinkForm, LinkPage, Links
from backoffice.services.runtime import (
    LinkTarget,
    Ports,
    answer_links,
    calendar_for,
    channel_of,
    deliver_text,
    local_now,
)

PINGS = "ew-pings"
ACKS = "ew-ack"
AUDIT = "ew-audit"
ARCHIVE = "ew-pings-archive"
NONCES = "ew-link-nonces"
PROPOSALS = proposals.schema(ew.PREFIX)
TABLES = (
    TableSchema(PINGS, "item_id", "chain_index"),
    TableSchema(ACKS, "item_id", "ack_date"),
    TableSchema(AUDIT, "item_id", "ts"),
    TableSchema(ARCHIVE, "item_id", "archive_index"),
    TableSchema(NONCES, "nonce", "kind"),
    PROPOSALS,
)
DIGEST_ID = "~digest"
LINK_SECRET = "link_secret"
LINK_PATH = "/ew/ack"
LABELS = {"renew": "Renew", "snooze": "Snooze", "ack_only": "Ack only"}


# --- loading -----------------------------------------------------------------------------------


@frozen
class Documents:
    items: tuple[ew.Item, ...]
    problems: tuple[Problem, ...]
    rules: ew.Rules
    voice: ew.Voice


def load_documents(ports: Ports, settings: Settings) -> Documents:
    """The registry, rules and voice docs. A broken rules or voice doc stops the tick with its
    file and line; a broken registry row is only a problem."""
    sheet = _text(ports, ew.SHEET_FILE)
    table, problems = read_csv(sheet, ew.SHEET_FILE)
    items, row_problems = ew.parse_rows(table, dayfirst=settings.dayfirst, admin=settings.admin)
    return Documents(
        items=tuple(items),
        problems=(*problems, *row_problems),
        rules=ew.load_rules(_text(ports, ew.RULES_FILE)),
        voice=ew.load_voice(_text(ports, ew.VOICE_FILE)),
    )


def _text(ports: Ports, name: str) -> str:
    blob = ports.blobs.get(name)
    if blob is None:
        raise DocumentError(name, None, f"{name} is missing")
    try:
        return blob.body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DocumentError(name, None, f"{name} is not UTF-8 text") from None


@lru_cache(maxsize=4)
def _voice(text: str) -> ew.Voice:
    """Parsed once per version of the doc, not once per message."""
    return ew.load_voice(text)


def load_state(tables: Tables) -> ew.State:
    """Everything a tick decides from, in one scan per table."""
    return _state(tables.scan(PINGS), tables.scan(ACKS), tables.scan(ARCHIVE))


def load_item_state(tables: Tables, item_id: str) -> ew.State:
    return _state(
        tables.query(PINGS, item_id), tables.query(ACKS, item_id), tables.query(ARCHIVE, item_id)
    )


def _state(
    pings: list[dict[str, Any]], acks: list[dict[str, Any]], archived: list[dict[str, Any]]
) -> ew.State:
    return ew.State.of(
        pings=(ping_from_row(row) for row in pings if row["item_id"] != DIGEST_ID),
        acks=(ack_from_row(row) for row in acks),
        archived=(row["chain_id"] for row in archived),
    )


def ping_from_row(row: Mapping[str, Any]) -> ew.Ping:
    sent_on = row.get("ping_date")
    return ew.Ping(
        item_id=row["item_id"],
        chain_id=row["chain_id"],
        move=row["move"],
        number=int(row.get("number", 0)),
        key=row["key"],
        status=row["status"],
        sent_on=date.fromisoformat(sent_on) if sent_on else None,
    )


def ack_from_row(row: Mapping[str, Any]) -> ew.Ack:
    def day(name: str) -> date | None:
        value = row.get(name)
        return date.fromisoformat(value) if value else None

    return ew.Ack(
        item_id=row["item_id"],
        chain_id=row["chain_id"],
        action=row["action"],
        on=date.fromisoformat(row["ack_date"][:10]),
        snooze_until=day("snooze_until"),
        new_expiry=day("new_expiry"),
    )


def ping_slot(move: ew.Move) -> Slot:
    expires_on = move.fields["expires_on"]
    position = f"reminder:{move.number}" if move.move == "reminder" else move.move
    return Slot(
        table=PINGS,
        pk=move.item_id,
        sk=f"{expires_on}#{position}",
        row={
            "item_id": move.item_id,
            "chain_index": f"{expires_on}#{position}",
            "key": move.key,
            "chain_id": move.chain_id,
            "move": move.move,
            "number": move.number,
            "recipient": move.to,
        },
    )


# --- the tick ----------------------------------------------------------------------------------


@frozen
class TickResult:
    now: datetime
    moves: tuple[ew.Move, ...]
    problems: tuple[Problem, ...]
    archived: tuple[str, ...]


def tick(ports: Ports, settings: Settings) -> TickResult:
    """Decide this tick's moves and hand each to dispatch through the bus."""
    now = local_now(ports.clock, settings)
    docs = load_documents(ports, settings)
    state = load_state(ports.tables)
    plan = ew.plan_tick(docs.items, state, docs.rules, now)
    archive_chains(ports.tables, plan.archive)
    ports.bus.emit([(f"ew.{move.move}", move.as_json()) for move in plan.moves])
    return TickResult(
        now=now, moves=plan.moves, problems=(*docs.problems, *plan.problems), archived=plan.archive
    )


def archive_chains(tables: Tables, chains: tuple[str, ...] | list[str]) -> None:
    """Move the chains' rows from ew-pings to ew-pings-archive (copy first, then delete)."""
    for chain in chains:
        item_id = chain.rsplit("@", 1)[0]
        rows = [row for row in tables.query(PINGS, item_id) if row["chain_id"] == chain]
        if not rows:
            continue
        tables.put_many(
            ARCHIVE, [{**row, "archive_index": f"{chain}#{row['chain_index']}"} for row in rows]
        )
        tables.delete_many(PINGS, [(item_id, row["chain_index"]) for row in rows])


# --- dispatch ----------------------------------------------------------------------------------


def dispatch(ports: Ports, settings: Settings, detail: Mapping[str, Any]) -> Delivery:
    """Deliver one move now, defer it to the next allowed minute, or drop it if no longer due."""
    move = ew.Move.from_json(detail)
    now = local_now(ports.clock, settings)
    channel = channel_of(move.to)
    outgoing = Outgoing(
        key=move.key,
        kind=move.move,
        subject=move.item_id,
        to=(move.to,),
        channel=channel,
        line=move.line,
        slot=ping_slot(move),
        payload={"move": move.as_json()},
    )
    if not ew.still_due(move, load_item_state(ports.tables, move.item_id), now.date()):
        return outgoing.report("dropped", now)

    def send() -> str:
        composed = ew.compose(move, _voice(_text(ports, ew.VOICE_FILE)))
        links = action_links(settings, move, now)
        return deliver_text(ports, move.to, composed.subject, composed.text, links, move.key)

    return engine.deliver(
        ports,
        lambda when: calendar_for(settings, when),
        outgoing,
        now,
        send,
        {"ping_date": now.date().isoformat(), "dispatched_via": channel, "sent_at": stamp(now)},
        lambda failure: tell_admin_of_failure(
            ports, settings, move, failure.attempts, failure.error
        ),
    )


def action_links(settings: Settings, move: ew.Move, now: datetime) -> tuple[Button, ...]:
    """Renew, Snooze and Ack only, each a signed single-use link bound to the move's chain."""
    target = LinkTarget(ew.SYSTEM, move.item_id, move.chain_id, move.key, move.to, LINK_PATH)
    return answer_links(settings, target, {a: LABELS[a] for a in ew.ACTIONS}, now)


def tell_admin_of_failure(
    ports: Ports, settings: Settings, move: ew.Move, attempts: int, error: str
) -> None:
    """A send that failed for good is put in front of a person; it is never dropped silently."""
    subject = f"Could not deliver the {move.move.replace('_', ' ')} for {move.fields['item_name']}"
    text = (
        f"backoffice tried {attempts} times to send the {move.move.replace('_', ' ')} about "
        f"{move.fields['item_name']} (item {move.item_id}, act by {move.fields['act_by']}) to "
        f"{move.to}, and every try failed.\n\nLast error: {error}\n\nPlease check the address "
        "and pass the message on yourself; it will not be retried automatically."
    )
    deliver_text(ports, settings.admin, subject, text, (), f"{move.key}:failed")


# --- the weekly digest -------------------------------------------------------------------------


def digest(ports: Ports, settings: Settings) -> Delivery | None:
    """The weekly digest to the admin: sent by the first run on or after the digest day at which
    delivery is allowed, once per week. None when it is not due or was already sent."""
    now = local_now(ports.clock, settings)
    if settings.digest_day is None or next_allowed(now, calendar_for(settings, now)) != now:
        return None
    today = now.date()
    anchor = today - timedelta(days=(today.weekday() - settings.digest_day) % 7)
    key = move_key(ew.PREFIX, "digest", anchor.isoformat())
    sent = ports.tables.get(PINGS, DIGEST_ID, key)
    if sent is not None and sent.get("status") == "sent":
        return None
    docs = load_documents(ports, settings)
    state = load_state(ports.tables)
    plan = ew.plan_tick(docs.items, state, docs.rules, now)
    problems = (*docs.problems, *plan.problems)
    composed = ew.compose_digest(docs.items, state, problems, today, window_days=30)
    return _send_to_admin(ports, settings, key, "digest", composed.subject, composed.text, now)


# --- the monthly summary ------------------------------------------------------------------------


def summary(ports: Ports, settings: Settings, model: Model) -> Delivery | None:
    """Last month in one paragraph by the model, with the facts table under it; when the model
    fails or says nothing usable, the table alone goes out, saying so. Once per month."""
    now = local_now(ports.clock, settings)
    if next_allowed(now, calendar_for(settings, now)) != now:
        return None
    month_end = now.date().replace(day=1) - timedelta(days=1)
    month_start = month_end.replace(day=1)
    key = move_key(ew.PREFIX, "summary", month_start.strftime("%Y-%m"))
    docs = load_documents(ports, settings)
    facts = ew.summary_facts(docs.items, load_state(ports.tables), month_start, month_end)
    text = engine.narrate(model, ew.SUMMARY_INSTRUCTIONS, facts, "this month")
    subject = f"Expiry watcher: {month_start:%B %Y} in summary"
    return _send_to_admin(ports, settings, key, "summary", subject, text, now)


def _send_to_admin(
    ports: Ports, settings: Settings, key: str, kind: str, subject: str, text: str, now: datetime
) -> Delivery | None:
    """A message of the system's own (digest, summary) to the admin, at most once per key."""
    row = {"item_id": DIGEST_ID, "chain_index": key, "key": key, "chain_id": DIGEST_ID}
    slot = Slot(PINGS, DIGEST_ID, key, {**row, "move": kind, "recipient": settings.admin})
    return engine.report_once(ports, slot, settings.admin, subject, text, now, kind)


# --- owner actions through links ---------------------------------------------------------------


def open_link(ports: Ports, settings: Settings, token: str) -> LinkPage:
    """GET: explain what the link will do and ask for confirmation. Changes nothing."""
    now = local_now(ports.clock, settings)
    return _links(ports, settings).open(
        token, now, lambda claim: _link_page(ports, settings, claim, token, now)
    )


def _link_page(
    ports: Ports, settings: Settings, claim: LinkClaim, token: str, now: datetime
) -> LinkPage:
    if claim.action in proposals.ACTIONS:
        return proposals.page(ports, ew.PREFIX, claim, token)
    item = _current_item(ports, settings, claim.subject)
    if item is None or item.chain_id != claim.chain:
        return LinkPage(
            410,
            "Out of date",
            "This message is about a date that has since "
            "changed, so the link no longer applies. Nothing was changed.",
        )
    today = now.date()
    title = f"{LABELS[claim.action]}: {item.name}"
    if claim.action == "renew":
        return LinkPage(
            200,
            title,
            f"{item.name} currently expires on "
            f"{item.expires_on.isoformat()}. Enter the new expiry date.",
            LinkForm(
                token,
                "renew",
                "Renew",
                "New expiry date",
                date_min=item.expires_on + timedelta(days=1),
            ),
        )
    if claim.action == "snooze":
        default = min(today + timedelta(days=7), item.act_by)
        return LinkPage(
            200,
            title,
            f"Pause reminders for {item.name} until a date no later "
            f"than {item.act_by.isoformat()}, when it must be acted on.",
            LinkForm(
                token,
                "snooze",
                "Snooze",
                "Remind me again on",
                date_default=default,
                date_min=today + timedelta(days=1),
                date_max=item.act_by,
            ),
        )
    return LinkPage(
        200,
        title,
        f"Confirm that you have seen the alert for {item.name} and are "
        "handling it. Reminders stop; the escalation contact is still told if it "
        "is not renewed close to the date.",
        LinkForm(token, "ack_only", "Confirm"),
    )


def act_on_link(
    ports: Ports,
    settings: Settings,
    token: str,
    chosen_date: str,
    request_id: str,
    by_user: str | None = None,
    fields: Mapping[str, str] | None = None,
) -> ActionResult:
    """POST from the confirmation page, or a Slack button: spend the link, then apply the
    answer. `by_user` names who answered when the channel knows better than the link."""
    now = local_now(ports.clock, settings)

    def apply(claim: LinkClaim) -> Answered:
        action = _action(claim, chosen_date, request_id, by_user)
        if claim.action in proposals.ACTIONS:
            transition = _decide_proposal(ports, claim, action, now, fields)
        else:
            transition = perform(ports, settings, action, now)
        return Answered(transition.accepted, transition.message)

    def refused(claim: LinkClaim | None, reason: str) -> None:
        action = ew.Action(
            kind=claim.action if claim else "ack_only",  # type: ignore[arg-type]
            item_id=claim.subject if claim else "(unverified link)",
            chain_id=claim.chain if claim else "",
            by_user=by_user or (claim.by if claim else "") or "unknown",
            request_id=request_id,
        )
        write_audit(ports.tables, ew.reject(action, now, reason).audit)

    return _links(ports, settings).act(token, now, apply, refused)


def _links(ports: Ports, settings: Settings) -> Links:
    return Links(ports.tables, NONCES, settings.secret(LINK_SECRET))


def _decide_proposal(
    ports: Ports,
    claim: LinkClaim,
    action: ew.Action,
    now: datetime,
    fields: Mapping[str, str] | None,
) -> ew.Transition:
    edits = fields if claim.action == "edit" else None
    decision = proposals.decide(
        ports, ew.PREFIX, claim.subject, claim.action, action.by_user, now, edits
    )
    entry = ew.AuditEntry(
        item_id=decision.values.get("item_id") or claim.subject,
        ts=f"{now.isoformat()}#{action.request_id}",
        action=claim.action if decision.accepted else "rejected",
        by_user=action.by_user,
        before={"proposal": claim.subject},
        after={"values": dict(decision.values), "result": decision.message},
        outcome="accepted" if decision.accepted else "rejected",
    )
    write_audit(ports.tables, entry)
    return ew.Transition(accepted=decision.accepted, message=decision.message, audit=entry)


ROWS = proposals.RowKind(ew.PREFIX, ew.SYSTEM, LINK_PATH, ew.COLUMNS, "item_id", "name")


def propose_from_event(ports: Ports, settings: Settings, event: CalendarEvent, tag: str) -> bool:
    """A calendar event tagged #expires: its date is the expiry date, its title the name."""
    tagged = proposals.tagged_event(event, tag)
    values = {
        "name": tagged.title,
        "expires_on": event.start[:10],
        "owner": event.creator,
        "notes": tagged.description[:500],
    }
    return proposals.propose(ports, settings, ROWS, tagged.proposal_id, values, tagged.source, ())


def perform(ports: Ports, settings: Settings, action: ew.Action, now: datetime) -> ew.Transition:
    """Apply one owner answer: the core decides, then sheet, archive, ack and audit are written."""
    item = _current_item(ports, settings, action.item_id)
    state = load_item_state(ports.tables, action.item_id)
    transition = ew.apply_action(state, item, action, now)
    if transition.sheet_write is not None:
        write = transition.sheet_write
        ports.sheet.update_cell(write.row_id, write.column, write.value)
    if transition.archive is not None:
        archive_chains(ports.tables, [transition.archive])
    if transition.ack is not None:
        ports.tables.put(ACKS, ack_row(transition.ack, action, now, item))
    write_audit(ports.tables, transition.audit)
    return transition


def ack_row(ack: ew.Ack, action: ew.Action, now: datetime, item: ew.Item | None) -> dict[str, Any]:
    return {
        "item_id": ack.item_id,
        "ack_date": f"{now.isoformat()}#{action.request_id}",
        "action": ack.action,
        "by_user": action.by_user,
        "chain_id": ack.chain_id,
        "snooze_until": ack.snooze_until.isoformat() if ack.snooze_until else None,
        "old_expiry": item.expires_on.isoformat() if item else None,
        "new_expiry": ack.new_expiry.isoformat() if ack.new_expiry else None,
    }


def write_audit(tables: Tables, entry: ew.AuditEntry) -> None:
    """Append one audit row. Rows are never overwritten: two answers that share a timestamp
    and request id (a retried request) get distinct sort keys."""
    row = {
        "item_id": entry.item_id,
        "ts": entry.ts,
        "action": entry.action,
        "by_user": entry.by_user,
        "before": dict(entry.before),
        "after": dict(entry.after),
        "outcome": entry.outcome,
    }
    audit.append(tables, AUDIT, row)


def _current_item(ports: Ports, settings: Settings, item_id: str) -> ew.Item | None:
    table, _ = read_csv(_text(ports, ew.SHEET_FILE), ew.SHEET_FILE)
    items, _ = ew.parse_rows(table, dayfirst=settings.dayfirst, admin=settings.admin)
    return next((item for item in items if item.item_id == item_id), None)


def _action(claim: LinkClaim, chosen_date: str, request_id: str, by_user: str | None) -> ew.Action:
    try:
        chosen = date.fromisoformat(chosen_date.strip()) if chosen_date.strip() else None
    except ValueError:
        chosen = None
    return ew.Action(
        kind=claim.action,  # type: ignore[arg-type]
        item_id=claim.subject,
        chain_id=claim.chain,
        by_user=by_user or claim.by or "link",
        request_id=request_id,
        new_expires_on=chosen if claim.action == "renew" else None,
        snooze_until=chosen if claim.action == "snooze" else None,
    )
