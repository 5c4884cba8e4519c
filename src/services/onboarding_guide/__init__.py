"""The onboarding guide's use cases: the signup webhook, the daily tick, dispatching one step,
nudge or flag, the customers' and owners' answers, bounces, the digest and the summary; and its
description, `SYSTEM`."""

from __future__ import annotations

from backoffice.core import onboarding_guide as og
from backoffice.core.documents import problems_of
from backoffice.core.problems import Problem
from backoffice.core.settings import Settings
from backoffice.services import proposals
from backoffice.services.onboarding_guide.answers import act, open_link, perform
from backoffice.services.onboarding_guide.bounces import Bounced, bounced
from backoffice.services.onboarding_guide.enroll import MAX_BODY, Enrolled, enroll
from backoffice.services.onboarding_guide.reports import digest, summary
from backoffice.services.onboarding_guide.state import (
    ARCHIVE,
    AUDIT,
    JOURNEYS,
    SENDS,
    SIGNUPS,
    STORAGE,
    Reading,
    load_documents,
    load_state,
    parsed_documents,
)
from backoffice.services.onboarding_guide.tick import ANSWER_PATH, LABELS, dispatch, tick
from backoffice.services.system import Documents as Texts
from backoffice.services.system import (
    Intake,
    LinkAction,
    Links,
    Schedule,
    SheetSpec,
    System,
    column_reader,
)

ENROLL_PATH = "/og/enroll"
PROPOSAL_PATH = "/og/proposal"


def check(texts: Texts, settings: Settings) -> list[Problem]:
    """Every problem in the rules and the voice, and (when the rules can be read) the sheet."""
    documents = problems_of(lambda: og.load_rules(texts.rules))
    if documents:
        return documents
    reading = Reading.of(settings)
    return list(parsed_documents(texts.sheet, texts.rules, texts.voice, reading).problems)


SYSTEM = System(
    name=og.SYSTEM,
    stem="onboarding_guide",
    prefix=og.PREFIX,
    sheet=SheetSpec(
        og.SHEET_FILE,
        "customer_id",
        "name",
        og.COLUMNS,
        tab="Onboarding",
        required=og.REQUIRED_COLUMNS,
    ),
    storage=STORAGE,
    schedules=(
        Schedule("guide", "cron(0 9 * * ? *)"),
        # Daily, as the tick: the digest goes at the first run on or after digest_day that the
        # calendar allows (a Sunday-evening run, as first drawn, is never allowed Mon-Fri).
        Schedule("digest", "cron(0 9 * * ? *)"),
        Schedule("drive_sync", "rate(15 minutes)"),
        # Every Monday: the month's summary goes at the first allowed one (a first Monday
        # can be a holiday, Labor Day in the US).
        Schedule("summary", "cron(0 9 ? * MON *)"),
    ),
    tick_every="day",
    tick=tick,
    dispatch=dispatch,
    reports=digest,
    summary=summary,
    check=check,
    links=Links(
        ANSWER_PATH,
        (
            LinkAction("step_done", LABELS["step_done"]),
            LinkAction("pause", LABELS["pause"], asks="fields"),
            LinkAction("hand_off", LABELS["hand_off"], asks="fields"),
            LinkAction("finish", LABELS["finish"]),
        ),
        open_link,
        act,
    ),
    proposals=Links(PROPOSAL_PATH, proposals.link_actions(), proposals.open_link, proposals.act),
    # Signups come from the webhook and forwarded welcome e-mails: no calendar, no Textract.
    intake=Intake(("signed_up_at",), (), "owner", column_reader(og.COLUMNS), textract=False),
    example=("backoffice.toml", "rules.toml", "voice.toml", "onboarding.csv"),
    demo_days=14,
)

__all__ = [
    "ANSWER_PATH",
    "ARCHIVE",
    "AUDIT",
    "ENROLL_PATH",
    "JOURNEYS",
    "LABELS",
    "MAX_BODY",
    "PROPOSAL_PATH",
    "SENDS",
    "SIGNUPS",
    "SYSTEM",
    "Bounced",
    "Enrolled",
    "act",
    "bounced",
    "check",
    "digest",
    "dispatch",
    "enroll",
    "load_documents",
    "load_state",
    "open_link",
    "perform",
    "summary",
    "tick",
]
