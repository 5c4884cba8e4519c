"""The owner's sheet as CSV text: header matching, rows with their line numbers, cell parsing."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import TypeVar

from attrs import frozen
from dateutil import parser as date_parser

from backoffice.core.problems import Problem

T = TypeVar("T")
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{8,}$")
_SLACK_CHANNEL = re.compile(r"^[CG][A-Z0-9]{8,}$")
_SEPARATORS = re.compile(r"[\s\-]+")


@frozen
class RawRow:
    line: int
    values: Mapping[str, str]


@frozen
class Table:
    file: str
    header: tuple[str, ...]
    rows: tuple[RawRow, ...]


def normalise_header(name: str) -> str:
    """'Expires On', ' expires_on ', 'Expires-On' all become 'expires_on'."""
    return _SEPARATORS.sub("_", name.replace("\ufeff", "").strip().lower()).strip("_")


def read_csv(text: str, file: str) -> tuple[Table, list[Problem]]:
    """Rows keyed by normalised header, each with the line it starts on (the header is line 1)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    problems: list[Problem] = []
    header: tuple[str, ...] = ()
    rows: list[RawRow] = []
    line = 1
    for cells in reader:
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in cells):
            continue
        if not header:
            header = tuple(normalise_header(cell) for cell in cells)
            problems += _header_problems(file, start, cells, header)
            continue
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            problems.append(
                Problem(
                    file,
                    start,
                    None,
                    ",".join(cells[len(header) :]),
                    f"{len(cells)} cells but the header has {len(header)}; "
                    "the extra cells are ignored",
                )
            )
        padded = cells + [""] * (len(header) - len(cells))
        values = {name: cell.strip() for name, cell in zip(header, padded, strict=False) if name}
        rows.append(RawRow(start, values))
    return Table(file, header, tuple(rows)), problems


def _header_problems(
    file: str, line: int, cells: list[str], header: tuple[str, ...]
) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for raw, name in zip(cells, header, strict=True):
        if not name:
            problems.append(Problem(file, line, None, raw, "a column has no name; it is ignored"))
        elif name in seen:
            problems.append(
                Problem(file, line, name, raw, "this column name appears twice; the last one wins")
            )
        seen.add(name)
    return problems


def missing_columns(table: Table, required: Iterable[str]) -> list[Problem]:
    return [
        Problem(table.file, 1, column, None, f"the sheet has no {column} column")
        for column in required
        if column not in table.header
    ]


def day_first_for(text: str, dayfirst: bool) -> bool:
    """Whether to read day before month in `text`: never when it starts with a four-digit year
    (2026-12-01 is the first of December for everyone; dateutil would read 12 January)."""
    return dayfirst and not re.match(r"\s*\d{4}\s*[-/.]", text)


def parse_date(value: str, *, dayfirst: bool) -> date:
    text = value.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    expected = "not a date; expected a date like 2026-12-01"
    if not text or not re.search(r"\d", text):
        raise ValueError(expected)
    # Two different defaults expose any part the text did not give (day, month or year).
    dayfirst = day_first_for(text, dayfirst)
    try:
        first = date_parser.parse(text, dayfirst=dayfirst, default=datetime(2000, 1, 1))
        second = date_parser.parse(text, dayfirst=dayfirst, default=datetime(2001, 2, 2))
    except (ValueError, OverflowError):
        raise ValueError(expected) from None
    if first.date() != second.date():
        raise ValueError(expected)
    return first.date()


def parse_int(value: str, *, minimum: int = 0) -> int:
    text = value.strip()
    if not re.fullmatch(r"[+-]?\d+", text) or int(text) < minimum:
        raise ValueError(f"{value!r} is not a whole number of at least {minimum}")
    return int(text)


def is_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


def is_slack_user(value: str) -> bool:
    return bool(_SLACK_USER.match(value))


def is_slack_channel(value: str) -> bool:
    """A Slack channel or group id (C…, G…), where staff alerts may go."""
    return bool(_SLACK_CHANNEL.match(value))


def column_index(header: Iterable[str], column: str) -> int:
    """Where `column` is in a header row, matched as people write headers."""
    names = [normalise_header(name) for name in header]
    wanted = normalise_header(column)
    if wanted not in names:
        raise KeyError(f"the sheet has no column {column!r}")
    return names.index(wanted)


class RowReport:
    """Collects the problems of one row, each naming the row's line, column and value."""

    def __init__(self, file: str, row: RawRow) -> None:
        self.file = file
        self.row = row
        self.problems: list[Problem] = []

    def __call__(self, column: str, message: str) -> None:
        value = self.row.values.get(column, "")
        self.problems.append(Problem(self.file, self.row.line, column, value, message))


def parse_table(
    table: Table,
    required: Iterable[str],
    id_column: str,
    parse: Callable[[RawRow, RowReport], T | None],
) -> tuple[list[T], list[Problem]]:
    """Every system's sheet the same way: one problem per missing required column (and no rows
    then), rows without an id or with a repeated one skipped, the rest parsed by `parse`, which
    reports its own problems and returns None to skip a row."""
    problems = missing_columns(table, required)
    if problems:
        return [], problems
    parsed_rows: list[T] = []
    first_line: dict[str, int] = {}
    for row in table.rows:
        report = RowReport(table.file, row)
        row_id = row.values.get(id_column, "")
        if not row_id:
            report(id_column, f"missing {id_column}; this row is skipped")
        elif row_id in first_line:
            report(
                id_column,
                f"duplicate {id_column}, first used on line {first_line[row_id]}; "
                "this row is skipped",
            )
        else:
            parsed = parse(row, report)
            if parsed is not None:
                first_line[row_id] = row.line
                parsed_rows.append(parsed)
        problems += report.problems
    return parsed_rows, problems
