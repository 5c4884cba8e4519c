"""The records every system keeps the same way: the audit trail (appended, never overwritten)
and the archive of closed chains."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from backoffice.core.vocabulary import AuditEntry
from backoffice.ports import Absent, ConditionFailed, Tables, TableSchema

MAX_TWINS = 100


def write_audit(tables: Tables, audit: TableSchema, entry: AuditEntry) -> None:
    """One audit row: who did what, when, and the row before and after."""
    append(tables, audit.name, audit_row(audit, entry), audit.sort_key)


def audit_row(audit: TableSchema, entry: AuditEntry) -> dict[str, Any]:
    """The row as stored; written in a transaction with what it records, it is never missing
    while the change is there."""
    return {
        audit.partition_key: entry.subject,
        audit.sort_key: entry.ts,
        "action": entry.action,
        "by_user": entry.by,
        "before": dict(entry.before),
        "after": dict(entry.after),
        "outcome": entry.outcome,
    }


def append(tables: Tables, table: str, row: dict[str, Any], sort_key: str = "ts") -> None:
    """Write one row that must never replace another. Two answers that share a timestamp and
    request id (a retried request, an instant repeated) get distinct sort keys."""
    first = row[sort_key]
    for twin in range(1, MAX_TWINS):
        try:
            tables.put(table, row, Absent())
            return
        except ConditionFailed:
            row = {**row, sort_key: f"{first}#{twin + 1}"}
    raise RuntimeError(f"could not find a free audit key for {first}")


def subject_of(chain: str) -> str:
    """`LIC-1@2026-12-01` -> `LIC-1`: a chain is a row's id, an @, and what makes it current."""
    return chain.rsplit("@", 1)[0]


def archive_chains(
    tables: Tables, sends: TableSchema, archive: TableSchema, chains: Iterable[str]
) -> None:
    """Move each chain's rows from the sends table to the archive (copy first, then delete),
    with a marker row that keeps the chain closed even when nothing was ever sent for it."""
    for chain in chains:
        subject = subject_of(chain)
        rows = [r for r in tables.query(sends.name, subject) if r.get("chain_id") == chain]
        copies = [{**r, archive.sort_key: f"{chain}#{r[sends.sort_key]}"} for r in rows]
        marker = {archive.partition_key: subject, archive.sort_key: f"{chain}#chain"}
        tables.put_many(archive.name, [*copies, {**marker, "chain_id": chain}])
        tables.delete_many(sends.name, [(subject, r[sends.sort_key]) for r in rows])
