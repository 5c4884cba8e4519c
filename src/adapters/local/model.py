"""Models on the embedded backend: none for prose, heuristics for intake."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from backoffice.core.intake import heuristic_proposal


class NoModel:
    def complete(self, instructions: str, prompt: str) -> str:
        raise RuntimeError("no language model on the embedded backend")


class HeuristicModel:
    """Intake without a cloud model: the proposal comes from dates, addresses, amounts and links
    found in the text (core.intake's heuristics), answered as the JSON a model would give."""

    def __init__(self, columns: Sequence[str], *, dayfirst: bool, today: date) -> None:
        self.columns = tuple(columns)
        self.dayfirst = dayfirst
        self.today = today

    def complete(self, instructions: str, prompt: str) -> str:
        header, _, text = prompt.partition("\n\n")
        fields = dict(line.split(": ", 1) for line in header.splitlines() if ": " in line)
        proposal = heuristic_proposal(
            fields.get("Subject", ""),
            text,
            fields.get("Forwarded by", ""),
            self.columns,
            dayfirst=self.dayfirst,
            today=self.today,
        )
        return json.dumps(proposal)
