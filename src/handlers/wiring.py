"""The composition root: which adapters serve the ports, chosen once per process.

In Lambda the AWS adapters serve them; `BACKOFFICE_BACKEND=local` (with `BACKOFFICE_WORKSPACE`)
selects the embedded backend instead. The CLI builds its ports here too, so the CLI and the
Lambda handlers run the same services.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from attrs import frozen

from backoffice.core.settings import SETTINGS_FILE, Settings, load_settings
from backoffice.ports import TableSchema
from backoffice.services.runtime import Ports

EventSink = Callable[[str, dict[str, Any]], None]


@frozen
class FixedClock:
    """The clock of a run told what time it is (`tick --now`)."""

    at: datetime

    def now(self) -> datetime:
        return self.at


def read_settings(workspace: Path) -> Settings:
    path = workspace / SETTINGS_FILE
    return load_settings(path.read_text(encoding="utf-8-sig"), SETTINGS_FILE)


def local_ports(
    workspace: Path,
    settings: Settings,
    tables: tuple[TableSchema, ...],
    sheet_file: str,
    on_event: EventSink,
    now: datetime | None = None,
) -> Ports:
    """The embedded backend over a workspace folder: SQLite state, files, an outbox folder."""
    from backoffice.adapters.csv_sheet import CsvSheet
    from backoffice.adapters.local.outbox import OutboxChat, OutboxMailer, OutboxSms
    from backoffice.adapters.local.scheduling import InlineBus, LocalScheduler, SystemClock
    from backoffice.adapters.local.storage import FolderBlobs
    from backoffice.adapters.local.tables import SqliteTables

    database = workspace / "state.db"
    outbox = workspace / "outbox"
    files = FolderBlobs(workspace)
    return Ports(
        clock=SystemClock() if now is None else FixedClock(now),
        tables=SqliteTables(database, tables),
        blobs=files,
        sheet=CsvSheet(files, sheet_file),
        scheduler=LocalScheduler(database),
        mailer=OutboxMailer(outbox, sender=settings.mail_from or settings.admin),
        chat=OutboxChat(outbox),
        bus=InlineBus(on_event),
        sms=OutboxSms(outbox),
    )


class Lazy:
    """An adapter built on first use: a cold start pays only for the clients it touches."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._built: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._built is None:
            self._built = self._build()
        return getattr(self._built, name)


@cache
def aws_client(service: str) -> Any:
    """One boto3 session per environment, one client per service, standard retry mode."""
    from botocore.config import Config

    return _session().client(service, config=Config(retries={"mode": "standard"}))


@cache
def _session() -> Any:
    import boto3

    return boto3.session.Session()


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise RuntimeError(f"environment variable {name} is not set (the SAM template sets it)")
    return value


@frozen
class AwsSystem:
    """What tells one system's AWS resources from another's: the names its template sets.

    Environment variables are `<variable>_...` (EW_RULES_BUCKET, AR_RULES_BUCKET); secrets are
    `<prefix>/...` unless the template names them."""

    variable: str  # "EW"
    prefix: str  # "ew": table names, secret names, the bus source backoffice.<prefix>
    tables: tuple[TableSchema, ...]
    sheet_file: str  # the sheet's mirror in S3, e.g. "registry.csv"
    sheet_bucket: str  # the variable naming the bucket that holds it
    sheet_tab: str  # the Google Sheet's tab

    def var(self, name: str) -> str:
        return f"{self.variable}_{name}"

    def table_variable(self, table: str) -> str:
        """ew-pings-archive -> EW_TABLE_PINGS_ARCHIVE"""
        return self.var("TABLE_" + table.removeprefix(f"{self.prefix}-").replace("-", "_").upper())


def aws_ports(settings: Settings, system: AwsSystem) -> Ports:
    """A system's ports on AWS, from the environment its SAM template sets."""

    def tables() -> Any:
        from backoffice.adapters.aws.tables import DynamoTables

        names = {
            schema.name: env(system.table_variable(schema.name), schema.name)
            for schema in system.tables
        }
        return DynamoTables(aws_client("dynamodb"), system.tables, names)

    def blobs() -> Any:
        from backoffice.adapters.aws.storage import S3Blobs

        return S3Blobs(
            aws_client("s3"),
            env(system.var("RULES_BUCKET")),
            {system.sheet_file: env(system.sheet_bucket)},
        )

    def sheet() -> Any:
        """The Google Sheet once one is configured; until then the sheet's mirror in S3."""
        spreadsheet = os.environ.get(system.var("SPREADSHEET_ID"))
        if spreadsheet:
            from backoffice.adapters.google.sheets import GoogleSheet
            from backoffice.services.mirror import WrittenThrough

            service = google_service(settings, "sheets", "v4")
            tab = env(system.var("SHEET_TAB"), system.sheet_tab)
            google = GoogleSheet(service, spreadsheet, tab)
            return WrittenThrough(google, Lazy(blobs), system.sheet_file)
        from backoffice.adapters.csv_sheet import CsvSheet

        return CsvSheet(Lazy(blobs), system.sheet_file)

    def scheduler() -> Any:
        from backoffice.adapters.aws.scheduling import EventBridgeScheduler

        return EventBridgeScheduler(
            aws_client("scheduler"),
            env(system.var("SCHEDULE_GROUP"), "default"),
            env(system.var("DISPATCH_ARN")),
            env(system.var("SCHEDULER_ROLE_ARN")),
            settings.timezone,
        )

    def mailer() -> Any:
        from backoffice.adapters.aws.messaging import SesMailer

        return SesMailer(aws_client("ses"), settings.mail_from or settings.admin)

    def chat() -> Any:
        from backoffice.adapters.slack.chat import SlackChat, web_client

        return SlackChat(web_client(settings.secret("slack_bot_token")))

    def bus() -> Any:
        from backoffice.adapters.aws.messaging import EventBridgeBus

        return EventBridgeBus(
            aws_client("events"), env(system.var("BUS_NAME"), "default"), bus_source(system)
        )

    def sms() -> Any:
        from backoffice.adapters.aws.messaging import SnsSms

        return SnsSms(aws_client("sns"), env(system.var("SMS_ORIGINATION_NUMBER"), ""))

    from backoffice.adapters.local.scheduling import SystemClock

    return Ports(
        clock=SystemClock(),
        tables=Lazy(tables),
        blobs=Lazy(blobs),
        sheet=Lazy(sheet),
        scheduler=Lazy(scheduler),
        mailer=Lazy(mailer),
        chat=Lazy(chat),
        bus=Lazy(bus),
        sms=Lazy(sms),
    )


def bus_source(system: AwsSystem) -> str:
    return f"backoffice.{system.prefix}"


GOOGLE_SCOPES = (
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive.readonly",
    "https://www.googleapis.com/auth/calendar.readonly",
)


def google_service(settings: Settings, name: str, version: str) -> Any:
    """A Google API client from the service account in the secrets, with the discovery
    document bundled in the library (no network before the first real call)."""
    import json

    from google.oauth2 import service_account
    from googleapiclient.discovery import build

    info = json.loads(settings.secret("google_service_account"))
    credentials = service_account.Credentials.from_service_account_info(
        info, scopes=list(GOOGLE_SCOPES)
    )
    return build(
        name, version, credentials=credentials, static_discovery=True, cache_discovery=False
    )


def mirror_sources(system: AwsSystem) -> list[Any]:
    """What drive-sync copies: the sheet and the rules and voice docs."""
    from backoffice.services.mirror import Source

    return [
        Source(system.sheet_file, env(system.var("SPREADSHEET_ID")), "sheet"),
        Source("rules.toml", env(system.var("RULES_DOC_ID")), "doc"),
        Source("voice.toml", env(system.var("VOICE_DOC_ID")), "doc"),
    ]


def aws_settings(system: AwsSystem) -> Settings:
    from backoffice.adapters.aws.config import load_aws_settings

    p, v = system.prefix, system.variable
    secret_ids = {
        "link_secret": env(f"{v}_LINK_SECRET_ID", f"{p}/links/secret"),
        "slack_bot_token": env(f"{v}_SLACK_TOKEN_ID", f"{p}/slack/bot-token"),
        "slack_signing_secret": env(f"{v}_SLACK_SIGNING_SECRET_ID", f"{p}/slack/signing-secret"),
        "google_service_account": env(f"{v}_GOOGLE_SECRET_ID", f"{p}/drive/sa"),
    }
    return load_aws_settings(
        aws_client("ssm"),
        lambda: aws_client("secretsmanager"),
        env(f"{v}_CONFIG_PARAMETER", f"/{p}/config/backoffice.toml"),
        secret_ids,
    )


def pdf_reader(system: AwsSystem) -> Any:
    from backoffice.adapters.aws.textract import TextractPdfText

    return TextractPdfText(
        aws_client("textract"),
        aws_client("s3"),
        env(system.var("SOURCE_PDFS_BUCKET")),
        env(system.var("TEXTRACT_TOPIC_ARN")),
        env(system.var("TEXTRACT_ROLE_ARN")),
    )


DEFAULT_MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"


@cache
def language_model(system: AwsSystem) -> Any:
    """Bedrock in AWS (summaries, intake proposals); the embedded backend has none: a summary
    falls back to its table, intake to the heuristic reader."""
    if os.environ.get("BACKOFFICE_BACKEND", "aws") == "local":
        from backoffice.adapters.local.model import NoModel

        return NoModel()
    from backoffice.adapters.aws.model import BedrockModel

    return BedrockModel(aws_client("bedrock-runtime"), env(system.var("MODEL_ID"), DEFAULT_MODEL))


@cache
def expiry_watcher_system() -> AwsSystem:
    from backoffice.services.expiry_watcher import TABLES

    return AwsSystem("EW", "ew", TABLES, "registry.csv", "EW_REGISTRY_BUCKET", "Registry")


@cache
def appointment_reminder_system() -> AwsSystem:
    from backoffice.services.appointment_reminder import TABLES

    return AwsSystem(
        "AR", "ar", TABLES, "appointments.csv", "AR_APPOINTMENTS_BUCKET", "Appointments"
    )


def system_ports(system: AwsSystem) -> tuple[Ports, Settings]:
    """A system's ports and settings in this execution environment: AWS in Lambda, or the
    embedded backend with BACKOFFICE_BACKEND=local (and BACKOFFICE_WORKSPACE)."""
    backend = os.environ.get("BACKOFFICE_BACKEND", "aws")
    if backend == "aws":
        settings = aws_settings(system)
        return aws_ports(settings, system), settings
    if backend != "local":
        raise RuntimeError(f"BACKOFFICE_BACKEND={backend!r}: expected aws or local")
    workspace = Path(os.environ.get("BACKOFFICE_WORKSPACE", "."))
    settings = read_settings(workspace)
    return local_ports(workspace, settings, system.tables, system.sheet_file, no_events), settings


@cache
def expiry_watcher() -> tuple[Ports, Settings]:
    """The expiry watcher's ports and settings, built on first use and kept for the
    execution environment."""
    return system_ports(expiry_watcher_system())


@cache
def appointment_reminder() -> tuple[Ports, Settings]:
    """The appointment reminders' ports and settings, built on first use and kept."""
    return system_ports(appointment_reminder_system())


def no_events(detail_type: str, detail: dict[str, Any]) -> None:
    raise RuntimeError(f"this handler cannot emit {detail_type!r}: it has no bus")
