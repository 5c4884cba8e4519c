"""The social inbox's decisions: what a platform's webhook says, which thread a message belongs
to, its labels, and which teammate takes it.

Everything here is a pure function of the payloads, the rules, the roster, the stored threads
and counters, and `now`.

- `webhooks`: Meta's payloads to messages, their signatures, the verification handshake;
- `rules`: topics, teams, SLA targets; `roster`: teammates and their working hours;
- `labels`: the model's strict labels, the keyword labeler, the fallback;
- `threads`: join, reopen or start; `router`: eligible teammates, least loaded, in turn.
"""

from backoffice.core.social_inbox.labels import (
    LABEL_INSTRUCTIONS,
    MAX_SUMMARY,
    Label,
    fallback,
    keyword_label,
    label_prompt,
    read_label,
    with_urgent_words,
)
from backoffice.core.social_inbox.roster import (
    COLUMNS,
    PREFIX,
    REQUIRED_COLUMNS,
    SHEET_FILE,
    SYSTEM,
    Shift,
    Teammate,
    parse_roster,
    parse_working_hours,
    unknown_teams,
)
from backoffice.core.social_inbox.router import Routed, choose, eligible, rerouted, route
from backoffice.core.social_inbox.rules import OTHER, RULES_FILE, Rules, Topic, load_rules
from backoffice.core.social_inbox.threads import (
    Placed,
    Said,
    Thread,
    customer_key,
    place,
    said,
    thread_id_for,
)
from backoffice.core.social_inbox.webhooks import (
    Incoming,
    MediaRef,
    Parsed,
    PayloadError,
    fingerprint,
    handshake,
    parse,
    signature_valid,
)
from backoffice.core.social_inbox.windows import (
    HUMAN_AGENT_TAG,
    Window,
    last_from_customer,
    reply_window,
)

__all__ = [
    "COLUMNS",
    "HUMAN_AGENT_TAG",
    "LABEL_INSTRUCTIONS",
    "MAX_SUMMARY",
    "OTHER",
    "PREFIX",
    "REQUIRED_COLUMNS",
    "RULES_FILE",
    "SHEET_FILE",
    "SYSTEM",
    "Incoming",
    "Label",
    "MediaRef",
    "Parsed",
    "PayloadError",
    "Placed",
    "Routed",
    "Rules",
    "Said",
    "Shift",
    "Teammate",
    "Thread",
    "Topic",
    "Window",
    "choose",
    "customer_key",
    "eligible",
    "fallback",
    "fingerprint",
    "handshake",
    "keyword_label",
    "label_prompt",
    "last_from_customer",
    "load_rules",
    "parse",
    "parse_roster",
    "parse_working_hours",
    "place",
    "read_label",
    "reply_window",
    "rerouted",
    "route",
    "said",
    "signature_valid",
    "thread_id_for",
    "unknown_teams",
    "with_urgent_words",
]
