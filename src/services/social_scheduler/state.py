"""What the social scheduler reads: the posts sheet, the rules, the images' facts, and the stored
state (each post's status, each channel's sends, the channels waiting for a reconnect)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import datetime
from functools import lru_cache
from typing import Any

from attrs import frozen

from backoffice.core import social_scheduler as ss
from backoffice.core.problems import Problem
from backoffice.core.settings import Settings
from backoffice.core.sheet import read_sheet
from backoffice.core.vocabulary import Move
from backoffice.ports import (
    Absent,
    Blobs,
    ConditionFailed,
    Equals,
    Images,
    Ports,
    Tables,
    TableSchema,
    Write,
)
from backoffice.services.delivery import Slot
from backoffice.services.documents import bytes_of, collector_paused, text_of
from backoffice.services.system import Storage

SENDS = TableSchema("ss-sends", "post_channel", "attempt")
STATUS = TableSchema("ss-status", "post_id", "kind")
# Channels whose token the platform refused, with the secret's version it refused.
CHANNELS = TableSchema("ss-channels", "channel", "kind")
STORAGE = Storage(
    sends=SENDS,
    audit=TableSchema("ss-audit", "post_id", "ts"),
    archive=TableSchema("ss-sends-archive", "post_channel", "archive_index"),
    nonces=TableSchema("ss-link-nonces", "nonce", "kind"),
    others=(STATUS, CHANNELS, TableSchema("ss-proposals", "proposal_id", "kind")),
)
AUDIT = STORAGE.audit
CLAIM = "post"  # the sort key of a channel's claim row; its attempts are `attempt#001`...
REPORTS_ID = "~reports"  # the digest, the recap and notices live beside the sends
IMAGE_PREFIX = f"{ss.IMAGES_FOLDER}/"


@frozen
class Documents:
    posts: tuple[ss.Post, ...]
    problems: tuple[Problem, ...]
    rules: ss.Rules

    def post(self, post_id: str) -> ss.Post | None:
        return next((p for p in self.posts if p.post_id == post_id), None)


@frozen
class Reading:
    timezone: str
    dayfirst: bool | None

    @classmethod
    def of(cls, settings: Settings) -> Reading:
        return cls(settings.timezone, settings.dayfirst)


@lru_cache(maxsize=2)
def parsed_documents(
    sheet: bytes, rules_text: str, reading: Reading, images: frozenset[str] | None
) -> Documents:
    rules = loaded_rules(rules_text)
    posts, problems = parse_posts(sheet, rules, reading, images)
    return Documents(posts, problems, rules)


def parse_posts(
    sheet: bytes, rules: ss.Rules, reading: Reading, images: frozenset[str] | None
) -> tuple[tuple[ss.Post, ...], tuple[Problem, ...]]:
    """The sheet's posts, with its problems and its rows'."""
    with collector_paused():
        table, problems = read_sheet(sheet, ss.SHEET_FILE)
        posts, row_problems = ss.parse_rows(
            table, rules, timezone=reading.timezone, dayfirst=reading.dayfirst, images=images
        )
    return tuple(posts), (*problems, *row_problems)


@lru_cache(maxsize=2)
def loaded_rules(text: str) -> ss.Rules:
    return ss.load_rules(text)


@frozen
class SheetFacts:
    """What a tick asks of the sheet besides its posts, kept small (not the rows)."""

    header: frozenset[str]
    ids: frozenset[str]  # every row's post_id, rows with problems too
    images: frozenset[str]  # the file names its rows give


@lru_cache(maxsize=2)
def sheet_facts(sheet: bytes) -> SheetFacts:
    """Read once per version of the sheet: the tick asks for the images it names and template
    sync for its ids, several times over."""
    with collector_paused():
        table, _ = read_sheet(sheet, ss.SHEET_FILE)
    values = [row.values for row in table.rows]
    named = {v.get("image", "").strip() for v in values} - {""}
    ids = {v.get("post_id", "") for v in values}
    return SheetFacts(frozenset(table.header), frozenset(ids), frozenset(named))


def image_names(blobs: Blobs, posts_sheet: bytes) -> frozenset[str]:
    """The images the sheet names that exist in the images folder."""
    named = sheet_facts(posts_sheet).images
    return frozenset(name for name in named if blobs.get(IMAGE_PREFIX + name) is not None)


def image_facts(
    blobs: Blobs, images: Images, posts: tuple[ss.Post, ...]
) -> dict[str, ss.ImageFacts]:
    """The real type and size of every image a post names, from its bytes."""
    facts = {}
    for name in {p.image for p in posts if p.image}:
        blob = blobs.get(IMAGE_PREFIX + name)
        facts[name] = images.inspect(blob.body) if blob else ss.ImageFacts("", 0)
    return facts


def documents_of(ports: Ports, settings: Settings) -> Documents:
    """The sheet (read once), the rules and which named images exist. A broken rules doc stops
    everything with its file and line; a bad row is a problem, the others run."""
    sheet = bytes_of(ports.blobs, ss.SHEET_FILE)
    rules = text_of(ports.blobs, ss.RULES_FILE)
    return parsed_documents(sheet, rules, Reading.of(settings), image_names(ports.blobs, sheet))


def load_state(tables: Tables, blocked: frozenset[str], post: ss.Post | None = None) -> ss.State:
    """Everything (one scan per table), or one post's rows (a read per channel)."""
    if post is None:
        status_rows = tables.scan(STATUS.name)
        send_rows = tables.scan(SENDS.name)
    else:
        status_rows = [r for r in [tables.get(STATUS.name, post.post_id, "status")] if r]
        send_rows = [
            r
            for c in post.channels
            for r in [tables.get(SENDS.name, f"{post.post_id}#{c}", CLAIM)]
            if r
        ]
    statuses = {row["post_id"]: status_from_row(row) for row in status_rows}
    sends = {
        (row["post_id"], row["channel"]): send_from_row(row)
        for row in send_rows
        if row.get("attempt") == CLAIM and "channel" in row
    }
    return ss.State(statuses, sends, blocked)


def status_from_row(row: Mapping[str, Any]) -> ss.Status:
    due = row.get("due_at")
    return ss.Status(
        post_id=row["post_id"],
        state=str(row.get("state") or "new"),
        epoch=int(row.get("epoch") or 0),
        due_at=datetime.fromisoformat(due) if due else None,
        reason=str(row.get("reason") or ""),
    )


def send_from_row(row: Mapping[str, Any]) -> ss.ChannelSend:
    retry_at = row.get("retry_at")
    return ss.ChannelSend(
        status=str(row.get("status")),
        attempts=int(row.get("attempts") or 0),
        retry_at=datetime.fromisoformat(retry_at) if retry_at else None,
        url=str(row.get("posted_url") or ""),
    )


def save_status(tables: Tables, before: ss.Status, after: ss.Status) -> None:
    """Written over the epoch it was decided on: two answers at once cannot both land (the
    second raises ConditionFailed and is decided again)."""
    write = status_write(tables, before, after)
    tables.put(write.table, write.item, write.condition)


def status_write(tables: Tables, before: ss.Status, after: ss.Status) -> Write:
    row = {
        "post_id": after.post_id,
        "kind": "status",
        "state": after.state,
        "epoch": after.epoch,
        "due_at": after.due_at.isoformat() if after.due_at else None,
        "reason": after.reason,
    }
    known = tables.get(STATUS.name, after.post_id, "status") is not None
    return Write(STATUS.name, row, Equals("epoch", before.epoch) if known else Absent())


TRANSACTION_MOST = 25  # DynamoDB's limit on the writes of one transaction


def save_statuses(tables: Tables, changes: Sequence[tuple[ss.Status, ss.Status]]) -> None:
    """Many posts' statuses, each as save_status writes it, a transaction's worth at a time
    (one commit for many). A status an answer changed meanwhile keeps the answer's: its batch
    is written again one by one, without it."""
    for start in range(0, len(changes), TRANSACTION_MOST):
        batch = changes[start : start + TRANSACTION_MOST]
        try:
            tables.transact([status_write(tables, before, after) for before, after in batch])
        except ConditionFailed:
            for before, after in batch:
                with suppress(ConditionFailed):
                    save_status(tables, before, after)


def send_slot(move: Move, max_attempts: int) -> Slot:
    channel = move.fields["channel"]
    pk = f"{move.subject}#{channel}"
    row = {
        "post_channel": pk,
        "attempt": CLAIM,
        "key": move.key,
        "chain_id": move.chain,
        "post_id": move.subject,
        "channel": channel,
        "kind": move.kind,
    }
    return Slot(SENDS.name, pk, CLAIM, row, max_attempts)
