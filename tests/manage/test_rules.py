from __future__ import annotations

from datetime import date, timedelta

import pytest

from partnerloop.manage.plan_forms import readable
from partnerloop.manage.rules import (
    Period,
    Totals,
    change_text,
    kpis,
    parse_amount,
    parse_percent_bps,
    parse_period,
    percent_text,
)
from partnerloop.web.charts import bucketed

TODAY = date(2026, 11, 20)


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        (150, 100, ("+50.0%", "up")),
        (50, 100, ("−50.0%", "down")),
        (5, 0, ("new", "up")),
        (0, 0, ("–", "flat")),
        (7, 7, ("0.0%", "flat")),
    ],
    ids=["a rise", "a fall", "from nothing", "nothing either time", "unchanged"],
)
def test_change_against_the_previous_period(current: int, previous: int, expected: tuple[str, str]) -> None:
    assert change_text(current, previous) == expected


def test_kpis_derive_conversion_epc_cpa_and_roi() -> None:
    now = Totals(clicks=400, leads=40, sales=10, revenue=100_000, commissions=20_000)
    before = Totals(clicks=200, leads=20, sales=10, revenue=50_000, commissions=25_000)
    figures = {kpi.name: kpi for kpi in kpis(now, before, "usd")}
    assert figures["Sales per click"].value == "2.5%" and figures["Sales per click"].previous == "5.0%"
    assert figures["EPC (earnings per click)"].value == "0.50 USD"
    assert figures["Commission per sale"].value == "20.00 USD" and figures["Commission per sale"].good is True
    assert figures["ROI"].value == "4.00×" and figures["ROI"].previous == "1.00×"  # report/metrics.py's, as reports
    assert figures["ROI"].change == "+300.0%" and figures["ROI"].good is True
    assert figures["ROI"].definition == "(Net revenue − commissions) ÷ commissions."
    assert figures["Clicks"].change == "+100.0%" and figures["Clicks"].good is True
    empty = {kpi.name: kpi for kpi in kpis(Totals(), Totals(), "usd")}
    assert empty["Sales per click"].value == "–" and empty["ROI"].value == "—"


@pytest.mark.parametrize(
    ("days", "start", "end", "expected", "error"),
    [
        (None, None, None, Period(TODAY - timedelta(days=29), TODAY), None),
        ("7", None, None, Period(TODAY - timedelta(days=6), TODAY), None),
        (None, "2026-01-01", "2026-01-31", Period(date(2026, 1, 1), date(2026, 1, 31)), None),
        ("0", None, None, Period(TODAY - timedelta(days=29), TODAY), "between 1 and 3660"),
        (None, "2026-02-30", None, Period(TODAY - timedelta(days=29), TODAY), "YYYY-MM-DD"),
        (None, "2026-03-01", "2026-02-01", Period(TODAY - timedelta(days=29), TODAY), "ends before"),
    ],
    ids=[
        "default: the last 30 days",
        "the last 7 days",
        "chosen dates",
        "zero days",
        "a date that is not",
        "backwards",
    ],
)
def test_periods(days: str | None, start: str | None, end: str | None, expected: Period, error: str | None) -> None:
    period, message = parse_period(days, start, end, TODAY)
    assert period == expected
    assert (message is None) if error is None else (message is not None and error in message)


def test_the_previous_period_has_the_same_length_just_before() -> None:
    assert Period(date(2026, 3, 1), date(2026, 3, 31)).previous() == Period(date(2026, 1, 29), date(2026, 2, 28))


@pytest.mark.parametrize(
    ("text", "bps"),
    [("20", 2000), ("12.5", 1250), ("0.25", 25), ("100%", 10_000)],
    ids=["whole", "a half", "a quarter of a percent", "with a percent sign"],
)
def test_percentages_from_a_form(text: str, bps: int) -> None:
    assert parse_percent_bps(text) == bps
    assert parse_percent_bps(percent_text(bps)) == bps


@pytest.mark.parametrize(
    "text", ["", "abc", "0", "101", "12.345"], ids=["empty", "words", "zero", "over 100", "3 decimals"]
)
def test_bad_percentages_are_refused_with_a_sentence(text: str) -> None:
    with pytest.raises(ValueError, match=r"\w+"):
        parse_percent_bps(text)


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("49.90", "usd", 4990), ("1,000", "usd", 100_000), ("500", "jpy", 500), ("1.234", "kwd", 1234)],
    ids=["cents", "thousands separator", "no minor unit", "three decimals"],
)
def test_amounts_from_a_form(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(("text", "currency"), [("1.5", "jpy"), ("9.999", "usd"), ("ten", "usd"), ("inf", "usd")])
def test_bad_amounts_are_refused(text: str, currency: str) -> None:
    with pytest.raises(ValueError, match=r"\w+"):
        parse_amount(text, currency)


def test_long_series_are_summed_into_weeks_then_months() -> None:
    days = [(date(2026, 1, 1) + timedelta(days=offset), 1) for offset in range(365)]
    weeks, unit = bucketed(days)
    assert unit == "week" and sum(value for _day, value in weeks) == 365 and len(weeks) == 53
    months, unit = bucketed(days * 1, max_bars=30)
    assert unit == "month" and len(months) == 12 and months[0] == (date(2026, 1, 1), 31)
    assert bucketed(days[:30]) == (days[:30], "day")


def test_engine_messages_name_rules_from_one() -> None:
    assert readable("rules[0].conditions[1]: bad") == "Rule 1 › conditions[1]: bad"
    assert readable("rules.2.reward: bad") == "Rule 3 › reward: bad"
