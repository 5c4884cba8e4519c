"""The documents an owner edits, read from blob storage (the workspace folder, or their mirror in
S3) and parsed once per version."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from backoffice.core.documents import DocumentError, decode, section_line
from backoffice.core.problems import Problem
from backoffice.core.vocabulary import Move
from backoffice.core.voice import VOICE_FILE, Voice
from backoffice.ports import Blobs


def text_of(blobs: Blobs, name: str) -> str:
    """A document's text; a missing or undecodable one is a DocumentError naming it."""
    return decode(bytes_of(blobs, name), name)


def bytes_of(blobs: Blobs, name: str) -> bytes:
    """A document's bytes (the sheet is decoded line by line: one bad line is one problem)."""
    blob = blobs.get(name)
    if blob is None:
        raise DocumentError(name, None, f"{name} is missing")
    return blob.body


@contextmanager
def collector_paused() -> Iterator[None]:
    """Reading a sheet makes an object or two per row, and every one of them lives on; none is
    in a cycle. The garbage collector's passes over them free nothing, yet they cost a third of
    a 100k-row parse and grow with the sheet, so the collector rests while a sheet is read."""
    if not gc.isenabled():  # paused already, by another reader or by the program
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def voiced(
    moves: Sequence[Move],
    voice: Voice,
    text: str,
    section_of: Callable[[Move], str] = lambda move: move.kind,
) -> tuple[list[Move], list[Problem]]:
    """The moves whose words can be written, and one problem per broken section saying whose
    messages wait for it: a broken template stops only the moves that use it. A move's words
    are in the section named for its kind unless `section_of` says otherwise."""
    kept = [move for move in moves if section_of(move) in voice.sections]
    waiting: dict[str, list[str]] = {}
    for move in moves:
        if section_of(move) not in voice.sections:
            waiting.setdefault(section_of(move), []).append(move.subject)
    problems = [
        Problem(
            VOICE_FILE,
            section_line(text, section),
            None,
            ", ".join(subjects[:5]) + (" ..." if len(subjects) > 5 else ""),
            f"[{section}] cannot be written until it is fixed, so {len(subjects)} "
            "message(s) wait for it",
        )
        for section, subjects in waiting.items()
    ]
    return kept, problems
