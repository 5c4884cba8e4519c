"""Intake: a forwarded file -> its text -> a model's proposed row, checked -> a person decides."""

from __future__ import annotations

from collections.abc import Sequence

from attrs import frozen

from backoffice.core.intake import instructions, read_model_answer
from backoffice.ports import Extracted, Model
from backoffice.services.delivery import describe

MODEL_TRIES = 2  # one retry on an invalid answer, then the fields stay empty


@frozen
class IntakeResult:
    proposal: dict[str, str]
    problems: tuple[str, ...]


def propose_from(
    extracted: Extracted,
    model: Model,
    name: str,
    columns: Sequence[str],
    date_columns: Sequence[str],
    *,
    dayfirst: bool,
    owner_column: str = "owner",
    time_columns: Sequence[str] = (),
    fallback_owner: str = "",
) -> IntakeResult:
    """The proposal for a forwarded file's text (in AWS, PDFs are read by Textract first).
    Never raises for bad input: an unreadable or empty document is a proposal with empty
    fields and problems that say why."""
    problems = list(extracted.unreadable)
    empty = dict.fromkeys(columns, "")
    if not extracted.text.strip() and not extracted.subject.strip():
        problems.append(f"{name}: no text to read; fill in the row by hand")
        return IntakeResult(
            _with_owner(empty, extracted.sender or fallback_owner, owner_column), tuple(problems)
        )
    prompt = f"Forwarded by: {extracted.sender}\nSubject: {extracted.subject}\n\n{extracted.text}"
    source = f"{extracted.subject}\n{extracted.text}"
    kept: dict[str, str] = {}
    errors: list[str] = []
    for _ in range(MODEL_TRIES):
        try:
            answer = model.complete(instructions(columns, date_columns, time_columns), prompt)
        except Exception as error:
            errors = [f"the model failed: {describe(error)}"]
            continue
        kept, errors = read_model_answer(
            answer, source, columns, date_columns, dayfirst=dayfirst, time_columns=time_columns
        )
        if not errors:
            break
    if errors:
        problems += [f"the proposal could not be read ({e}); fields left empty" for e in errors]
        kept = {}
    return IntakeResult(
        _with_owner({**empty, **kept}, extracted.sender or fallback_owner, owner_column),
        tuple(problems),
    )


def _with_owner(values: dict[str, str], sender: str, column: str) -> dict[str, str]:
    """The person who forwarded the document is its proposed owner (the admin when nobody
    did: a file read straight from disk)."""
    if column in values and not values[column] and sender:
        values[column] = sender
    return values
