"""The composition root: which adapters serve the ports, chosen once per process.

In Lambda the AWS adapters serve them; `BACKOFFICE_BACKEND=local` (with `BACKOFFICE_WORKSPACE`)
selects the embedded backend instead. The CLI builds its ports here too, so the CLI and the
Lambda handlers run the same services. Every system is wired the same way from its description.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from attrs import frozen

from backoffice.core.documents import DocumentError, decode, line_of
from backoffice.core.settings import SETTINGS_FILE, Settings, load_settings
from backoffice.ports import (
    Blobs,
    Bus,
    Chat,
    Images,
    Mailer,
    Model,
    PdfText,
    Ports,
    Posting,
    Queue,
    Replies,
    Scheduler,
    Sheet,
    Sms,
    Tables,
)
from backoffice.services.system import System

T = TypeVar("T")


@frozen
class FixedClock:
    """The clock of a run told what time it is (`tick --now`)."""

    at: datetime

    def now(self) -> datetime:
        return self.at


class _Lazy(Generic[T]):
    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._built: T | None = None

    def __getattr__(self, name: str) -> Any:
        if self._built is None:
            self._built = self._build()
        return getattr(self._built, name)


def lazy(build: Callable[[], T]) -> T:
    """An adapter built on first use, typed as what it builds: a cold start pays only for the
    clients it touches."""
    return cast(T, _Lazy(build))


# --- the embedded backend ----------------------------------------------------------------------


def read_settings(workspace: Path) -> Settings:
    """A workspace's settings, with its system checked against the registry."""
    from backoffice.services.registry import UnknownSystem, system_named

    text = decode((workspace / SETTINGS_FILE).read_bytes(), SETTINGS_FILE)
    settings = load_settings(text, SETTINGS_FILE)
    try:
        system_named(settings.system)
    except UnknownSystem as error:
        raise DocumentError(SETTINGS_FILE, line_of(text, "system"), error.message) from None
    return settings


# --- AWS ---------------------------------------------------------------------------------------


@cache
def aws_client(service: str) -> Any:
    """One botocore session per environment, one client per service, standard retry mode.
    botocore's clients are what boto3 hands out too; going without boto3 (its resources,
    which nothing here uses) keeps its import off every cold start."""
    from botocore.config import Config

    return _session().create_client(service, config=Config(retries={"mode": "standard"}))


@cache
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise RuntimeError(f"environment variable {name} is not set (the SAM template sets it)")
    return value


def var(system: System, name: str) -> str:
    """A system's environment variable: EW_RULES_BUCKET, AR_RULES_BUCKET."""
    return f"{system.variable}_{name}"


def table_variable(system: System, table: str) -> str:
    """ew-pings-archive -> EW_TABLE_PINGS_ARCHIVE"""
    return var(system, "TABLE_" + table.removeprefix(f"{system.prefix}-").replace("-", "_").upper())


def sheet_bucket_variable(system: System) -> str:
    """registry.csv -> EW_REGISTRY_BUCKET: the bucket holding the sheet's mirror."""
    stem = system.sheet.file.rsplit(".", 1)[0].replace("-", "_").upper()
    return var(system, f"{stem}_BUCKET")


def aws_ports(settings: Settings, system: System) -> Ports:
    """A system's ports on AWS, from the environment its SAM template sets."""
    from backoffice.adapters.clock import SystemClock

    blobs = lazy(lambda: _s3_blobs(system))
    return Ports(
        clock=SystemClock(),
        tables=lazy(lambda: _dynamo_tables(system)),
        blobs=blobs,
        sheet=lazy(lambda: _sheet(settings, system, blobs)),
        scheduler=lazy(lambda: _scheduler(settings, system)),
        mailer=lazy(lambda: _ses(settings, system)),
        chat=lazy(lambda: _slack(settings)),
        bus=lazy(lambda: _bus(system)),
        sms=lazy(lambda: _sns(system)),
        model=lazy(lambda: language_model(system)),
        posting=lazy(lambda: _posting(system)),
        images=lazy(lambda: _images(system)),
        queue=lazy(lambda: _sqs(system)),
        replies=lazy(lambda: _meta_replies(settings)),
    )


def _posting(system: System) -> Posting:
    from backoffice.adapters.posting import ChannelPosting, SecretsManagerTokens

    return ChannelPosting(SecretsManagerTokens(aws_client("secretsmanager")))


def _images(system: System) -> Images:
    from backoffice.adapters.images import PillowImages, S3RenderCache

    return PillowImages(S3RenderCache(aws_client("s3"), env(var(system, "RENDER_CACHE_BUCKET"))))


def _sqs(system: System) -> Queue:
    from backoffice.adapters.aws.queue import SqsQueue

    dead = env(var(system, "DEAD_LETTER_QUEUE_URL"), "")
    return SqsQueue(aws_client("sqs"), env(var(system, "INTAKE_QUEUE_URL")), dead)


def _meta_replies(settings: Settings) -> Replies:
    from backoffice.adapters.replies import MetaReplies
    from backoffice.services.social_inbox.inbox import REPLY_TOKENS

    return MetaReplies(lambda platform: settings.secret(REPLY_TOKENS[platform]))


def _dynamo_tables(system: System) -> Tables:
    from backoffice.adapters.aws.tables import DynamoTables

    schemas = system.storage.all
    names = {s.name: env(table_variable(system, s.name), s.name) for s in schemas}
    return DynamoTables(aws_client("dynamodb"), schemas, names)


def _s3_blobs(system: System) -> Blobs:
    from backoffice.adapters.aws.storage import S3Blobs

    sheet_bucket = env(sheet_bucket_variable(system))
    routes = {system.sheet.file: sheet_bucket, **{f"{f}/": sheet_bucket for f in system.folders}}
    return S3Blobs(aws_client("s3"), env(var(system, "RULES_BUCKET")), routes)


def _sheet(settings: Settings, system: System, blobs: Blobs) -> Sheet:
    """The Google Sheet once one is configured; until then the sheet's mirror in S3."""
    spreadsheet = os.environ.get(var(system, "SPREADSHEET_ID"))
    if spreadsheet:
        from backoffice.adapters.google.sheets import GoogleSheet
        from backoffice.services.mirror import WrittenThrough

        service = google_service(settings, "sheets", "v4")
        tab = env(var(system, "SHEET_TAB"), system.sheet.tab)
        return WrittenThrough(GoogleSheet(service, spreadsheet, tab), blobs, system.sheet.file)
    from backoffice.adapters.csv_sheet import CsvSheet

    return CsvSheet(blobs, system.sheet.file)


def _scheduler(settings: Settings, system: System) -> Scheduler:
    from backoffice.adapters.aws.scheduling import EventBridgeScheduler

    return EventBridgeScheduler(
        aws_client("scheduler"),
        env(var(system, "SCHEDULE_GROUP"), "default"),
        env(var(system, "DISPATCH_ARN")),
        env(var(system, "SCHEDULER_ROLE_ARN")),
        settings.timezone,
    )


def _ses(settings: Settings, system: System) -> Mailer:
    from backoffice.adapters.aws.messaging import SesMailer

    return SesMailer(
        aws_client("ses"),
        settings.mail_from or settings.admin,
        configuration_set=env(var(system, "SES_CONFIGURATION_SET"), ""),
    )


def _slack(settings: Settings) -> Chat:
    from backoffice.adapters.slack.chat import SlackChat, web_client

    return SlackChat(web_client(settings.secret("slack_bot_token")))


def _bus(system: System) -> Bus:
    from backoffice.adapters.aws.messaging import EventBridgeBus

    return EventBridgeBus(
        aws_client("events"), env(var(system, "BUS_NAME"), "default"), bus_source(system)
    )


def _sns(system: System) -> Sms:
    from backoffice.adapters.aws.messaging import SnsSms

    return SnsSms(aws_client("sns"), env(var(system, "SMS_ORIGINATION_NUMBER"), ""))


def bus_source(system: System) -> str:
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
    credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
        info, scopes=list(GOOGLE_SCOPES)
    )
    return build(
        name, version, credentials=credentials, static_discovery=True, cache_discovery=False
    )


def mirror_sources(system: System) -> list[Any]:
    """What drive-sync copies: the sheet and the system's documents (rules, voice)."""
    from backoffice.services.mirror import Source

    docs = [Source(name, env(doc_variable(system, name)), "doc") for name in system.documents]
    return [Source(system.sheet.file, env(var(system, "SPREADSHEET_ID")), "sheet"), *docs]


def doc_variable(system: System, name: str) -> str:
    """rules.toml -> EW_RULES_DOC_ID: the Google Doc a document is mirrored from."""
    return var(system, name.split(".", 1)[0].upper() + "_DOC_ID")


def aws_settings(system: System) -> Settings:
    """The settings parameter and the secrets, through the Parameters and Secrets Lambda
    Extension when the function has it (PARAMETERS_SECRETS_EXTENSION_HTTP_PORT), else through
    SSM and Secrets Manager."""
    from backoffice.adapters.aws.config import ParametersSecretsExtension, load_aws_settings
    from backoffice.handlers.logs import log

    p, v = system.prefix, system.variable
    secret_ids = {
        "link_secret": env(f"{v}_LINK_SECRET_ID", f"{p}/links/secret"),
        "slack_bot_token": env(f"{v}_SLACK_TOKEN_ID", f"{p}/slack/bot-token"),
        "slack_signing_secret": env(f"{v}_SLACK_SIGNING_SECRET_ID", f"{p}/slack/signing-secret"),
        "google_service_account": env(f"{v}_GOOGLE_SECRET_ID", f"{p}/drive/sa"),
        "webhook_secret": env(f"{v}_WEBHOOK_SECRET_ID", f"{p}/webhook/secret"),  # signups
        # The inbox's connectors: each names its own platform's secrets.
        "meta_app_secret": env(f"{v}_APP_SECRET_ID", f"{p}/meta/app-secret"),
        "meta_verify_token": env(f"{v}_VERIFY_TOKEN_ID", f"{p}/meta/verify-token"),
        # ... and its replies go out with the platforms' send tokens.
        "facebook_page_token": f"{p}/fb/page-token",
        "instagram_token": f"{p}/ig/token",
        "whatsapp_token": f"{p}/wa/token",
    }
    return load_aws_settings(
        lambda: aws_client("ssm"),
        lambda: aws_client("secretsmanager"),
        env(f"{v}_CONFIG_PARAMETER", f"/{p}/config/backoffice.toml"),
        secret_ids,
        ParametersSecretsExtension.from_environment(os.environ),
        log,
    )


def pdf_reader(system: System) -> PdfText:
    from backoffice.adapters.aws.textract import TextractPdfText

    return TextractPdfText(
        aws_client("textract"),
        aws_client("s3"),
        env(var(system, "SOURCE_PDFS_BUCKET")),
        env(var(system, "TEXTRACT_TOPIC_ARN")),
        env(var(system, "TEXTRACT_ROLE_ARN")),
    )


DEFAULT_MODEL = "global.anthropic.claude-haiku-4-5-20251001-v1:0"


@cache
def language_model(system: System) -> Model:
    """Bedrock in AWS (summaries, intake proposals); the embedded backend has none: a summary
    falls back to its table, intake to the heuristic reader."""
    if os.environ.get("BACKOFFICE_BACKEND", "aws") == "local":
        from backoffice.adapters.local.model import NoModel

        return NoModel()
    from backoffice.adapters.aws.model import BedrockModel

    return BedrockModel(aws_client("bedrock-runtime"), env(var(system, "MODEL_ID"), DEFAULT_MODEL))


@cache
def system_ports(system: System) -> tuple[Ports, Settings]:
    """A system's ports and settings in this execution environment, built on first use and kept:
    AWS in Lambda, or the embedded backend with BACKOFFICE_BACKEND=local (and
    BACKOFFICE_WORKSPACE)."""
    backend = os.environ.get("BACKOFFICE_BACKEND", "aws")
    if backend == "aws":
        settings = aws_settings(system)
        return aws_ports(settings, system), settings
    if backend != "local":
        raise RuntimeError(f"BACKOFFICE_BACKEND={backend!r}: expected aws or local")
    from backoffice.handlers.machine import local_ports

    workspace = Path(os.environ.get("BACKOFFICE_WORKSPACE", "."))
    settings = read_settings(workspace)
    return local_ports(workspace, settings, system, no_events), settings


def no_events(detail_type: str, detail: dict[str, Any]) -> None:
    raise RuntimeError(f"this handler cannot emit {detail_type!r}: it has no bus")
