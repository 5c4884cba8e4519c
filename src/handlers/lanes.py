"""The lanes every system runs the same way in AWS: the Drive mirror, the tagged-calendar scan and
the forwarded-email intake. A system's handler module names its resources and its proposal."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from backoffice.core.settings import Settings
from backoffice.handlers.logs import log
from backoffice.ports import Extracted, Ports
from backoffice.services import proposals
from backoffice.services.system import System


def drive_sync(system: System, ports: Ports, settings: Settings) -> dict[str, Any]:
    """Mirror the sheet and the rules and voice docs to S3, only what changed since last run."""
    from backoffice.adapters.google.drive import GoogleDrive
    from backoffice.handlers.wiring import env, google_service, mirror_sources, var
    from backoffice.services.mirror import sync, sync_folder

    drive = GoogleDrive(google_service(settings, "drive", "v3"))
    mirrored = sync(drive, ports.sheet, ports.blobs, mirror_sources(system))
    for folder in system.folders:  # SS_IMAGES_FOLDER_ID: the Drive folder of the post images
        folder_id = env(var(system, f"{folder.upper()}_FOLDER_ID"))
        mirrored += sync_folder(drive, ports.blobs, folder_id, folder)
    changed = [m.key for m in mirrored if m.changed]
    log("drive_sync", changed=changed, versions={m.key: m.version for m in mirrored})
    return {"changed": changed}


def calendar_sync(system: System, ports: Ports, settings: Settings) -> dict[str, Any]:
    """Events tagged for the system in the configured calendars become proposals, once each."""
    from backoffice.adapters.google.calendar import GoogleCalendar
    from backoffice.handlers.wiring import env, google_service, var
    from backoffice.services import calendar_sync as lane

    lane_of = system.intake.calendar
    if lane_of is None:
        log("calendar_sync", system=system.name, skipped="the system reads no calendar")
        return {"proposed": 0}
    calendar = GoogleCalendar(google_service(settings, "calendar", "v3"))
    calendar_ids = [c.strip() for c in env(var(system, "CALENDAR_IDS")).split(",") if c.strip()]
    proposed = lane.sync(
        calendar,
        ports.blobs,
        calendar_ids,
        lane_of.tag,
        lambda event: lane_of.propose(system, ports, settings, event),
    )
    log("calendar_sync", calendars=len(calendar_ids), proposed=[e.event_id for e in proposed])
    return {"proposed": len(proposed)}


# SES writes this object when a receipt rule is created, to show it can write to the bucket.
SES_SETUP_NOTICE = "AMAZON_SES_SETUP_NOTIFICATION"


def intake_ses_parser(
    event: Mapping[str, Any], system: System, ports: Ports, settings: Settings
) -> dict[str, Any]:
    """A forwarded email stored by SES in the raw-MIME bucket (S3 event), or Textract saying it
    finished reading one of its PDFs (SNS event): either way, on towards a proposed row."""
    from backoffice.adapters.local.documents import LocalDocuments
    from backoffice.handlers.wiring import aws_client, env, language_model, lazy, pdf_reader, var
    from backoffice.services import intake as reading
    from backoffice.services import mail_intake

    intake = system.intake
    s3, bucket = aws_client("s3"), env(var(system, "RAW_MIME_BUCKET"))
    table = proposals.schema(system.prefix).name
    pdfs = lazy(lambda: pdf_reader(system))  # only a system that sends PDFs to Textract
    documents_with = LocalDocuments if intake.textract else lambda hook: LocalDocuments()

    def raw(key: str) -> bytes:
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def finish(pid: str, extracted: Extracted) -> None:
        result = reading.propose_from(
            extracted,
            language_model(system),
            "the forwarded email",
            system.sheet.columns,
            intake.date_columns,
            dayfirst=bool(settings.dayfirst),
            owner_column=intake.owner_column,
            time_columns=intake.time_columns,
            fallback_owner=settings.admin,
        )
        source = f"an email from {extracted.sender or 'an unknown sender'}"
        if extracted.subject:
            source += f" ({extracted.subject!r})"
        proposals.propose(ports, settings, system, pid, result.proposal, source, result.problems)

    outcomes: list[dict[str, Any]] = []
    for record in event.get("Records", []):
        if "s3" in record:
            key = unquote_plus(record["s3"]["object"]["key"])
            if key.rsplit("/", 1)[-1] == SES_SETUP_NOTICE:
                outcomes.append({"message": key, "skipped": "SES's setup notice, no mail"})
                continue
            waiting = mail_intake.received(
                ports.tables,
                table,
                key,
                raw(key),
                documents_with,
                pdfs,
                finish,
            )
            outcomes.append({"message": key, "waiting_for": waiting})
        elif "Sns" in record:
            notice = json.loads(record["Sns"]["Message"])
            location = notice.get("DocumentLocation", {})
            done = mail_intake.job_finished(
                ports.tables,
                table,
                str(location.get("S3ObjectName", "")),
                notice["JobId"],
                notice["Status"],
                raw,
                LocalDocuments,
                pdfs,
                finish,
            )
            outcomes.append({"job": notice["JobId"], "finished": done})
    log("intake", outcomes=outcomes)
    return {"outcomes": outcomes}
