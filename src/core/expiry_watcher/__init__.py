"""The document expiry watcher's decisions: what a tick sends, and what an owner's answer changes.

Everything here is a pure function of the registry rows, the stored state, the rules and `now`.
A *chain* is the life of one item at one expiry date (`{item_id}@{expires_on}`); renewing the item
or editing its date starts a new chain and archives the old one.

- `sheet`: the registry's rows; `documents`: the rules and voice docs;
- `plan`: the state and the daily tick; `actions`: Renew, Snooze, Ack only;
- `reports`: the weekly digest and the monthly summary's facts.
"""

from backoffice.core.expiry_watcher.actions import Current, apply_action, chosen_date
from backoffice.core.expiry_watcher.documents import (
    CHAIN_KEYS,
    MESSAGE_FIELDS,
    RULES_FILE,
    VOICE_PARTS,
    VOICE_SECTIONS,
    ChainRules,
    Rules,
    load_rules,
    load_voice,
    read_voice,
)
from backoffice.core.expiry_watcher.plan import (
    ACTIONS,
    MOVES,
    OWNER_MOVES,
    Ack,
    ActionKind,
    ChainStatus,
    Composed,
    MoveKind,
    Ping,
    State,
    chain_status,
    compose,
    item_moves,
    message_fields,
    move_for,
    owner_may_hear,
    plan_tick,
    still_due,
    when_phrase,
)
from backoffice.core.expiry_watcher.reports import (
    SUMMARY_INSTRUCTIONS,
    compose_digest,
    summary_facts,
)
from backoffice.core.expiry_watcher.sheet import (
    COLUMNS,
    OPTIONAL_COLUMNS,
    PREFIX,
    REQUIRED_COLUMNS,
    SHEET_FILE,
    SYSTEM,
    Item,
    chain_id,
    is_recipient,
    parse_registry,
    parse_rows,
)
from backoffice.core.vocabulary import Action, Move, Plan, SheetWrite, Transition
from backoffice.core.voice import VOICE_FILE, Voice

__all__ = [
    "ACTIONS",
    "CHAIN_KEYS",
    "COLUMNS",
    "MESSAGE_FIELDS",
    "MOVES",
    "OPTIONAL_COLUMNS",
    "OWNER_MOVES",
    "PREFIX",
    "REQUIRED_COLUMNS",
    "RULES_FILE",
    "SHEET_FILE",
    "SUMMARY_INSTRUCTIONS",
    "SYSTEM",
    "VOICE_FILE",
    "VOICE_PARTS",
    "VOICE_SECTIONS",
    "Ack",
    "Action",
    "ActionKind",
    "ChainRules",
    "ChainStatus",
    "Composed",
    "Current",
    "Item",
    "Move",
    "MoveKind",
    "Ping",
    "Plan",
    "Rules",
    "SheetWrite",
    "State",
    "Transition",
    "Voice",
    "apply_action",
    "chain_id",
    "chain_status",
    "chosen_date",
    "compose",
    "compose_digest",
    "is_recipient",
    "item_moves",
    "load_rules",
    "load_voice",
    "message_fields",
    "move_for",
    "owner_may_hear",
    "parse_registry",
    "parse_rows",
    "plan_tick",
    "read_voice",
    "still_due",
    "summary_facts",
    "when_phrase",
]
