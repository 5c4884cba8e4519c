"""The social inbox's use cases: the platforms' webhooks, the labeler (one queued message into
its thread, routed), the SLA sweeper, the digest; and its description, `SYSTEM`. It is
event-driven: its work arrives by a queue, its tick is the sweeper, and it plans no moves."""

from __future__ import annotations

import hashlib
import hmac

from backoffice.core import social_inbox as si
from backoffice.core.documents import problems_of
from backoffice.core.problems import Problem
from backoffice.core.settings import Settings
from backoffice.ports import Ports
from backoffice.services import proposals
from backoffice.services.engine import Delivery
from backoffice.services.social_inbox.actions import close
from backoffice.services.social_inbox.connectors import (
    MAX_BODY,
    PLATFORMS,
    Answer,
    app_secret,
    handshake,
    receive,
)
from backoffice.services.social_inbox.intake import consumer, labeled
from backoffice.services.social_inbox.reports import digest
from backoffice.services.social_inbox.routing import who_gets
from backoffice.services.social_inbox.state import (
    ASSIGNMENTS,
    AUDIT,
    DEDUPE,
    LOADS,
    STORAGE,
    THREADS,
    TURNS,
    all_threads,
    load_documents,
    loads,
    parsed_documents,
)
from backoffice.services.social_inbox.sweeper import sweep
from backoffice.services.system import Documents as Texts
from backoffice.services.system import (
    Intake,
    Links,
    Schedule,
    SheetSpec,
    System,
    column_reader,
    no_moves,
)

WEBHOOK_PATH = "/siu/webhook"
PROPOSAL_PATH = "/siu/proposal"


def check(texts: Texts, settings: Settings) -> list[Problem]:
    """Every problem in the rules, then the roster's rows (hours, teams, contacts)."""
    documents = problems_of(lambda: si.load_rules(texts.rules))
    if documents:
        return documents
    return list(parsed_documents(texts.sheet, texts.rules, settings.timezone).problems)


def preview(ports: Ports, settings: Settings) -> list[Delivery]:
    """Who would get what now: a new thread of each topic and urgency."""
    return who_gets(ports, settings, load_documents(ports.blobs, settings))


def sample_signature(settings: Settings, name: str, body: bytes) -> str:
    """The X-Hub-Signature-256 a platform would send with a sample payload (`whatsapp-...`)."""
    platform = next((p for p in PLATFORMS if name.rsplit("/", 1)[-1].startswith(p)), "facebook")
    digest_ = hmac.new(app_secret(settings, platform).encode(), body, hashlib.sha256)
    return f"sha256={digest_.hexdigest()}"


SYSTEM = System(
    name=si.SYSTEM,
    stem="social_inbox",
    prefix=si.PREFIX,
    sheet=SheetSpec(
        si.SHEET_FILE, "assignee", "name", si.COLUMNS, tab="Roster", required=si.REQUIRED_COLUMNS
    ),
    storage=STORAGE,
    schedules=(
        Schedule("sla_sweeper", "rate(5 minutes)"),
        Schedule("digest", "cron(0 18 * * ? *)"),
        Schedule("drive_sync", "rate(15 minutes)"),
    ),
    tick_every="minute",
    tick=sweep,
    dispatch=no_moves,
    reports=digest,
    summary=lambda ports, settings, model: [],  # the digest is its only report
    check=check,
    proposals=Links(PROPOSAL_PATH, proposals.link_actions(), proposals.open_link, proposals.act),
    # Teammates come from the roster; a forwarded note can propose a roster row.
    intake=Intake((), (), "", column_reader(si.COLUMNS), textract=False),
    example=(
        "backoffice.toml",
        "rules.toml",
        "roster.csv",
        "samples/instagram-order.json",
        "samples/facebook-refund.json",
        "samples/whatsapp-hours.json",
    ),
    demo_days=1,
    documents=("rules.toml",),  # nothing it writes reaches a customer: no voice
    consumer=consumer,
    sign_sample=sample_signature,
    preview=preview,
)

__all__ = [
    "ASSIGNMENTS",
    "AUDIT",
    "DEDUPE",
    "LOADS",
    "MAX_BODY",
    "PLATFORMS",
    "STORAGE",
    "SYSTEM",
    "THREADS",
    "TURNS",
    "WEBHOOK_PATH",
    "Answer",
    "all_threads",
    "check",
    "close",
    "consumer",
    "digest",
    "handshake",
    "labeled",
    "load_documents",
    "loads",
    "receive",
    "sweep",
]
