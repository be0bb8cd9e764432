"""Exchange-rate arithmetic and CSV reading as tables."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from partnerloop.fx.rules import (
    RateRow,
    convert,
    cross_rate,
    parse_csv,
    parse_ecb_xml,
    parse_rate,
    rate_text,
    rate_value,
)

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


# ---------------------------------------------------------------- the ECB's daily file and cross rates

ECB_FILE = (
    "<?xml version='1.0' encoding='UTF-8'?>"
    "<gesmes:Envelope xmlns:gesmes='http://www.gesmes.org/xml/2002-08-01' "
    "xmlns='http://www.ecb.int/vocabulary/2002-08-01/eurofxref'><gesmes:subject>Reference rates</gesmes:subject>"
    "<Cube><Cube time='{day}'>{cubes}</Cube></Cube></gesmes:Envelope>"
)


def ecb_file(cubes: str, day: str = "2024-06-28") -> bytes:
    return ECB_FILE.format(day=day, cubes=cubes).encode()


def test_the_ecb_file_gives_its_day_and_euro_rates_exactly() -> None:
    rates = parse_ecb_xml(ecb_file("<Cube currency='USD' rate='1.0705'/><Cube currency='HUF' rate='395.10'/>"))
    assert rates.day == date(2024, 6, 28)
    assert [(row.base, row.quote, row.rate) for row in rates.rows] == [
        ("eur", "usd", "1.0705"),
        ("eur", "huf", "395.1"),
    ]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        pytest.param(b"<html>Service unavailable</html", "not XML", id="not XML"),
        pytest.param(ecb_file("<Cube currency='USD' rate='1.07'/>", day="28/06/2024"), "YYYY-MM-DD", id="a bad day"),
        pytest.param(ecb_file("<Cube currency='USD' rate='-1'/>"), "USD: rate -1", id="a negative rate"),
        pytest.param(ecb_file(""), "no rates", id="a day without rates"),
        pytest.param(b"<Envelope/>", "0 days", id="some other XML"),
    ],
)
def test_a_file_that_is_not_the_ecbs_is_refused_whole(body: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_ecb_xml(body)


def test_an_unknown_currency_in_the_ecb_file_is_left_out() -> None:
    rates = parse_ecb_xml(ecb_file("<Cube currency='XYZ' rate='2'/><Cube currency='JPY' rate='171.94'/>"))
    assert [row.quote for row in rates.rows] == ["jpy"]


@pytest.mark.parametrize(
    ("eur_to_base", "eur_to_quote", "text", "amount", "base", "quote", "converted"),
    [
        pytest.param("171.94", "1.0705", "1.0705/171.94", 15_000, "jpy", "usd", 9_339, id="yen to dollars exactly"),
        pytest.param("1.0705", "171.94", "171.94/1.0705", 4_900, "usd", "jpy", 7_870, id="dollars to yen"),
        pytest.param("0.84638", "1.0705", "1.0705/0.84638", 100, "gbp", "usd", 126, id="pounds to dollars"),
    ],
)
def test_a_cross_rate_through_the_euro_converts_exactly(
    eur_to_base: str, eur_to_quote: str, text: str, amount: int, base: str, quote: str, converted: int
) -> None:
    assert cross_rate(eur_to_base, eur_to_quote) == text
    assert convert(amount, base, quote, text) == converted
    assert rate_value(text) == Fraction(Decimal(eur_to_quote)) / Fraction(Decimal(eur_to_base))


def test_a_cross_rate_too_long_for_the_column_is_rounded_to_the_kept_decimals() -> None:
    text = cross_rate("1.123456789012345678", "2.123456789012345678")
    assert len(text) <= 40 and "/" not in text and text.startswith("1.89010989")
