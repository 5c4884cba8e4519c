"""The forwarded-email lane in AWS: the raw message lands in S3; PDFs go to Textract, whose
completion notice resumes the work; then the proposal goes to the admin.

The lane is keyed by the message's object key, so a redelivered S3 or SNS event never proposes
twice (the proposal itself is stored once, too)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from attrs import evolve

from backoffice.ports import Absent, ConditionFailed, Documents, Extracted, PdfText, Tables

READING = "reading"
PdfHook = Callable[[str, bytes], str]
DocumentsWith = Callable[[PdfHook], Documents]
Finish = Callable[[str, Extracted], None]


def proposal_id(raw_key: str) -> str:
    return "mail-" + hashlib.sha256(raw_key.encode("utf-8")).hexdigest()[:16]


def received(
    tables: Tables,
    table: str,
    raw_key: str,
    raw: bytes,
    documents_with: DocumentsWith,
    pdfs: PdfText,
    finish: Finish,
) -> int:
    """Read the message; start a Textract job per PDF, or finish at once when there is none.
    Returns how many jobs it waits for."""
    pid = proposal_id(raw_key)
    jobs: dict[str, str] = {}

    def start(name: str, body: bytes) -> str:
        jobs[name] = pdfs.start(name, body, f"intake/{pid}")
        return ""

    extracted = documents_with(start).extract("message.eml", raw)
    if not jobs:
        finish(pid, extracted)
        return 0
    try:
        tables.put(
            table,
            {"proposal_id": pid, "kind": READING, "raw_key": raw_key, "jobs": jobs, "done": {}},
            Absent(),
        )
    except ConditionFailed:
        return len(jobs)  # the same message delivered again: already waiting for it
    return len(jobs)


def job_finished(
    tables: Tables,
    table: str,
    document_key: str,
    job_id: str,
    status: str,
    raw: Callable[[str], bytes],
    documents_with: DocumentsWith,
    pdfs: PdfText,
    finish: Finish,
) -> bool:
    """One Textract job is done; when every job of the message is, finish it. True then."""
    parts = document_key.split("/")
    if len(parts) < 3 or parts[0] != "intake":
        return False
    pid = parts[1]
    row: dict[str, Any] | None = tables.get(table, pid, READING)
    if row is None or row.get("finished"):
        return False
    row["done"][job_id] = status
    tables.put(table, row)
    jobs: dict[str, str] = row["jobs"]
    if set(row["done"]) != set(jobs.values()):
        return False
    texts, failed = {}, []
    for name, job in jobs.items():
        if row["done"][job] == "SUCCEEDED":
            texts[name] = pdfs.text(job)
        else:
            failed.append(f"{name}: Textract could not read it ({row['done'][job]})")
    extracted = documents_with(lambda name, body: texts.get(name, "")).extract(
        "message.eml", raw(row["raw_key"])
    )
    finish(pid, evolve(extracted, unreadable=(*extracted.unreadable, *failed)))
    tables.put(table, {**row, "finished": True})
    return True
