"""Proposed sheet rows (from forwarded email or tagged calendar events) that a person approves.

A proposal is stored once under a deterministic id, so a resync or a redelivered notification
never proposes the same thing twice. The admin gets it with [Approve] [Edit] [Discard];
approving appends the row to the owner's sheet (RAW), discarding only records the decision.
Every system's proposals work this way; its description says whose sheet and which columns.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING, Any

from attrs import evolve, frozen

from backoffice.core.settings import Settings
from backoffice.core.sheet import normalise_header
from backoffice.core.tokens import LinkClaim
from backoffice.core.vocabulary import Action, audit_entry
from backoffice.ports import Absent, ConditionFailed, Equals, Ports, TableSchema
from backoffice.ports.calendar import CalendarEvent
from backoffice.services.delivery import stamp
from backoffice.services.links import ActionResult, Answered, LinkAnswer, LinkForm, LinkPage
from backoffice.services.records import write_audit
from backoffice.services.runtime import LinkTarget, answer_links, deliver_text, local_now

if TYPE_CHECKING:
    from backoffice.services.system import LinkAction, System

ACTIONS = ("approve", "edit", "discard")
LABELS = {"approve": "Approve", "edit": "Edit", "discard": "Discard"}
KIND = "proposal"


def schema(prefix: str) -> TableSchema:
    """The table `Storage.standard` gives every system for its proposals."""
    return TableSchema(f"{prefix}-proposals", "proposal_id", "kind")


def link_actions() -> tuple[LinkAction, ...]:
    from backoffice.services.system import LinkAction

    return (
        LinkAction("approve", LABELS["approve"]),
        LinkAction("edit", LABELS["edit"], asks="fields"),
        LinkAction("discard", LABELS["discard"]),
    )


@frozen
class Decision:
    accepted: bool
    message: str
    values: Mapping[str, str]


def propose(
    ports: Ports,
    settings: Settings,
    system: System,
    proposal_id: str,
    values: Mapping[str, str],
    source: str,
    problems: Sequence[str],
) -> bool:
    """Store the proposal (once) and put it in front of the admin (until that has worked once).
    True when the admin was told now; False when they were told before. A notice that failed
    is sent by the next delivery of the same email, event or calendar entry."""
    now = local_now(ports.clock, settings)
    table = schema(system.prefix).name
    sheet = system.sheet
    complete = {column: values.get(column, "") for column in sheet.columns}
    complete[sheet.id_column] = complete[sheet.id_column] or new_row_id(proposal_id)
    row: dict[str, Any] = {
        "proposal_id": proposal_id,
        "kind": KIND,
        "status": "open",
        "values": complete,
        "source": source,
        "title_column": sheet.title_column,
        "problems": list(problems),
        "created_at": stamp(now),
    }
    try:
        ports.tables.put(table, row, Absent())
    except ConditionFailed:
        row = ports.tables.get(table, proposal_id, KIND) or row
        if row.get("told_at"):
            return False
    _tell_admin(ports, settings, system, row, now)
    with suppress(ConditionFailed):  # already decided from the notice: keep the decision
        ports.tables.put(table, {**row, "told_at": stamp(now)}, Equals("status", "open"))
    return True


def _tell_admin(
    ports: Ports, settings: Settings, system: System, row: Mapping[str, Any], now: datetime
) -> None:
    values, problems, proposal_id = row["values"], row["problems"], row["proposal_id"]
    title = values.get(system.sheet.title_column) or proposal_id
    lines = [f"A new row was proposed from {row['source']}. Please check it:", ""]
    lines += [f"  {column}: {value}" for column, value in values.items() if value]
    if problems:
        lines += ["", "Worth a look:", *(f"  - {problem}" for problem in problems)]
    path = system.proposals.path
    target = LinkTarget(system.name, proposal_id, KIND, proposal_id, settings.admin, path)
    deliver_text(
        ports,
        settings.admin,
        f"Proposed row: {title}",
        "\n".join(lines),
        answer_links(settings, target, LABELS, now),
        f"{system.prefix}:{proposal_id}",
    )


@frozen
class TaggedEvent:
    """A calendar event with the system's tag taken out of its title and description."""

    proposal_id: str
    title: str
    description: str
    source: str


def tagged_event(event: CalendarEvent, tag: str) -> TaggedEvent:
    def untagged(text: str) -> str:
        return re.sub(re.escape(tag), "", text, flags=re.IGNORECASE)

    return TaggedEvent(
        f"cal-{event.calendar_id}-{event.event_id}",
        untagged(event.summary).strip(" -:"),
        untagged(event.description).strip(),
        f"the calendar event {event.summary!r} on {event.start[:10]}",
    )


def new_row_id(proposal_id: str) -> str:
    """A stable id for a proposed row; the owner may rename it in the sheet."""
    return "NEW-" + hashlib.sha256(proposal_id.encode("utf-8")).hexdigest()[:6].upper()


def pending(ports: Ports, prefix: str, proposal_id: str) -> dict[str, Any] | None:
    return ports.tables.get(schema(prefix).name, proposal_id, KIND)


# --- the admin's answers -----------------------------------------------------------------------


def open_link(system: System, ports: Ports, settings: Settings, token: str) -> LinkPage:
    """GET: what approving, editing or discarding will do. Changes nothing."""
    from backoffice.services.answers import link_store

    def view(claim: LinkClaim) -> LinkPage:
        if claim.action not in ACTIONS:
            return LinkPage(400, "Link not valid", "This link is not about a proposed row.")
        return page(ports, system.prefix, claim, token)

    return link_store(system, ports, settings).open(token, local_now(ports.clock, settings), view)


def act(system: System, ports: Ports, settings: Settings, answer: LinkAnswer) -> ActionResult:
    """POST (or a Slack button): approve (the row is appended to the sheet), edit then approve,
    or discard; once, audited in the system's audit table."""
    from backoffice.services.answers import act_on_link

    def apply(action: Action, claim: LinkClaim, now: datetime) -> Answered:
        if claim.action not in ACTIONS:
            return Answered(False, "This link is not about a proposed row. Nothing changed.")
        edits = answer.fields if claim.action == "edit" else None
        decision = decide(ports, system.prefix, claim.subject, claim.action, action.by, now, edits)
        before = {"proposal": claim.subject}
        after = {"values": dict(decision.values), "result": decision.message}
        subject = decision.values.get(system.sheet.id_column) or claim.subject
        # Filed under the row the proposal became, so the row's history starts with it.
        entry = audit_entry(
            evolve(action, subject=subject), now, before, after, accepted=decision.accepted
        )
        write_audit(ports.tables, system.storage.audit, entry)
        return Answered(decision.accepted, decision.message)

    return act_on_link(system, ports, settings, answer, apply)


def page(ports: Ports, prefix: str, claim: LinkClaim, token: str) -> LinkPage:
    """The confirmation page of an Approve, Edit or Discard link."""
    row = pending(ports, prefix, claim.subject)
    if row is None or row["status"] != "open":
        status = row["status"] if row else "removed"
        return LinkPage(409, "Already decided", f"This proposal was already {status}.")
    values = ", ".join(f"{k}: {v}" for k, v in row["values"].items() if v)
    if claim.action == "edit":
        return LinkPage(
            200,
            "Check and correct the proposed row",
            "Change what is wrong, then add it to the sheet.",
            LinkForm(token, "edit", "Add to the sheet", fields=tuple(row["values"].items())),
        )
    if claim.action == "approve":
        return LinkPage(
            200,
            "Add this row to the sheet?",
            values,
            LinkForm(token, "approve", "Add to the sheet"),
        )
    return LinkPage(200, "Discard this proposal?", values, LinkForm(token, "discard", "Discard"))


def decide(
    ports: Ports,
    prefix: str,
    proposal_id: str,
    action: str,
    by: str,
    now: datetime,
    edits: Mapping[str, str] | None = None,
) -> Decision:
    """Approve (append the row to the sheet), edit then approve, or discard an open proposal,
    once. Edits only change columns the proposal has."""
    table = schema(prefix).name
    row = ports.tables.get(table, proposal_id, KIND)
    if row is None:
        return Decision(False, "This proposal no longer exists. Nothing was changed.", {})
    values = dict(row["values"])
    if edits:
        values.update({k: v.strip() for k, v in edits.items() if k in values})
    if row["status"] != "open":
        return Decision(
            False, f"This proposal was already {row['status']}. Nothing was changed.", values
        )
    status = "discarded" if action == "discard" else "approved"
    decided = {
        **row,
        "values": values,
        "status": status,
        "decided_by": by,
        "decided_at": stamp(now),
    }
    try:
        ports.tables.put(table, decided, Equals("status", "open"))
    except ConditionFailed:
        return Decision(False, "Someone else decided on this proposal a moment ago.", values)
    if status == "approved":
        try:
            left_out = _append(ports, values)
        except Exception:
            ports.tables.put(table, row)  # reopen it: the row did not reach the sheet
            raise
        message = (
            f"Added {values.get(row.get('title_column', 'name')) or proposal_id} to the sheet."
        )
        if left_out:
            message += f" The sheet has no column for {', '.join(left_out)}, so that was left out."
        return Decision(True, message, values)
    return Decision(True, "Discarded. Nothing was added to the sheet.", values)


def _append(ports: Ports, values: Mapping[str, str]) -> list[str]:
    """Append the values the sheet has columns for; return the names of those it has not."""
    header = {normalise_header(name) for name in (ports.sheet.read() or [[]])[0]}
    fits = {k: v for k, v in values.items() if v and normalise_header(k) in header}
    ports.sheet.append(fits)
    return [k for k, v in values.items() if v and k not in fits]
