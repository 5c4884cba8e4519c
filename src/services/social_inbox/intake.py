"""The labeler: one queued message into its thread. A platform message id seen before (Meta
re-delivers for 36 hours) or the same text from the same customer within the dedupe window
changes nothing; a new message is labelled (the model, one retry, then the fallback), joins the
customer's open thread, reopens their closed one, or starts one, and a new or reopened thread is
routed. Any failure raises: the record goes back to the queue, then to the dead-letter queue."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from functools import cache

from attrs import evolve

from backoffice.core import social_inbox as si
from backoffice.core.settings import Settings
from backoffice.ports import (
    Absent,
    AnyOf,
    Before,
    Condition,
    ConditionFailed,
    Model,
    Ports,
    Write,
)
from backoffice.services.delivery import stamp
from backoffice.services.runtime import local_now
from backoffice.services.social_inbox.audits import audit_write
from backoffice.services.social_inbox.routing import assign, sla_due
from backoffice.services.social_inbox.state import (
    DEDUPE,
    SEEN,
    Documents,
    current_thread,
    load_documents,
    thread_write,
)

MID, PRINT = "mid", "fingerprint"


TRIES = 5


def consumer(ports: Ports, settings: Settings) -> Callable[[str], str]:
    """One batch's labeler. The rules and the roster are read for the batch's first message
    that needs them, not once per message (two blob reads each, S3 GETs in production); when
    they cannot be read, each message that needs them fails, as it would alone."""
    docs = cache(lambda: load_documents(ports.blobs, settings))
    return lambda body: consume(ports, settings, docs, body)


def consume(ports: Ports, settings: Settings, docs: Callable[[], Documents], body: str) -> str:
    """The outcome: duplicate, repeat, new, joined or reopened. Decided again from the start
    when another write to the thread or a counter landed first (the same message in the same
    batch, another customer's thread taking the last free teammate)."""
    message = si.Incoming.from_json(json.loads(body))
    for _ in range(TRIES - 1):
        with suppress(ConditionFailed):
            return _consume(ports, settings, docs, message)
    return _consume(ports, settings, docs, message)  # the last try's conflict is the queue's


def _consume(
    ports: Ports, settings: Settings, documents: Callable[[], Documents], message: si.Incoming
) -> str:
    now = local_now(ports.clock, settings)
    if _seen(ports, _mid_key(message)):
        return "duplicate"
    docs = documents()
    print_key = _print_key(message)
    repeat_of = _live_repeat(ports, print_key, now)
    current = current_thread(ports.tables, message.platform, message.sender_id)
    if repeat_of is not None and current is not None and current.thread_id == repeat_of:
        repeat = audit_write(current, now, "repeat", {}, message.platform_message_id)
        ports.tables.transact([*_marks(message, repeat_of, now, docs.rules, None), repeat])
        return "repeat"
    label = labeled(ports.model, message.text, docs.rules)
    team = docs.rules.topics[label.topic].team
    placed, thread = si.place(message, current, label, team, now)
    # A print that is live stays with its first thread; one that is free is taken here.
    free_print = print_key if repeat_of is None else None
    marks = _marks(message, thread.thread_id, now, docs.rules, free_print)
    if placed == "repeat":
        ports.tables.transact(marks)
        return placed
    placing = audit_write(thread, now, placed, _labels(thread), message.platform_message_id)
    _stored(ports, settings, docs, current, placed, thread, now, (placing, *marks))
    return placed


def _stored(
    ports: Ports,
    settings: Settings,
    docs: Documents,
    current: si.Thread | None,
    placed: si.Placed,
    thread: si.Thread,
    now: datetime,
    also: Sequence[Write],
) -> si.Thread:
    """A joined thread keeps its teammate; a new or reopened one is routed. The placement's
    audit row and the message's dedupe marks commit with it."""
    if placed == "joined":
        after = evolve(thread, version=thread.version + 1)
        ports.tables.transact([thread_write(current, after), *also])
        return after
    thread = evolve(thread, sla_due=sla_due(settings, docs.rules, thread.label.urgency, now))
    return assign(ports, settings, docs, current, thread, now, also).thread


def labeled(model: Model | None, text: str, rules: si.Rules) -> si.Label:
    """The model's labels when they keep the contract (asked twice at most); the keywords'
    where there is no model (the embedded backend); else the fallback."""
    if model is None:
        return si.keyword_label(text, rules)
    topics = tuple(rules.topics)
    for _ in range(2):
        try:
            answer = model.complete(si.LABEL_INSTRUCTIONS, si.label_prompt(text, rules))
        except Exception:  # the model failing is the fallback's case, never the message's
            continue
        label = si.read_label(answer, topics)
        if isinstance(label, si.Label):
            return si.with_urgent_words(label, text, rules)
    return si.with_urgent_words(si.fallback(text), text, rules)


def _mid_key(message: si.Incoming) -> str:
    return f"{MID}:{message.platform}:{message.platform_message_id}"


def _print_key(message: si.Incoming) -> str:
    return f"{PRINT}:{si.fingerprint(message.sender_id, message.platform, message.text)}"


def _seen(ports: Ports, key: str) -> bool:
    return ports.tables.get(DEDUPE.name, key, SEEN) is not None


def _live_repeat(ports: Ports, key: str, now: datetime) -> str | None:
    row = ports.tables.get(DEDUPE.name, key, SEEN)
    if row is None or str(row.get("expires", "")) <= stamp(now):
        return None
    return str(row["thread_id"])


def _marks(
    message: si.Incoming, thread_id: str, now: datetime, rules: si.Rules, print_key: str | None
) -> list[Write]:
    """The message's dedupe marks (its print's too, given `print_key`), written with its
    thread: they land with it or not at all, so a message is never marked without being in
    its thread. `ttl` is DynamoDB's expiry. Each keeps its condition: a write that raced this
    one makes the message decided again from the start."""
    mid_until = now + timedelta(hours=max(rules.dedupe_window_hours, 48))
    marks: list[tuple[str, datetime, Condition]] = [(_mid_key(message), mid_until, Absent())]
    if print_key is not None:
        print_until = now + timedelta(hours=rules.dedupe_window_hours)
        free = AnyOf((Absent(), Before("expires", stamp(now))))
        marks.append((print_key, print_until, free))
    return [
        Write(
            DEDUPE.name,
            {
                "key": key,
                "kind": SEEN,
                "thread_id": thread_id,
                "first_seen": stamp(now),
                "expires": stamp(until),
                "ttl": int(until.timestamp()),
            },
            condition,
        )
        for key, until, condition in marks
    ]


def _labels(thread: si.Thread) -> dict[str, str]:
    label = thread.label
    return {"topic": label.topic, "urgency": label.urgency, "source": label.source}
