"""Every report figure is a pure function of a window's counts; zero denominators give None."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from partnerloop.report import metrics
from partnerloop.report.metrics import METRICS, Figures, figures_out
from partnerloop.report.rules import Window, bucket_starts, bucketed_figures, metric_problem, window_problem

SOME = Figures(clicks=200, unique_clicks=150, bot_clicks=20, leads=30, sales=12, new_customers=9,
               revenue_amount=120_000, refunds_amount=20_000, commissions_amount=25_000)  # fmt: skip
NOTHING = Figures()


@pytest.mark.parametrize(
    ("function", "figures", "expected"),
    [
        pytest.param(metrics.conversion_rate, SOME, 0.06, id="conversion rate is new customers over unique clicks"),
        pytest.param(metrics.conversion_rate, NOTHING, None, id="conversion rate without unique clicks is null"),
        pytest.param(metrics.lead_to_sale_rate, SOME, 0.3, id="lead-to-sale rate is new customers over leads"),
        pytest.param(metrics.lead_to_sale_rate, NOTHING, None, id="lead-to-sale rate without leads is null"),
        pytest.param(metrics.epc_amount, SOME, 125, id="EPC is commissions over all clicks in minor units"),
        pytest.param(metrics.epc_amount, Figures(clicks=3, commissions_amount=100), 33, id="EPC rounds once"),
        pytest.param(metrics.epc_amount, Figures(clicks=2, commissions_amount=1), 1, id="EPC rounds halves away"),
        pytest.param(metrics.epc_amount, NOTHING, None, id="EPC without clicks is null"),
        pytest.param(metrics.cpa_amount, SOME, 2778, id="CPA is commissions over new customers"),
        pytest.param(metrics.cpa_amount, Figures(commissions_amount=500), None, id="CPA without customers is null"),
        pytest.param(metrics.roi, SOME, 3.0, id="ROI is net revenue less commissions over commissions"),
        pytest.param(
            metrics.roi,
            Figures(revenue_amount=1000, refunds_amount=1000, commissions_amount=100),
            -1.0,
            id="ROI of fully refunded sales is minus one",
        ),
        pytest.param(metrics.roi, Figures(revenue_amount=1000), None, id="ROI without commissions is null"),
        pytest.param(metrics.refund_rate, SOME, 0.1667, id="refund rate is refunded over sold, to 4 places"),
        pytest.param(metrics.bot_share, SOME, 0.1, id="bot share is bot clicks over clicks"),
        pytest.param(metrics.average_value_amount, SOME, 11111, id="average value is net revenue per new customer"),
        pytest.param(metrics.commission_share, SOME, 0.25, id="commission share is commissions over net revenue"),
        pytest.param(metrics.commission_share, NOTHING, None, id="commission share without revenue is null"),
    ],
)
def test_metric(function: object, figures: Figures, expected: object) -> None:
    assert function(figures) == expected  # type: ignore[operator]


def test_an_empty_window_is_zeros_and_nulls_never_nan() -> None:
    out = figures_out(NOTHING)
    assert {key for key, value in out.items() if value is None} == {
        "conversion_rate", "lead_to_sale_rate", "epc_amount", "cpa_amount", "roi", "refund_rate", "bot_share",
        "average_value_amount", "commission_share"}  # fmt: skip
    assert all(value == 0 for value in out.values() if value is not None)
    for metric in METRICS.values():
        value = metric.value(NOTHING)
        assert value is None or value == 0, metric.name


def test_every_metric_has_a_definition_in_docs() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "metrics.md").read_text()
    for metric in METRICS.values():
        assert f"`{metric.name}`" in text, metric.name
        assert metric.definition


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        pytest.param(
            datetime(2026, 1, 2, tzinfo=UTC),
            datetime(2026, 1, 1, tzinfo=UTC),
            "to",
            id="a window ending before it starts names to",
        ),
        pytest.param(
            datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC), "to", id="an empty window names to"
        ),
        pytest.param(
            datetime(2020, 1, 1, tzinfo=UTC),
            datetime(2026, 1, 2, tzinfo=UTC),
            "to",
            id="a window over five years names to",
        ),
        pytest.param(
            datetime(2021, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC), None, id="five years is allowed"
        ),
    ],
)
def test_window_problem(start: datetime, end: datetime, expected: str | None) -> None:
    problem = window_problem(start, end)
    assert (problem[0] if problem else None) == expected


def test_unknown_metric_names_the_field() -> None:
    assert metric_problem("revenue") is None
    problem = metric_problem("happiness")
    assert problem is not None and problem[0] == "metric"


@pytest.mark.parametrize(
    ("interval", "first", "last", "expected"),
    [
        pytest.param(
            "day",
            date(2026, 3, 30),
            date(2026, 4, 1),
            [date(2026, 3, 30), date(2026, 3, 31), date(2026, 4, 1)],
            id="days are every day",
        ),
        pytest.param(
            "week",
            date(2026, 4, 1),
            date(2026, 4, 13),
            [date(2026, 3, 30), date(2026, 4, 6), date(2026, 4, 13)],
            id="weeks start on Monday",
        ),
        pytest.param(
            "month",
            date(2026, 1, 31),
            date(2026, 3, 1),
            [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)],
            id="months start on the first",
        ),
        pytest.param(
            "month",
            date(2025, 12, 15),
            date(2026, 1, 15),
            [date(2025, 12, 1), date(2026, 1, 1)],
            id="months cross the year",
        ),
    ],
)
def test_bucket_starts(interval: str, first: date, last: date, expected: list[date]) -> None:
    assert bucket_starts(first, last, interval) == expected


def test_buckets_sum_their_days_and_keep_empty_buckets() -> None:
    daily = {
        date(2026, 4, 1): Figures(clicks=2),
        date(2026, 4, 2): Figures(clicks=3),
        date(2026, 4, 20): Figures(sales=1),
    }
    buckets = bucketed_figures(daily, date(2026, 4, 1), date(2026, 4, 20), "week")
    assert [(start.isoformat(), figures.clicks, figures.sales) for start, figures in buckets] == [
        ("2026-03-30", 5, 0), ("2026-04-06", 0, 0), ("2026-04-13", 0, 0), ("2026-04-20", 0, 1)]  # fmt: skip


def test_previous_window_has_the_same_length() -> None:
    window = Window(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 4, 11, tzinfo=UTC))
    assert window.previous() == Window(datetime(2026, 3, 22, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    assert window.last_day == date(2026, 4, 10)


def test_adding_figures_adds_every_field() -> None:
    from dataclasses import fields

    names = [field.name for field in fields(Figures)]
    one = Figures(**{name: index + 1 for index, name in enumerate(names)})
    other = Figures(**{name: 100 * (index + 1) for index, name in enumerate(names)})
    assert one + other == Figures(**{name: 101 * (index + 1) for index, name in enumerate(names)})


@pytest.mark.parametrize(
    ("net_revenue", "cost", "text"),
    [
        pytest.param(150_00, 30_00, "4.00×", id="net revenue four times over the commissions"),
        pytest.param(100_00, 300_00, "-0.67×", id="commissions above the revenue lose money"),
        pytest.param(100_00, 0, "—", id="no commissions, no ROI"),
        pytest.param(10_000_00, 3_00, "3332.33×", id="a cheap program"),
    ],
)  # fmt: skip
def test_roi_of_amounts_is_the_one_roi_and_reads_as_a_multiple(net_revenue: int, cost: int, text: str) -> None:
    value = metrics.roi_of(net_revenue, cost)
    assert value == metrics.roi(Figures(revenue_amount=net_revenue, commissions_amount=cost))
    assert metrics.roi_text(value) == text
