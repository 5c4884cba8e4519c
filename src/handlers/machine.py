"""The embedded backend's composition: one workspace folder on one machine. State in SQLite,
documents in the folder (mirrored from Google when the settings say so), and delivery to the
outbox folder, or live: mail over SMTP (or SES), Slack's Web API, texts through SNS."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from backoffice.core.settings import Settings
from backoffice.handlers.wiring import FixedClock, lazy
from backoffice.ports import (
    Blobs,
    Chat,
    Clock,
    Images,
    Mailer,
    Ports,
    Posting,
    Queue,
    Replies,
    Sheet,
    Sms,
)
from backoffice.services.system import System

EventSink = Callable[[str, dict[str, Any]], None]
DOCUMENTS = ("sheet", "rules", "voice")


def local_ports(
    workspace: Path,
    settings: Settings,
    system: System,
    on_event: EventSink,
    now: datetime | None = None,
    clock: Clock | None = None,
) -> Ports:
    """The embedded backend over a workspace folder. `now` fixes the clock (`tick --now`);
    `clock` gives one (`run`, and the tests that drive it)."""
    from backoffice.adapters.clock import SystemClock
    from backoffice.adapters.local.scheduling import InlineBus, LocalScheduler
    from backoffice.adapters.local.storage import FolderBlobs
    from backoffice.adapters.local.tables import SqliteTables

    database = workspace / "state.db"
    files = FolderBlobs(workspace)
    mailer, chat, sms = (_live if settings.live else _outbox)(workspace, settings)
    clock = clock or (SystemClock() if now is None else FixedClock(now))
    return Ports(
        clock=clock,
        tables=SqliteTables(database, system.storage.all),
        blobs=files,
        sheet=_sheet(workspace, settings, system, files),
        scheduler=LocalScheduler(database),
        mailer=mailer,
        chat=chat,
        bus=InlineBus(on_event),
        sms=sms,
        posting=lazy(lambda: local_posting(workspace, settings)),
        images=lazy(lambda: local_images(files, settings)),
        queue=lazy(lambda: _queue(database, clock)),
        replies=lazy(lambda: local_replies(workspace, settings)),
    )


def local_replies(workspace: Path, settings: Settings) -> Replies:
    """The outbox (a JSON file per reply), or the platforms' send APIs with the tokens under
    [secrets] (facebook_page_token, instagram_token, whatsapp_token)."""
    from backoffice.adapters.replies import MetaReplies, OutboxReplies
    from backoffice.services.social_inbox.inbox import REPLY_TOKENS

    if not settings.live:
        return OutboxReplies(workspace / "outbox")
    return MetaReplies(lambda platform: settings.secret(REPLY_TOKENS[platform]))


def _queue(database: Path, clock: Clock) -> Queue:
    """The intake queue in the workspace's state.db, with SQS's visibility and dead letters."""
    from backoffice.adapters.local.queue import SqliteQueue

    return SqliteQueue(database, clock)


def local_posting(workspace: Path, settings: Settings) -> Posting:
    """The outbox (a JSON file per post and channel), or each channel's platform, with its
    token in the workspace's channel-tokens folder (refreshed tokens are written back)."""
    from backoffice.adapters.posting import ChannelPosting, FileTokens, OutboxPosting

    if not settings.live:
        return OutboxPosting(workspace / "outbox")
    slack = settings.slack_api_url or "https://slack.com/api/"
    return ChannelPosting(FileTokens(workspace / CHANNEL_TOKENS), slack_base_url=slack)


def local_images(files: Blobs, settings: Settings) -> Images:
    """Renderings cached in the workspace, linked under `backoffice serve` for the platforms
    that fetch a post's image themselves (Instagram)."""
    from backoffice.adapters.images import BlobRenderCache, PillowImages

    return PillowImages(BlobRenderCache(files, settings.public_url))


CHANNEL_TOKENS = "channel-tokens"


def _outbox(workspace: Path, settings: Settings) -> tuple[Mailer, Chat, Sms]:
    from backoffice.adapters.local.outbox import OutboxChat, OutboxMailer, OutboxSms

    outbox = workspace / "outbox"
    return (
        OutboxMailer(outbox, settings.mail_from or settings.admin),
        OutboxChat(outbox),
        OutboxSms(outbox),
    )


def _live(workspace: Path, settings: Settings) -> tuple[Mailer, Chat, Sms]:
    """Real adapters, each built when first used: a workspace that never texts needs no AWS."""
    return (
        lazy(lambda: live_mailer(settings)),
        lazy(lambda: live_chat(settings)),
        lazy(lambda: live_sms(settings)),
    )


def live_mailer(settings: Settings) -> Mailer:
    sender = settings.mail_from or settings.admin
    if settings.mail_via == "ses":
        from backoffice.adapters.aws.messaging import SesMailer

        return SesMailer(aws_client(settings, "ses"), sender)
    from backoffice.adapters.smtp import SmtpMailer

    smtp = settings.smtp
    if smtp is None:
        raise ValueError('delivery = "live" sends mail over SMTP: add an [smtp] section')
    password = settings.secret("smtp_password") if smtp.user else ""
    return SmtpMailer(smtp.host, smtp.port, smtp.user, password, smtp.tls, sender)


def live_chat(settings: Settings) -> Chat:
    from backoffice.adapters.slack.chat import SlackChat, web_client

    return SlackChat(web_client(settings.secret("slack_bot_token"), settings.slack_api_url or None))


def live_sms(settings: Settings) -> Sms:
    from backoffice.adapters.aws.messaging import SnsSms

    return SnsSms(aws_client(settings, "sns"), settings.sms_origination_number)


def aws_client(settings: Settings, service: str) -> Any:
    """A client with this machine's AWS credentials (the usual chain: environment, profile)."""
    import boto3

    return boto3.session.Session(region_name=settings.aws_region or None).client(service)


# --- Google documents --------------------------------------------------------------------------


def _sheet(workspace: Path, settings: Settings, system: System, files: Blobs) -> Sheet:
    """The workspace's CSV, or the Google Sheet with its copy in the workspace kept current."""
    from backoffice.adapters.csv_sheet import CsvSheet

    source = settings.source("sheet")
    if not source.google:
        from filelock import FileLock

        lock = FileLock(workspace / f".{system.sheet.file}.lock")
        return CsvSheet(files, system.sheet.file, lambda: lock)
    from backoffice.services.mirror import WrittenThrough

    return WrittenThrough(
        lazy(lambda: google_sheet(workspace, settings, system)), files, system.sheet.file
    )


def google_sheet(workspace: Path, settings: Settings, system: System) -> Sheet:
    from backoffice.adapters.google.sheets import GoogleSheet

    source = settings.source("sheet")
    service = google_service(workspace, settings, "sheets", "v4")
    return GoogleSheet(service, source.file_id, source.tab or system.sheet.tab)


def mirror_documents(
    workspace: Path, settings: Settings, system: System, into: Blobs | None = None
) -> list[str]:
    """Bring the workspace's copies of its Google documents up to date (a file is fetched only
    when its version changed), or copy them `into` other blobs (preview writes nothing).
    Returns the names that changed."""
    from backoffice.adapters.google.drive import GoogleDrive
    from backoffice.adapters.local.storage import FolderBlobs
    from backoffice.services.mirror import Source, sync

    names = {"sheet": system.sheet.file, "rules": "rules.toml", "voice": "voice.toml"}
    sources = [
        Source(names[doc], settings.source(doc).file_id, "sheet" if doc == "sheet" else "doc")
        for doc in DOCUMENTS
        if settings.source(doc).google
    ]
    if not sources:
        return []
    drive = GoogleDrive(google_service(workspace, settings, "drive", "v3"))
    sheet = google_sheet(workspace, settings, system)
    target = into if into is not None else FolderBlobs(workspace)
    return [m.key for m in sync(drive, sheet, target, sources) if m.changed]


def google_service(workspace: Path, settings: Settings, name: str, version: str) -> Any:
    """A Google API client from the service account key named in the settings, with the
    bundled discovery document (no network before the first real call)."""
    from googleapiclient.discovery import build

    credentials = _key(workspace, settings)
    return build(
        name, version, credentials=credentials, static_discovery=True, cache_discovery=False
    )


def _key(workspace: Path, settings: Settings) -> Any:
    """The service account's credentials from its key file, or a KeyFileError naming it."""
    from google.oauth2 import service_account

    from backoffice.handlers.wiring import GOOGLE_SCOPES

    path = workspace / settings.google_key_file
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            info, scopes=list(GOOGLE_SCOPES)
        )
    except (OSError, ValueError) as error:
        raise KeyFileError(f"google_key_file {path}: {_why(error)}") from None


class KeyFileError(ValueError):
    """The service account key cannot be read; the message names the setting and the file."""


def _why(error: Exception) -> str:
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, OSError):
        return error.strerror or "cannot be read"
    return "not a service account key (expected the JSON file Google gives for the account)"
