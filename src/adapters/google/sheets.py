"""The owner's Google Sheet as the Sheet port: one values.get per read, RAW for every write."""

from __future__ import annotations

from typing import Any

from backoffice.adapters.google.errors import execute
from backoffice.core.sheet import column_index, normalise_header


class GoogleSheet:
    """`service` is `build("sheets", "v4", ...)`; rows are keyed by the first column's id."""

    def __init__(self, service: Any, spreadsheet_id: str, tab: str) -> None:
        self.values = service.spreadsheets().values()
        self.spreadsheet_id = spreadsheet_id
        self.tab = tab

    def read(self) -> list[list[str]]:
        """Every row as the owner sees it; Google omits trailing empty cells, so rows are ragged."""
        request = self.values.get(
            spreadsheetId=self.spreadsheet_id,
            range=_quoted(self.tab),
            majorDimension="ROWS",
            valueRenderOption="FORMATTED_VALUE",
        )
        response = execute(request, "values.get", self.spreadsheet_id)
        return [[str(cell) for cell in row] for row in response.get("values", [])]

    def update_cell(self, row_id: str, column: str, value: str) -> None:
        rows = self.read()
        index = column_index(rows[0] if rows else [], column)
        for number, row in enumerate(rows[1:], start=2):
            if row and row[0] == row_id:
                cell = f"{_quoted(self.tab)}!{column_letters(index)}{number}"
                request = self.values.update(
                    spreadsheetId=self.spreadsheet_id,
                    range=cell,
                    valueInputOption="RAW",
                    body={"values": [[value]]},
                )
                execute(request, "values.update", self.spreadsheet_id)
                return
        raise KeyError(f"no row with id {row_id!r} in the sheet")

    def append(self, values: dict[str, str]) -> None:
        rows = self.read()
        header = [normalise_header(name) for name in rows[0]] if rows else []
        by_name = {normalise_header(name): value for name, value in values.items()}
        unknown = [name for name in by_name if name not in header]
        if unknown:
            raise KeyError(f"the sheet has no column {unknown[0]!r}")
        request = self.values.append(
            spreadsheetId=self.spreadsheet_id,
            range=_quoted(self.tab),
            valueInputOption="RAW",
            insertDataOption="INSERT_ROWS",
            body={"values": [[by_name.get(name, "") for name in header]]},
        )
        execute(request, "values.append", self.spreadsheet_id)


def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _quoted(tab: str) -> str:
    return "'" + tab.replace("'", "''") + "'"
