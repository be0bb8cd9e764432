"""Exchange-rate arithmetic and CSV reading as tables."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from partnerloop.fx.rules import RateRow, convert, parse_csv, parse_rate, rate_text

CONVERSIONS = [
    pytest.param(4_500, "eur", "usd", "1.0841", 4_878, id="45.00 EUR at 1.0841 are 48.78 USD (48.7845 rounds down)"),
    pytest.param(4_510, "eur", "usd", "1.0841", 4_889, id="45.10 EUR at 1.0841 are 48.89 USD (48.89291 rounds down)"),
    pytest.param(1_000, "usd", "eur", "0.925", 925, id="a three-decimal rate"),
    pytest.param(50, "usd", "eur", "0.925", 46, id="46.25 cents round to 46"),
    pytest.param(10, "usd", "eur", "0.925", 9, id="9.25 cents round to 9"),
    pytest.param(2, "usd", "eur", "0.25", 1, id="half a cent rounds away from zero"),
    pytest.param(999, "jpy", "usd", "0.0067", 669, id="JPY has no minor unit: 999 yen are 6.69 USD"),
    pytest.param(4_900, "usd", "jpy", "151.37", 7_417, id="49.00 USD are 7417 yen (7417.13)"),
    pytest.param(12_345, "kwd", "usd", "3.2547", 4_018, id="KWD has three decimals: 12.345 KWD are 40.18 USD"),
    pytest.param(4_900, "usd", "kwd", "0.30725", 15_055, id="49.00 USD are 15.055 KWD (15.05525 rounds down)"),
    pytest.param(10_000, "eur", "usd", "1/0.9224", 10_841, id="an inverse rate: 100.00 / 0.9224 = 108.41"),
    pytest.param(-4_500, "eur", "usd", "1.0841", -4_878, id="a negative amount rounds symmetrically"),
]


@pytest.mark.parametrize(("amount", "source", "target", "rate", "expected"), CONVERSIONS)
def test_convert(amount: int, source: str, target: str, rate: str, expected: int) -> None:
    assert convert(amount, source, target, rate) == expected


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        pytest.param("1.0841", "1.0841", id="a plain rate is kept as written"),
        pytest.param(" 1.50000 ", "1.5", id="spaces and trailing zeros go"),
        pytest.param("150", "150", id="a whole number"),
        pytest.param("1E+2", "100", id="an exponent is written out"),
        pytest.param("0.000000000123456789", "0.000000000123456789", id="eighteen decimals are kept exactly"),
    ],
)
def test_parse_rate(text: str, parsed: str) -> None:
    rate = parse_rate(text)
    assert isinstance(rate, Decimal) and rate_text(rate) == parsed


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("abc", "is not a decimal number", id="not a number"),
        pytest.param("0", "must be a positive number", id="zero"),
        pytest.param("-1.2", "must be a positive number", id="a negative rate"),
        pytest.param("NaN", "must be a positive number", id="not a number, spelled"),
        pytest.param("Infinity", "must be a positive number", id="infinity"),
        pytest.param("0.0000000000000000001", "more digits than kept", id="nineteen decimals"),
    ],
)
def test_parse_rate_refuses(text: str, problem: str) -> None:
    result = parse_rate(text)
    assert isinstance(result, str) and problem in result


def test_a_csv_of_daily_rates_is_read_whole() -> None:
    rows, problems = parse_csv("date,base,quote,rate\n2026-01-02,EUR,USD,1.0841\n\n2026-01-03,eur,usd,1.0852\n")
    assert problems == []
    assert rows == [
        RateRow(date(2026, 1, 2), "eur", "usd", "1.0841"),
        RateRow(date(2026, 1, 3), "eur", "usd", "1.0852"),
    ]


def test_csv_columns_may_come_in_any_order() -> None:
    rows, problems = parse_csv("\ufeffRate,Quote,Base,Date\n151.37,jpy,usd,2026-01-02\n")
    assert (rows, problems) == ([RateRow(date(2026, 1, 2), "usd", "jpy", "151.37")], [])


def test_every_bad_line_is_named() -> None:
    text = (
        "date,base,quote,rate\n"
        "2026-01-02,eur,usd,1.08\n"
        "02/01/2026,eur,usd,1.08\n"
        "2026-01-03,eur,eur,1\n"
        "2026-01-04,xyz,usd,1\n"
        "2026-01-05,eur,usd,-1\n"
        "2026-01-02,EUR,usd,1.09\n"
    )
    rows, problems = parse_csv(text)
    assert rows == [RateRow(date(2026, 1, 2), "eur", "usd", "1.08")]
    assert problems == [
        "line 3: date '02/01/2026' is not YYYY-MM-DD",
        "line 4: base and quote are both EUR",
        "line 5: 'xyz' is not an ISO 4217 currency code",
        "line 6: rate -1 must be a positive number",
        "line 7: EUR/USD on 2026-01-02 is given on line 2 too",
    ]


def test_a_csv_without_the_columns_is_refused() -> None:
    rows, problems = parse_csv("day,from,to,value\n2026-01-02,eur,usd,1\n")
    assert rows == [] and problems == [
        "line 1: the header needs the columns date, base, quote, rate (missing date, base, quote, rate)"
    ]
