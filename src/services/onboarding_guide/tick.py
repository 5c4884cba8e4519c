"""The daily tick and dispatching one move: a step's e-mail (lightly personalised when the plan
says so) with its done link, a nudge, or the owner's flag with Pause, Hand off and Done."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from attrs import evolve

from backoffice.core import onboarding_guide as og
from backoffice.core.business_time import Calendar, next_allowed
from backoffice.core.keys import schedule_name
from backoffice.core.settings import Settings
from backoffice.core.templates import TemplateError
from backoffice.ports import Button, Ports
from backoffice.services import engine
from backoffice.services.delivery import Unbuildable, stamp
from backoffice.services.documents import voiced
from backoffice.services.engine import Delivery, Outgoing
from backoffice.services.onboarding_guide.state import (
    ARCHIVE,
    SENDS,
    Documents,
    load_documents,
    load_state,
    send_slot,
)
from backoffice.services.records import archive_chains
from backoffice.services.runtime import (
    LinkTarget,
    answer_links,
    calendar_for,
    channel_of,
    deliver_text,
    link_token,
    local_now,
    tell_admin,
)
from backoffice.services.system import TickResult

ANSWER_PATH = "/og/answer"
LABELS = {"step_done": "Mark as done", "pause": "Pause", "hand_off": "Hand off", "finish": "Done"}
FLAG_ACTIONS = ("pause", "hand_off", "finish")


def section_of(move: og.Move) -> str:
    """Where a move's words are: a step's own section, or [nudge], [flag]."""
    return f"steps.{move.fields['step']}" if move.kind == "step_due" else move.kind


def tick(ports: Ports, settings: Settings) -> TickResult:
    """The daily decision: each due step, nudge and flag goes to dispatch through the bus."""
    now = local_now(ports.clock, settings)
    docs = load_documents(ports.blobs, settings)
    plan = og.plan_tick(docs.customers, load_state(ports.tables), docs.rules, now)
    archive_chains(ports.tables, SENDS, ARCHIVE, plan.archive)
    moves, waiting = voiced(plan.moves, docs.voice, docs.voice_text, section_of)
    ports.bus.emit([(f"og.{move.kind}", move.as_json()) for move in moves])
    planned = evolve(plan, moves=tuple(moves))
    return TickResult(now, planned, (*docs.problems, *waiting, *plan.problems))


def dispatch(ports: Ports, settings: Settings, detail: Mapping[str, Any]) -> Delivery:
    """Deliver one move now, defer it to the next business minute in the customer's timezone,
    or drop it when the customer was paused, finished, handed off or did the step since."""
    move = og.Move.from_json(detail, og.MOVES)
    now = local_now(ports.clock, settings)
    outgoing = Outgoing.of(move, channel_of(move.to[0]), send_slot(move))
    docs = load_documents(ports.blobs, settings)
    customer = docs.customer(move.subject)
    state = load_state(ports.tables, move.subject)
    if customer is None or not og.still_due(move, state, customer):
        return outgoing.report("dropped", now)

    def calendar(when: datetime) -> Calendar:
        return calendar_for(settings, when, move.zone)

    earlier = og.earlier_unsettled(move, state, docs.rules.plan(customer.plan))
    if earlier is not None and next_allowed(now, calendar(now)) == now:
        return _after(ports, outgoing, move, state, earlier, now)
    local_date = now.astimezone(ZoneInfo(move.zone or settings.timezone)).date()
    return engine.deliver(
        ports,
        calendar,
        outgoing,
        now,
        lambda: _send(ports, settings, docs, move, now),
        {"local_date": local_date.isoformat(), "sent_at": stamp(now)},
        lambda failure: _tell_admin(ports, settings, move, failure.attempts, failure.error),
    )


ORDER_WAIT = timedelta(minutes=6)  # past the first retry of the step it waits for
MAX_WAITS = 10  # then the next tick plans it again (the earlier step's sender may have died)


def _after(
    ports: Ports, outgoing: Outgoing, move: og.Move, state: og.State, earlier: str, now: datetime
) -> Delivery:
    """Wait for the earlier step: it is being sent or retried, or (once) its delivery has not
    started yet. When it never started (its words are broken, its delivery was lost), or after
    MAX_WAITS, this one is dropped, and the next tick plans both in order."""
    waited = int(move.fields.get("waited") or 0)
    started = state.recorded(move.chain, earlier, "step_due")
    if waited >= MAX_WAITS or (waited and not started):
        return outgoing.report("dropped", now)
    waiting = evolve(move, fields={**move.fields, "waited": str(waited + 1)})
    at = now + ORDER_WAIT
    name = schedule_name(f"{move.key}:after:{earlier}:{stamp(now)}")
    ports.scheduler.book(name, at, {"move": waiting.as_json()})
    return outgoing.report("deferred", now, until=at)


def _send(ports: Ports, settings: Settings, docs: Documents, move: og.Move, now: datetime) -> str:
    fields = og.message_fields(move, done_link(settings, move, now))
    try:
        if move.kind == "flag":
            text = docs.voice.render("flag", "text", fields)
            subject = f"{move.fields['name']} is stuck on {move.fields['step']}"
            return deliver_text(
                ports, move.to[0], subject, text, flag_links(settings, move, now), move.key
            )
        section = section_of(move)
        subject = docs.voice.render(section, "subject", fields)
        body = docs.voice.render(section, "body", fields)
    except (KeyError, TemplateError) as error:
        raise Unbuildable(f"its words cannot be written: {error}") from None
    if move.fields.get("personalize"):
        body = personalized(ports, body, fields)
    return deliver_text(ports, move.to[0], subject, body, (), move.key)


def personalized(ports: Ports, body: str, fields: Mapping[str, str]) -> str:
    """The model's light rewrite when it passes every check; the template as written when it
    does not, when the model fails, or when there is none."""
    if ports.model is None:
        return body
    try:
        rewrite = ports.model.complete(
            og.PERSONALIZE_INSTRUCTIONS, og.personalize_prompt(body, fields)
        )
    except Exception:  # any model failure: the template goes out instead
        return body
    return rewrite.strip() if og.usable_rewrite(rewrite, body, fields["done_link"]) else body


def done_link(settings: Settings, move: og.Move, now: datetime) -> str:
    """The customer's one link for the step; the step's message and its nudge carry the same
    single-use token, so it answers once."""
    target = _target(move, move.fields["email"], f"{move.chain}:{move.fields['step']}")
    expires_at = int((now + timedelta(days=settings.link_days)).timestamp())
    token = link_token(settings, target, "step_done", expires_at)
    return f"{settings.public_url}{ANSWER_PATH}?t={token}"


def flag_links(settings: Settings, move: og.Move, now: datetime) -> tuple[Button, ...]:
    target = _target(move, move.to[0], move.key)
    return answer_links(settings, target, {a: LABELS[a] for a in FLAG_ACTIONS}, now)


def _target(move: og.Move, to: str, seed: str) -> LinkTarget:
    return LinkTarget(
        og.SYSTEM, move.subject, move.chain, seed, to, ANSWER_PATH, detail=move.fields["step"]
    )


def _tell_admin(ports: Ports, settings: Settings, move: og.Move, attempts: int, error: str) -> None:
    """A send that failed for good is put in front of a person; it is never dropped silently."""
    what = "flag" if move.kind == "flag" else move.kind.replace("_", " ")
    subject = f"Could not deliver the onboarding {what} for {move.fields['name']}"
    text = (
        f"backoffice tried {attempts} times to send the step {move.fields['step']!r} "
        f"({what}) for {move.fields['name']} ({move.subject}) to {move.to[0]}, and every try "
        f"failed.\n\nLast error: {error}\n\nPlease check the address; it will not be retried "
        "automatically."
    )
    tell_admin(ports, settings, subject, text, f"{move.key}:failed")
