from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerloop.kit.money import (
    CurrencyMismatch,
    Money,
    UnknownCurrency,
    format_money,
    format_rate,
    normalize_currency,
    percent_of,
    prorate,
    round_half_away,
)


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        pytest.param(Fraction(5, 2), 3, id="a positive half rounds up"),
        pytest.param(Fraction(-5, 2), -3, id="a negative half rounds away from zero"),
        pytest.param(Fraction(7, 3), 2, id="a third rounds down"),
        pytest.param(Fraction(-7, 3), -2, id="a negative third rounds toward zero"),
        pytest.param(Decimal("0.5"), 1, id="a decimal half rounds up"),
        pytest.param(Decimal("-0.5"), -1, id="a negative decimal half rounds away from zero"),
        pytest.param(4, 4, id="an integer stays"),
    ],
)
def test_round_half_away(value: Fraction | Decimal | int, rounded: int) -> None:
    assert round_half_away(value) == rounded


@pytest.mark.parametrize(
    ("amount", "rate_bps", "earnings"),
    [
        pytest.param(4900, 2000, 980, id="20 percent of 49.00"),
        pytest.param(1, 5000, 1, id="half a cent rounds up to a cent"),
        pytest.param(-1, 5000, -1, id="minus half a cent rounds to minus a cent"),
        pytest.param(333, 3333, 111, id="a third of 3.33 is 1.11"),
        pytest.param(999, 1250, 125, id="12.5 percent of 9.99 is 1.24875 rounded to 1.25"),
    ],
)
def test_percent_of(amount: int, rate_bps: int, earnings: int) -> None:
    assert percent_of(amount, rate_bps) == earnings


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=1, max_value=10**9))
def test_prorate_of_the_whole_is_the_amount(amount: int, whole: int) -> None:
    assert prorate(amount, whole, whole) == amount


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        pytest.param(4900, "usd", "49.00 USD", id="dollars with cents"),
        pytest.param(1200, "jpy", "1200 JPY", id="yen without decimals"),
        pytest.param(1500, "kwd", "1.500 KWD", id="dinar with three decimals"),
        pytest.param(-5, "eur", "-0.05 EUR", id="a negative amount"),
    ],
)
def test_format_money(amount: int, currency: str, text: str) -> None:
    assert format_money(amount, currency) == text


def test_format_rate() -> None:
    assert [format_rate(bps) for bps in (2000, 1250, 333, 5)] == ["20%", "12.5%", "3.33%", "0.05%"]


def test_currencies_are_checked_and_lower_cased() -> None:
    assert normalize_currency("EUR") == "eur"
    with pytest.raises(UnknownCurrency):
        normalize_currency("xyz")
    with pytest.raises(UnknownCurrency):
        normalize_currency("dollars")


def test_adding_two_currencies_raises() -> None:
    assert Money(100, "usd") + Money(5, "usd") == Money(105, "usd")
    with pytest.raises(CurrencyMismatch):
        Money(100, "usd") + Money(5, "eur")
