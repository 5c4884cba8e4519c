"""`backoffice check --live`: every connection the workspace is configured to use, tried without
sending anything (SMTP: connect, secure, log in, quit; Slack: auth.test; AWS: a read-only call;
Google: each document's version). Each line says ok, or what failed and which setting to check."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from backoffice.core.settings import Settings
from backoffice.services.delivery import describe
from backoffice.services.system import System

Check = tuple[str, Callable[[], str]]  # (what, the probe: a short description when it works)


def live_checks(workspace: Path, settings: Settings, system: System) -> list[tuple[str, str, bool]]:
    """(what, what was found, whether it works) for each configured connection."""
    found = []
    for what, probe in _probes(workspace, settings, system):
        try:
            found.append((what, probe(), True))
        except Exception as error:  # each failure is one line: it names its setting
            found.append((what, describe(error), False))
    return found


def _probes(workspace: Path, settings: Settings, system: System) -> list[Check]:
    probes: list[Check] = []
    if settings.live:
        probes.append(("mail", lambda: _mail(settings)))
        if "slack_bot_token" in settings.secrets:
            probes.append(("slack", lambda: _slack(settings)))
        if settings.sms_origination_number:
            probes.append(("sms", lambda: _sns(settings)))
    for doc in ("sheet", "rules", "voice"):
        if settings.source(doc).google:
            probes.append((f"google {doc}", partial(_google, workspace, settings, doc)))
    return probes


def _mail(settings: Settings) -> str:
    from backoffice.adapters.smtp import SmtpMailer
    from backoffice.handlers.machine import live_mailer

    mailer = live_mailer(settings)
    if isinstance(mailer, SmtpMailer):
        return mailer.check_connection()
    from backoffice.handlers.machine import aws_client

    quota = aws_client(settings, "ses").get_send_quota()
    return (
        f"ses in {settings.aws_region or 'the default region'}: {quota['Max24HourSend']:.0f} a day"
    )


def _slack(settings: Settings) -> str:
    from slack_sdk.errors import SlackApiError

    from backoffice.adapters.slack.chat import web_client

    client = web_client(settings.secret("slack_bot_token"), settings.slack_api_url or None)
    try:
        answer = client.auth_test()
    except SlackApiError as error:
        reason = error.response.get("error", "refused")
        raise RuntimeError(
            f"Slack refused the bot token ({reason}): check [secrets] slack_bot_token"
        ) from None
    return f"slack as {answer.get('user', '?')} in {answer.get('team', '?')}"


def _sns(settings: Settings) -> str:
    from backoffice.handlers.machine import aws_client

    aws_client(settings, "sns").get_sms_attributes(attributes=["MonthlySpendLimit"])
    return f"sns texts from {settings.sms_origination_number}"


def _google(workspace: Path, settings: Settings, doc: str) -> str:
    from backoffice.adapters.google.drive import GoogleDrive
    from backoffice.handlers.machine import google_service

    source = settings.source(doc)
    drive = GoogleDrive(google_service(workspace, settings, "drive", "v3"))
    return f"{source.file_id}: version {drive.revision(source.file_id)}"
