"""The social scheduler's decisions: when each approved post goes out on each of its channels,
whether every channel would take it, and what the owner's approve, hold and send now change.

Everything here is a pure function of the sheet's rows, the stored state, the rules, the
images' facts and `now`. Nothing is posted without the approved flag.

- `sheet`: the posts; `rules`: channels, the posting window, templates;
- `checks`: what each channel accepts; `plan`: the daily tick's moves;
- `actions`: approve, hold, send now; `reports`: the digest and the recap's facts.
"""

from backoffice.core.images import ImageFacts
from backoffice.core.social_scheduler.actions import ACTIONS, apply_action
from backoffice.core.social_scheduler.checks import (
    counted_length,
    describe_problems,
    link_count,
    post_problems,
)
from backoffice.core.social_scheduler.drafts import (
    DRAFT_INSTRUCTIONS,
    draft_prompt,
    over_limit,
    shorten_prompt,
)
from backoffice.core.social_scheduler.plan import (
    MOVES,
    STALE_AFTER,
    ChannelSend,
    State,
    Status,
    channel_move,
    due_minute,
    flag,
    moved,
    next_tick_after,
    plan_tick,
    post_key,
    post_moves,
    posting_calendar,
)
from backoffice.core.social_scheduler.reports import (
    RECAP_INSTRUCTIONS,
    Attempt,
    Composed,
    compose_digest,
    facts,
)
from backoffice.core.social_scheduler.rules import (
    KINDS,
    RULES_FILE,
    ChannelRules,
    PostingRules,
    Rules,
    Template,
    load_rules,
)
from backoffice.core.social_scheduler.sheet import (
    APPROVED,
    COLUMNS,
    IMAGES_FOLDER,
    PREFIX,
    REQUIRED_COLUMNS,
    SHEET_FILE,
    SYSTEM,
    Post,
    is_approved,
    parse_publish_at,
    parse_rows,
    template_text,
)
from backoffice.core.vocabulary import Action, Move, Plan, Transition

__all__ = [
    "ACTIONS",
    "APPROVED",
    "COLUMNS",
    "DRAFT_INSTRUCTIONS",
    "IMAGES_FOLDER",
    "KINDS",
    "MOVES",
    "PREFIX",
    "RECAP_INSTRUCTIONS",
    "REQUIRED_COLUMNS",
    "RULES_FILE",
    "SHEET_FILE",
    "STALE_AFTER",
    "SYSTEM",
    "Action",
    "Attempt",
    "ChannelRules",
    "ChannelSend",
    "Composed",
    "ImageFacts",
    "Move",
    "Plan",
    "Post",
    "PostingRules",
    "Rules",
    "State",
    "Status",
    "Template",
    "Transition",
    "apply_action",
    "channel_move",
    "compose_digest",
    "counted_length",
    "describe_problems",
    "draft_prompt",
    "due_minute",
    "facts",
    "flag",
    "is_approved",
    "link_count",
    "load_rules",
    "moved",
    "next_tick_after",
    "over_limit",
    "parse_publish_at",
    "parse_rows",
    "plan_tick",
    "post_key",
    "post_moves",
    "post_problems",
    "posting_calendar",
    "shorten_prompt",
    "template_text",
]
