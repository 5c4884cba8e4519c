"""The social scheduler's use cases: the daily tick with template sync, the sender, the review
card's answers, the draft helper, the digest and the recap; and its description, `SYSTEM`."""

from __future__ import annotations

from datetime import datetime

from backoffice.core import social_scheduler as ss
from backoffice.core.documents import load_toml, problems_of
from backoffice.core.problems import Problem
from backoffice.core.settings import Settings
from backoffice.ports import Ports
from backoffice.services import proposals
from backoffice.services.social_scheduler.answers import act, open_link, perform
from backoffice.services.social_scheduler.draft import MAX_BODY, Drafted, draft
from backoffice.services.social_scheduler.reports import digest, recap
from backoffice.services.social_scheduler.review import LABELS, REVIEW_PATH
from backoffice.services.social_scheduler.state import (
    AUDIT,
    CHANNELS,
    IMAGE_PREFIX,
    SENDS,
    STATUS,
    STORAGE,
    Documents,
    Reading,
    parsed_documents,
)
from backoffice.services.social_scheduler.templates import Dropped, template_sync
from backoffice.services.social_scheduler.tick import dispatch
from backoffice.services.social_scheduler.tick import tick as plan_and_book
from backoffice.services.system import Documents as Texts
from backoffice.services.system import (
    Intake,
    LinkAction,
    Links,
    Schedule,
    SheetSpec,
    System,
    TickResult,
    column_reader,
)

DRAFT_PATH = "/ss/draft"
RENDER_PATH = "/ss/render"  # the embedded backend's renderings, for Instagram to fetch
PROPOSAL_PATH = "/ss/proposal"


def tick(ports: Ports, settings: Settings) -> TickResult:
    """Standing posts first (a template's new row is planned by the same tick), then the plan."""
    template_sync(ports, settings)
    return plan_and_book(ports, settings)


def check(texts: Texts, settings: Settings) -> list[Problem]:
    """Every problem in the rules and the voice, then the sheet's rows: a post no channel would
    take (its text, its links, its image read for what it is) and a post whose minute moves."""
    documents = problems_of(
        lambda: ss.load_rules(texts.rules), lambda: load_toml(texts.voice, "voice.toml")
    )
    if documents:
        return documents
    docs = _documents(texts, settings)
    return [*docs.problems, *_refused(docs, texts)]


def _documents(texts: Texts, settings: Settings) -> Documents:
    names = frozenset(k.removeprefix(IMAGE_PREFIX) for k in texts.files)
    return parsed_documents(texts.sheet, texts.rules, Reading.of(settings), names)


def _refused(docs: Documents, texts: Texts) -> list[Problem]:
    """Posts no channel would take: their text, their links, their image read for what it is."""
    if texts.images is None:
        return []
    images = texts.images
    facts = {
        p.image: images.inspect(texts.files[IMAGE_PREFIX + p.image]) for p in docs.posts if p.image
    }
    problems = []
    for post in docs.posts:
        refused = ss.post_problems(post, docs.rules, facts)
        if refused:
            message = f"nothing is posted until this is fixed: {ss.describe_problems(refused)}"
            problems.append(Problem(ss.SHEET_FILE, post.line, "channels", "", message))
    return problems


def notes(texts: Texts, settings: Settings, now: datetime) -> list[str]:
    """Posts that go out at another minute than written: outside the window, or a blackout."""
    docs = _documents(texts, settings)
    calendar = ss.posting_calendar(docs.rules.posting, settings.timezone)
    moved = [(post, ss.due_minute(post, calendar)) for post in docs.posts]
    return [str(ss.moved(post, due)) for post, due in moved if due != post.publish_at]


SYSTEM = System(
    name=ss.SYSTEM,
    stem="social_scheduler",
    prefix=ss.PREFIX,
    sheet=SheetSpec(
        ss.SHEET_FILE, "post_id", "post_id", ss.COLUMNS, tab="Posts", required=ss.REQUIRED_COLUMNS
    ),
    storage=STORAGE,
    schedules=(
        Schedule("scheduler", "cron(0 7 * * ? *)"),
        Schedule("drive_sync", "rate(5 minutes)"),
        # Daily, as the tick: the digest goes at the first allowed run on or after digest_day.
        Schedule("digest", "cron(0 18 * * ? *)"),
        Schedule("recap", "cron(0 9 ? * MON *)"),
    ),
    tick_every="day",
    tick=tick,
    dispatch=dispatch,
    reports=digest,
    summary=recap,
    check=check,
    links=Links(
        REVIEW_PATH,
        tuple(LinkAction(action, label) for action, label in LABELS.items()),
        open_link,
        act,
    ),
    proposals=Links(PROPOSAL_PATH, proposals.link_actions(), proposals.open_link, proposals.act),
    # New posts come from the draft helper and template sync; forwarded mail is read as a row.
    intake=Intake(("publish_at",), (), "", column_reader(ss.COLUMNS), textract=False),
    example=(
        "backoffice.toml",
        "rules.toml",
        "voice.toml",
        "posts.csv",
        "images/croissants.jpg",
    ),
    demo_days=7,
    folders=(ss.IMAGES_FOLDER,),
    notes=notes,
)

__all__ = [
    "AUDIT",
    "CHANNELS",
    "DRAFT_PATH",
    "LABELS",
    "MAX_BODY",
    "PROPOSAL_PATH",
    "RENDER_PATH",
    "REVIEW_PATH",
    "SENDS",
    "STATUS",
    "SYSTEM",
    "Drafted",
    "Dropped",
    "act",
    "check",
    "digest",
    "dispatch",
    "draft",
    "open_link",
    "perform",
    "recap",
    "template_sync",
    "tick",
]
