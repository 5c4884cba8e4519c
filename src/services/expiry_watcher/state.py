"""What the expiry watcher reads: the registry, rules and voice docs, and the stored state."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from attrs import frozen

from backoffice.core import expiry_watcher as ew
from backoffice.core.problems import Problem
from backoffice.core.settings import Settings
from backoffice.ports import Blobs, Tables, TableSchema
from backoffice.services.delivery import Slot
from backoffice.services.documents import bytes_of, collector_paused, text_of
from backoffice.services.system import Storage

ACKS = TableSchema("ew-ack", "item_id", "ack_date")
STORAGE = Storage.standard(ew.PREFIX, "item_id", "ew-pings", "chain_index", ACKS)
PINGS, AUDIT, ARCHIVE = STORAGE.sends, STORAGE.audit, STORAGE.archive
# The system's own messages (the digest, the summary) live beside the pings under this id; no
# item id starts with "~".
DIGEST_ID = "~digest"


@frozen
class Documents:
    items: tuple[ew.Item, ...]
    problems: tuple[Problem, ...]  # the sheet's and the voice's
    rules: ew.Rules
    voice: ew.Voice  # the sections that can be written
    voice_text: str


def load_documents(blobs: Blobs, settings: Settings) -> Documents:
    """The registry, rules and voice docs. A broken rules doc stops the tick with its file and
    line; a broken registry row or voice section is only a problem."""
    items, problems = load_items(blobs, settings)
    rules = ew.load_rules(text_of(blobs, ew.RULES_FILE))
    text = text_of(blobs, ew.VOICE_FILE)
    voice, voice_problems = _voice(text)
    return Documents(items, (*voice_problems, *problems), rules, voice, text)


def load_items(blobs: Blobs, settings: Settings) -> tuple[tuple[ew.Item, ...], tuple[Problem, ...]]:
    return _items(bytes_of(blobs, ew.SHEET_FILE), settings.dayfirst, settings.admin)


def load_voice(blobs: Blobs) -> ew.Voice:
    """Only the voice (its usable sections): dispatch reads nothing else of the documents."""
    return _voice(text_of(blobs, ew.VOICE_FILE))[0]


def parse_items(
    sheet: bytes, dayfirst: bool | None, admin: str
) -> tuple[tuple[ew.Item, ...], tuple[Problem, ...]]:
    """The registry's items and its problems."""
    with collector_paused():
        items, problems = ew.parse_registry(sheet, dayfirst=dayfirst, admin=admin)
    return tuple(items), tuple(problems)


# Parsed once per version of the sheet: the tick, the digest and every dispatch and answer in
# one process share it.
_items = lru_cache(maxsize=2)(parse_items)


@lru_cache(maxsize=2)
def _voice(text: str) -> tuple[ew.Voice, tuple[Problem, ...]]:
    """Parsed once per version of the doc, not once per message."""
    voice, errors = ew.read_voice(text)
    return voice, tuple(problem for error in errors for problem in error.problems())


def current_item(blobs: Blobs, settings: Settings, item_id: str) -> ew.Item | None:
    items, _ = load_items(blobs, settings)
    return next((item for item in items if item.item_id == item_id), None)


def load_state(tables: Tables, item_id: str | None = None) -> ew.State:
    """Everything a tick decides from (one scan per table), or one item's (one query each)."""

    def rows(table: TableSchema) -> list[dict[str, Any]]:
        return tables.scan(table.name) if item_id is None else tables.query(table.name, item_id)

    return ew.State.of(
        pings=(ping_from_row(row) for row in rows(PINGS) if row["item_id"] != DIGEST_ID),
        acks=(ack_from_row(row) for row in rows(ACKS)),
        archived=(row["chain_id"] for row in rows(ARCHIVE)),
    )


def ping_from_row(row: Mapping[str, Any]) -> ew.Ping:
    sent_on = row.get("ping_date")
    return ew.Ping(
        item_id=row["item_id"],
        chain_id=row["chain_id"],
        kind=row["move"],
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
    position = f"reminder:{move.number}" if move.kind == "reminder" else move.kind
    index = f"{expires_on}#{position}"
    return Slot(
        table=PINGS.name,
        pk=move.subject,
        sk=index,
        row={
            "item_id": move.subject,
            "chain_index": index,
            "key": move.key,
            "chain_id": move.chain,
            "move": move.kind,
            "number": move.number,
            "recipient": move.to[0],
        },
    )
