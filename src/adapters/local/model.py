"""The embedded backend has no language model; callers fall back to what needs none."""

from __future__ import annotations


class NoModel:
    def complete(self, instructions: str, prompt: str) -> str:
        raise RuntimeError("no language model on the embedded backend")
