"""The onboarding guide's decisions: which step, nudge or owner flag each new customer gets on a
day, and what a customer's done or the owner's answer changes.

Everything here is a pure function of the sheet's rows, the stored state, the rules and `now`.
A *journey* is one customer's way in from one signup (`{customer_id}@{signup date}`); finishing
archives it.

- `sheet`: the customers; `documents`: the rules (plans and their steps) and the voice;
- `plan`: the state and the daily tick; `actions`: done, pause, hand off, finish, bounce;
- `reports`: the weekly digest and the monthly summary's facts.
"""

from backoffice.core.onboarding_guide.actions import ACTIONS, OWNER_ACTIONS, Current, apply_action
from backoffice.core.onboarding_guide.documents import (
    MAX_PERSONALIZED,
    MESSAGE_FIELDS,
    RULES_FILE,
    PlanRules,
    Rules,
    Step,
    load_rules,
    load_voice,
    read_voice,
    voice_parts,
)
from backoffice.core.onboarding_guide.messages import (
    PERSONALIZE_INSTRUCTIONS,
    message_fields,
    personalize_prompt,
    usable_rewrite,
)
from backoffice.core.onboarding_guide.plan import (
    MOVES,
    SKEW,
    Journey,
    MoveKind,
    Sent,
    State,
    days_since_signup,
    earlier_unsettled,
    plan_tick,
    still_due,
)
from backoffice.core.onboarding_guide.reports import (
    SUMMARY_INSTRUCTIONS,
    Composed,
    compose_digest,
    summary_facts,
)
from backoffice.core.onboarding_guide.sheet import (
    COLUMNS,
    OPTIONAL_COLUMNS,
    PREFIX,
    REQUIRED_COLUMNS,
    SHEET_FILE,
    SYSTEM,
    Customer,
    parse_customers,
    parse_moment,
    parse_rows,
)
from backoffice.core.onboarding_guide.signup import FieldError, Signup, read_signup
from backoffice.core.vocabulary import Action, Move, Plan, Transition
from backoffice.core.voice import VOICE_FILE, Voice

__all__ = [
    "ACTIONS",
    "COLUMNS",
    "MAX_PERSONALIZED",
    "MESSAGE_FIELDS",
    "MOVES",
    "OPTIONAL_COLUMNS",
    "OWNER_ACTIONS",
    "PERSONALIZE_INSTRUCTIONS",
    "PREFIX",
    "REQUIRED_COLUMNS",
    "RULES_FILE",
    "SHEET_FILE",
    "SKEW",
    "SUMMARY_INSTRUCTIONS",
    "SYSTEM",
    "VOICE_FILE",
    "Action",
    "Composed",
    "Current",
    "Customer",
    "FieldError",
    "Journey",
    "Move",
    "MoveKind",
    "Plan",
    "PlanRules",
    "Rules",
    "Sent",
    "Signup",
    "State",
    "Step",
    "Transition",
    "Voice",
    "apply_action",
    "compose_digest",
    "days_since_signup",
    "earlier_unsettled",
    "load_rules",
    "load_voice",
    "message_fields",
    "parse_customers",
    "parse_moment",
    "parse_rows",
    "personalize_prompt",
    "plan_tick",
    "read_signup",
    "read_voice",
    "still_due",
    "summary_facts",
    "usable_rewrite",
    "voice_parts",
]
