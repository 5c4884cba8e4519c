"""A language model that answers from a script, for the summary and intake tests."""

from __future__ import annotations


class Scripted:
    """Gives its answers in turn (the last one again when they run out); keeps the prompts."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []

    def complete(self, instructions: str, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
