"""The owner's sheet as CSV text: header matching, rows with their line numbers, cell parsing."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar

from attrs import frozen
from dateutil import parser as date_parser

from backoffice.core.problems import Problem

T = TypeVar("T")
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{8,}$")
_SLACK_CHANNEL = re.compile(r"^[CG][A-Z0-9]{8,}$")
_SEPARATORS = re.compile(r"[\s\-]+")


class RawRow(NamedTuple):
    """One row's values by column name, and the line it starts on. A tuple rather than an
    attrs class: a sheet makes one per row, and a tuple is made three times faster."""

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


def read_sheet(body: bytes, file: str) -> tuple[Table, list[Problem]]:
    """The sheet's bytes as rows. A line that is not UTF-8 is a problem naming it (and is left
    out); the other rows run. Guessing another encoding would silently change names."""
    text, problems = decode_lines(body, file)
    table, found = read_csv(text, file)
    return table, [*problems, *found]


def decode_lines(body: bytes, file: str) -> tuple[str, list[Problem]]:
    try:
        return body.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    lines, problems = [], []
    for number, raw in enumerate(body.removeprefix(b"\xef\xbb\xbf").split(b"\n"), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as error:
            lines.append("")
            found = raw[error.start : error.start + 1].hex()
            message = (
                f"this line is not UTF-8 text (byte 0x{found}); save the sheet as CSV UTF-8; "
                "the row is skipped"
            )
            problems.append(Problem(file, number, None, None, message))
    return "\n".join(lines), problems


def read_csv(text: str, file: str) -> tuple[Table, list[Problem]]:
    """Rows keyed by normalised header, each with the line it starts on (the header is line 1).
    A sheet exported with semicolons or tabs between the cells is read as such."""
    lines, header = _header(text, file)
    rows = tuple(_rows(lines, header))
    return Table(file, header, rows), lines.problems


def _header(text: str, file: str) -> tuple[_Lines, tuple[str, ...]]:
    """The reader, moved past the header row (the first that is not blank), and the header."""
    text = text.lstrip("\ufeff")
    lines = _Lines(csv.reader(io.StringIO(text), delimiter=_delimiter(text)), file)
    for line, cells in lines:
        if "".join(cells).strip():
            header = tuple(normalise_header(cell) for cell in cells)
            lines.problems += _header_problems(file, line, cells, header)
            return lines, header
    return lines, ()


class _Lines:
    """The reader's records with the line each starts on. A record the csv module refuses is a
    problem, and reading goes on with the next line (the module resets after an error)."""

    def __init__(self, reader: Any, file: str) -> None:
        self.reader, self.file = reader, file
        self.problems: list[Problem] = []
        self.line = 1

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        reader = self.reader
        while True:
            try:
                for cells in reader:
                    start, self.line = self.line, reader.line_num + 1
                    yield start, cells
                return
            except csv.Error:
                self.refused()

    def refused(self) -> None:
        start, self.line = self.line, self.reader.line_num + 1
        self.problems.append(Problem(self.file, start, None, None, UNREADABLE_LINE))


def _rows(lines: _Lines, header: tuple[str, ...]) -> Iterator[RawRow]:
    """The rows under the header. This runs per row of sheets of 100k rows, so it is one loop
    straight over the csv reader, and most rows take the quick way: every cell stripped and
    zipped with the names in C. A row with an apostrophe goes cell by cell, to drop the mark
    `neutralised` put at the start of a cell."""
    width, quick, reader = len(header), all(header), lines.reader
    while True:
        try:
            for cells in reader:
                line, lines.line = lines.line, reader.line_num + 1
                if len(cells) != width:
                    cells = _fitted(cells, header, lines, line)
                joined = "".join(cells)
                if not joined.strip():
                    continue
                if quick and ("'" not in joined or not any(_marked(cells))):
                    yield RawRow(line, dict(zip(header, map(str.strip, cells), strict=True)))
                else:
                    values = zip(header, cells, strict=True)
                    yield RawRow(line, {n: unmarked(c.strip()).strip() for n, c in values if n})
            return
        except csv.Error:
            lines.refused()


def _marked(cells: list[str]) -> Iterator[bool]:
    """Which cells start with an apostrophe (a name like O'Brien has one inside only)."""
    return (cell.lstrip().startswith("'") for cell in cells)


def _fitted(cells: list[str], header: tuple[str, ...], lines: _Lines, line: int) -> list[str]:
    """A short row padded with empty cells; a long one cut to the header, a problem when what
    is cut off is not empty."""
    width = len(header)
    if len(cells) < width:
        return cells + [""] * (width - len(cells))
    if "".join(cells[width:]).strip():
        lines.problems.append(_extra_cells(lines.file, line, cells, header))
    return cells[:width]


def _extra_cells(file: str, line: int, cells: list[str], header: tuple[str, ...]) -> Problem:
    return Problem(
        file,
        line,
        None,
        ",".join(cells[len(header) :]),
        f"{len(cells)} cells but the header has {len(header)}; the extra cells are ignored",
    )


UNREADABLE_LINE = (
    "this line cannot be read as CSV (a line break or NUL character inside a cell that is "
    "not in quotes); the row is skipped"
)


def _delimiter(text: str) -> str:
    """The separator of the header line: a comma, unless the export used semicolons or tabs
    (spreadsheets in many locales save "CSV" that way)."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > counts[","] else ","


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER_LIKE = re.compile(r"^[+-][\d\s().,-]*$")


def neutralised(value: str) -> str:
    """A value a spreadsheet would run as a formula gets a leading apostrophe (shown as text);
    phone numbers and plain numbers with a sign are left as they are. A value that starts with
    an apostrophe gets one more, so reading it back gives it unchanged."""
    if not value.strip():
        return value
    if value.startswith("'") or (value.startswith(FORMULA_START) and not _NUMBER_LIKE.match(value)):
        return "'" + value
    return value


def unmarked(cell: str) -> str:
    """The apostrophe `neutralised` put in front is not part of the value."""
    if cell.startswith("'") and cell[1:].startswith((*FORMULA_START, "'")):
        return cell[1:]
    return cell


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
    return _missing_columns(table.file, table.header, required)


def _missing_columns(file: str, header: tuple[str, ...], required: Iterable[str]) -> list[Problem]:
    return [
        Problem(file, 1, column, None, f"the sheet has no {column} column")
        for column in required
        if column not in header
    ]


def day_first_for(text: str, dayfirst: bool | None) -> bool:
    """Whether to read day before month in `text`: never when it starts with a four-digit year
    (2026-12-01 is the first of December for everyone; dateutil would read 12 January)."""
    return bool(dayfirst) and not re.match(r"\s*\d{4}\s*[-/.]", text)


_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})\s*([/.-])\s*(\d{1,2})\s*\2\s*(\d{2}|\d{4})\b")


def two_readings(text: str) -> tuple[date, date] | None:
    """Both dates a numeric date like 03/12/2026 stands for (3 December, 12 March), or None
    when it reads one way only."""
    match = _NUMERIC_DATE.match(text)
    if not match:
        return None
    first, second, year = int(match.group(1)), int(match.group(3)), int(match.group(4))
    if first == second or first > 12 or second > 12:
        return None
    year += 2000 if year < 100 else 0
    try:
        return date(year, second, first), date(year, first, second)
    except ValueError:
        return None


def ambiguity(text: str) -> str:
    """Why a date cannot be read when the workspace does not say which comes first."""
    readings = two_readings(text)
    if readings is None:
        return ""
    day_first, month_first = (f"{d:%-d %B %Y}" for d in readings)
    return (
        f"reads two ways ({day_first} or {month_first}); write it as "
        f"{readings[0].isoformat()}, or set dayfirst in backoffice.toml"
    )


_PLAIN_NUMERIC_DATE = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})")


def parse_date(value: str, *, dayfirst: bool | None) -> date:
    """A date as people write it. With `dayfirst` unset (None), a date that reads two ways is
    refused rather than guessed."""
    text = value.strip()
    if len(text) == 10 and text[4] == "-":  # 2026-12-01, most sheets' every row
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    return _written_date(text, dayfirst)


@lru_cache(maxsize=8192)
def _written_date(text: str, dayfirst: bool | None) -> date:
    """Any other way of writing a date. A sheet repeats its dates, so each spelling is read
    once; a date that cannot be read raises each time, which is not remembered."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    expected = "not a date; expected a date like 2026-12-01"
    if not text or not re.search(r"\d", text):
        raise ValueError(expected)
    if dayfirst is None and ambiguity(text):
        raise ValueError(ambiguity(text))
    numeric = _PLAIN_NUMERIC_DATE.fullmatch(text)
    if numeric:
        return _numeric_date(numeric, bool(dayfirst), expected)
    return _dateutil_date(text, day_first_for(text, dayfirst), expected)


def _numeric_date(match: re.Match[str], dayfirst: bool, expected: str) -> date:
    """03/12/2026 in the workspace's order, without dateutil (two parser runs per row were most
    of a sheet's parse). Like dateutil, the other order is taken when the first cannot be a
    month: 31/12/2026 is the 31st of December whichever order the workspace uses."""
    first, second, year = int(match.group(1)), int(match.group(3)), int(match.group(4))
    day, month = (first, second) if dayfirst else (second, first)
    if month > 12 >= day:
        day, month = month, day
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(expected) from None


def _dateutil_date(text: str, dayfirst: bool, expected: str) -> date:
    """Dates written in words ("1 Dec 2026", "Dec 1, 2026"), through dateutil."""
    # Two different defaults expose any part the text did not give (day, month or year).
    try:
        first = date_parser.parse(text, dayfirst=dayfirst, default=datetime(2000, 1, 1))
        second = date_parser.parse(text, dayfirst=dayfirst, default=datetime(2001, 2, 2))
    except (ValueError, OverflowError):
        raise ValueError(expected) from None
    if first.date() != second.date():
        raise ValueError(expected)
    return first.date()


_WORD_NOISE = re.compile(r"[\s_\-.,!'\"]+")


def _folded(word: str) -> str:
    return _WORD_NOISE.sub("", word).casefold()


def word_in(value: str, words: Mapping[str, Iterable[str]]) -> str | None:
    """The word a cell means among `words` (canonical -> other spellings), whatever its case,
    spacing and punctuation ("Canceled", " CANCELLED. " -> "cancelled"); None when unknown."""
    wanted = _folded(value)
    for canonical, spellings in words.items():
        if wanted in {_folded(word) for word in (canonical, *spellings)}:
            return canonical
    return None


def parse_int(value: str, *, minimum: int = 0) -> int:
    text = value.strip()
    if not re.fullmatch(r"[+-]?\d+", text) or int(text) < minimum:
        raise ValueError(f"{value!r} is not a whole number of at least {minimum}")
    return int(text)


def is_email(value: str) -> bool:
    return bool(_EMAIL.fullmatch(value))


def is_slack_user(value: str) -> bool:
    return bool(_SLACK_USER.fullmatch(value))


def is_slack_channel(value: str) -> bool:
    """A Slack channel or group id (C…, G…), where staff alerts may go."""
    return bool(_SLACK_CHANNEL.fullmatch(value))


def column_index(header: Iterable[str], column: str) -> int:
    """Where `column` is in a header row, matched as people write headers."""
    names = [normalise_header(name) for name in header]
    wanted = normalise_header(column)
    if wanted not in names:
        raise KeyError(f"the sheet has no column {column!r}")
    return names.index(wanted)


class RowReport:
    """Collects the problems of one row, each naming the row's line, column and value."""

    __slots__ = ("file", "problems", "row")

    def __init__(self, file: str, row: RawRow, problems: list[Problem]) -> None:
        self.file = file
        self.row = row
        self.problems = problems

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
    return _parse_rows(table.file, table.header, table.rows, required, id_column, parse)


def parse_sheet(
    body: bytes,
    file: str,
    required: Iterable[str],
    id_column: str,
    parse: Callable[[RawRow, RowReport], T | None],
) -> tuple[list[T], list[Problem]]:
    """`read_sheet` and then `parse_table`, with the same rows and problems, but a row at a
    time: each row is parsed while it is fresh from the reader, and the sheet's rows are never
    held all at once. On a 100k-row sheet that is a third less time (the rows are not read back
    cold from memory) and a third less memory."""
    text, problems = decode_lines(body, file)
    lines, header = _header(text, file)
    parsed, found = _parse_rows(file, header, _rows(lines, header), required, id_column, parse)
    return parsed, [*problems, *lines.problems, *found]


def _parse_rows(
    file: str,
    header: tuple[str, ...],
    rows: Iterable[RawRow],
    required: Iterable[str],
    id_column: str,
    parse: Callable[[RawRow, RowReport], T | None],
) -> tuple[list[T], list[Problem]]:
    problems = _missing_columns(file, header, required)
    if problems:
        for _ in rows:  # read to the end all the same: the reader's own problems are reported
            pass
        return [], problems
    parsed_rows: list[T] = []
    first_line: dict[str, int] = {}
    report = RowReport(file, RawRow(1, {}), problems)
    for row in rows:
        report.row = row  # one report, moved from row to row: this runs per row
        row_id = row.values.get(id_column, "")
        # One lookup in the ids seen, not two: on a big sheet each is a miss in the CPU's cache.
        first = first_line.setdefault(row_id, row.line) if row_id else 0
        if not row_id:
            report(id_column, f"missing {id_column}; this row is skipped")
        elif first != row.line:
            report(
                id_column,
                f"duplicate {id_column}, first used on line {first}; this row is skipped",
            )
        else:
            parsed = parse(row, report)
            if parsed is None:
                del first_line[row_id]  # a skipped row does not take its id
            else:
                parsed_rows.append(parsed)
    return parsed_rows, problems
