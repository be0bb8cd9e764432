"""The server-rendered charts: both axes with labelled ticks, a title, a unit, a description, an empty state."""

from __future__ import annotations

import re
from datetime import date, timedelta
from xml.etree import ElementTree

import pytest

from partnerloop.kit.money import display_money
from partnerloop.web.charts import bar_chart_svg, comparison_chart_svg, daily_series, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"
APRIL = date(2026, 4, 1)


def _texts(svg: str) -> list[str]:
    root = ElementTree.fromstring(svg)
    return [element.text or "" for element in root.iter(f"{SVG}text")]


def test_a_bar_chart_has_labelled_axes_a_unit_a_title_and_a_description() -> None:
    series = daily_series([(APRIL + timedelta(days=3), 7), (APRIL + timedelta(days=20), 12)], APRIL, date(2026, 4, 30))
    svg = bar_chart_svg(series, title="Clicks per day", empty_text="No clicks in this period")
    root = ElementTree.fromstring(svg)  # well-formed, no script
    assert root.find(f"{SVG}title").text == "Clicks per day"  # type: ignore[union-attr]
    assert "1 Apr 2026 to 30 Apr 2026" in root.find(f"{SVG}desc").text  # type: ignore[union-attr,operator]
    assert "peak 12 per day" in root.attrib["aria-label"] and root.attrib["role"] == "img"
    texts = _texts(svg)
    assert "clicks per day" in texts  # the unit
    assert {"0", "5", "10", "15"} <= set(texts)  # value ticks: round numbers up to above the peak
    assert "1 Apr" in texts and "30 Apr" in texts  # date ticks at both ends
    assert len(root.findall(f"{SVG}rect")) == 2  # a bar per day with clicks
    assert "4 Apr 2026: 7" in svg  # each bar's tooltip
    assert not root.findall(f"{SVG}script") and "viewBox" not in svg  # text keeps its size at any width


def test_money_ticks_are_written_in_the_viewers_locale() -> None:
    series = [(APRIL, 123450), (APRIL + timedelta(days=1), 0)]
    svg = bar_chart_svg(
        series, title="Revenue per day", label=lambda amount: display_money(amount, "eur", "de_DE"), value_unit="EUR"
    )
    texts = _texts(svg)
    assert "EUR per day" in texts and "1.500,00\xa0€" in texts and "0,00\xa0€" in texts


@pytest.mark.parametrize(
    "series",
    [
        pytest.param(daily_series([], APRIL, date(2026, 4, 30)), id="a month of zeros"),
        pytest.param([], id="no day at all"),
    ],
)
def test_a_chart_with_nothing_to_draw_says_so(series: list[tuple[date, int]]) -> None:
    svg = bar_chart_svg(series, title="Clicks per day", empty_text="No clicks in this period")
    root = ElementTree.fromstring(svg)
    assert "No clicks in this period" in _texts(svg) and not root.findall(f"{SVG}rect")
    assert "No clicks in this period" in root.find(f"{SVG}desc").text  # type: ignore[union-attr,operator]


def test_a_comparison_chart_draws_negative_values_the_previous_period_and_an_empty_state() -> None:
    points: list[tuple[date, float | None, float | None]] = [
        (APRIL, 0.5, 0.25),
        (APRIL + timedelta(days=1), -0.2, None),  # a ratio below zero; no previous value
        (APRIL + timedelta(days=2), None, 0.75),  # no current value (a zero denominator)
        (APRIL + timedelta(days=3), 0.1, 0.5),
    ]
    svg = comparison_chart_svg(
        points, title="ROI per day", label=lambda v: "—" if v is None else f"{v:.2f}×", unit="day"
    )
    root = ElementTree.fromstring(svg)
    texts = _texts(svg)
    assert "-0.25×" in texts and "0.75×" in texts and "ROI per day" in texts  # ticks on both sides of zero, unit
    assert len(root.findall(f"{SVG}rect")) == 3 and len(re.findall('class="previous"', svg)) == 1
    assert "1 Apr 2026: 0.50× (previous period: 0.25×)" in svg
    empty = comparison_chart_svg(
        [(APRIL, None, None), (APRIL, 0.0, 0.0)], title="ROI per day", label=str, unit="day", empty_text="No ROI"
    )
    assert "No ROI" in _texts(empty)


@pytest.mark.parametrize(
    ("low", "high", "whole", "ticks"),
    [
        pytest.param(0, 12, True, [0, 5, 10, 15], id="counts tick in round steps above the peak"),
        pytest.param(0, 3, True, [0, 1, 2, 3], id="small counts tick in ones, never halves"),
        pytest.param(0, 1, True, [0, 1], id="a single click"),
        pytest.param(-0.2, 0.73, False, [-0.25, 0, 0.25, 0.5, 0.75], id="ratios below zero include zero"),
        pytest.param(0, 2500, False, [0, 1000, 2000, 3000], id="amounts"),
    ],
)  # fmt: skip
def test_nice_ticks(low: float, high: float, whole: bool, ticks: list[float]) -> None:
    assert nice_ticks(low, high, whole=whole) == ticks
