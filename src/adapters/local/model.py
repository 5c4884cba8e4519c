"""Models on the embedded backend: none for prose, heuristics for intake."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

Guess = Callable[[str, str, str], Mapping[str, str]]  # (subject, text, forwarded by) -> row


class NoModel:
    def complete(self, instructions: str, prompt: str) -> str:
        raise RuntimeError("no language model on the embedded backend")


class HeuristicModel:
    """Intake without a cloud model: a system's heuristics read the forwarded text (dates,
    addresses, numbers found in it) and the row is answered as the JSON a model would give."""

    def __init__(self, guess: Guess) -> None:
        self.guess = guess

    def complete(self, instructions: str, prompt: str) -> str:
        header, _, text = prompt.partition("\n\n")
        fields = dict(line.split(": ", 1) for line in header.splitlines() if ": " in line)
        proposal = self.guess(fields.get("Subject", ""), text, fields.get("Forwarded by", ""))
        return json.dumps(dict(proposal))
