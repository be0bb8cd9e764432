from __future__ import annotations

import csv
import io

import pytest

from partnerloop.kit import spreadsheet
from partnerloop.kit.spreadsheet import safe_cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        pytest.param("=1+2", "'=1+2", id="an equals sign"),
        pytest.param("+1+2", "'+1+2", id="a plus sign"),
        pytest.param("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0", id="a minus sign (DDE)"),
        pytest.param("@SUM(A1)", "'@SUM(A1)", id="an at sign"),
        pytest.param("\t=1", "'\t=1", id="a tab"),
        pytest.param("\r=1", "'\r=1", id="a carriage return"),
        pytest.param("-15.00", "-15.00", id="a negative amount stays a number"),
        pytest.param("-1500", "-1500", id="a negative integer stays a number"),
        pytest.param("Jane = Doe", "Jane = Doe", id="a formula sign inside the text"),
        pytest.param(-1500, -1500, id="an int is left alone"),
        pytest.param("", "", id="empty"),
    ],
)
def test_safe_cell(value: object, cell: object) -> None:
    assert safe_cell(value) == cell


def test_the_writer_quotes_every_cell_it_writes() -> None:
    out = io.StringIO()
    spreadsheet.writer(out).writerows([["=a", "b"], ["c", "@d"]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["'=a", "b"], ["c", "'@d"]]
