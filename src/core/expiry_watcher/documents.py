"""The expiry watcher's rules doc (`[chains.<category>]`) and voice doc (one section per move)."""

from __future__ import annotations

from collections.abc import Mapping

from attrs import frozen

from backoffice.core import voice
from backoffice.core.documents import DocumentError, key_line, load_toml, raise_all
from backoffice.core.rules import Key, inherited_sections, recipient, unknown_sections, whole_number
from backoffice.core.voice import VOICE_FILE, Voice

RULES_FILE = "rules.toml"


@frozen
class ChainRules:
    first_alert_days: int
    reminder_every_days: int
    max_reminders: int
    escalate_days: int
    escalate_to: str


@frozen
class Rules:
    chains: Mapping[str, ChainRules]

    def chain_for(self, category: str) -> ChainRules:
        return self.chains.get(category, self.chains["default"])


CHAIN_KEYS = (
    Key("first_alert_days", whole_number(0)),
    Key("reminder_every_days", whole_number(1)),
    Key("max_reminders", whole_number(0), default=6),
    Key("escalate_days", whole_number(0)),
    Key("escalate_to", recipient),
)


def load_rules(text: str, file: str = RULES_FILE) -> Rules:
    """Every chain merged over `[chains.default]`; every problem named with its line."""
    doc = load_toml(text, file)
    chains, errors = inherited_sections(doc, text, file, "chains", CHAIN_KEYS)
    errors = [*unknown_sections(doc, text, file, ("chains",)), *errors]
    errors += [
        DocumentError(
            file,
            key_line(text, f"chains.{name}", "escalate_days"),
            f"escalate_days in [chains.{name}] ({chain['escalate_days']}) is longer than "
            f"first_alert_days ({chain['first_alert_days']}): the escalation would come before "
            "the owner's first alert",
        )
        for name, chain in chains.items()
        if chain["escalate_days"] > chain["first_alert_days"]
    ]
    raise_all(errors)
    names = [key.name for key in CHAIN_KEYS]
    return Rules({name: ChainRules(**{k: v[k] for k in names}) for name, v in chains.items()})


MESSAGE_FIELDS = (
    "item_id",
    "item_name",
    "expires_on",
    "act_by",
    "days_left",
    "when",
    "owner",
    "category",
    "link",
    "notes",
    "reminder_number",
    "overdue",
    "escalate_to",
)
VOICE_SECTIONS = ("first_alert", "reminder", "escalate")
VOICE_PARTS = {section: ("subject", "body") for section in VOICE_SECTIONS}


def load_voice(text: str, file: str = VOICE_FILE) -> Voice:
    return voice.load_voice(text, VOICE_PARTS, MESSAGE_FIELDS, file)


def read_voice(text: str, file: str = VOICE_FILE) -> tuple[Voice, list[DocumentError]]:
    """The usable sections, and the problems of the others (their moves wait)."""
    return voice.read_voice(text, VOICE_PARTS, MESSAGE_FIELDS, file)
