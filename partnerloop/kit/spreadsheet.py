"""CSV cells a spreadsheet will not run (OWASP's CSV injection advice).

Excel, LibreOffice and Google Sheets read a cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return as a formula (`=HYPERLINK(...)`, `@SUM(...)`, `-2+3+cmd|' /C calc'!A0`). Every text cell
we write into a CSV goes through `safe_cell`: such text gets a leading apostrophe, which spreadsheets
show as text and do not keep. Plain numbers ("-15.00", "-1500") stay numbers.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def safe_cell(value: Any) -> Any:
    """The value as a CSV cell: text a spreadsheet would run as a formula is quoted with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]


class _SafeWriter:
    """csv.writer whose rows go through `safe_row`."""

    def __init__(self, out: Any, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: Any, **options: Any) -> _SafeWriter:
    """A CSV writer (csv.writer's options) that writes every cell through `safe_cell`."""
    return _SafeWriter(out, **options)
