"""Goal rules: what a target may be, and progress with a forecast from the trend so far."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from partnerloop.goal.rules import Target, parse_target, progress, relative_problem, resolved_target, window_problem

START = datetime(2026, 1, 1, tzinfo=UTC)
END = START + timedelta(days=100)


@pytest.mark.parametrize(
    ("metric", "raw", "expected"),
    [
        pytest.param(
            "new_customers",
            {"relative_pct": 25},
            Target(relative_pct=Decimal(25)),
            id="25 percent more new customers is relative",
        ),
        pytest.param("lead_to_sale_rate", 0.15, Target(value=Decimal("0.15")), id="a 15 percent rate is 0.15"),
        pytest.param("revenue", 1_000_000, Target(value=Decimal(1_000_000)), id="revenue in minor units"),
        pytest.param("revenue", 0, "target", id="a zero target is refused"),
        pytest.param("sales", -5, "target", id="a negative target is refused"),
        pytest.param("conversion_rate", 15, "target", id="a rate over one is refused (15 percent is 0.15)"),
        pytest.param("sales", 2.5, "target", id="a count target is whole"),
        pytest.param("sales", "many", "target", id="a word is not a target"),
        pytest.param("sales", True, "target", id="a boolean is not a target"),
        pytest.param("sales", {"relative_pct": 0}, "target.relative_pct", id="zero percent more is refused"),
        pytest.param("sales", {"relative_pct": -10}, "target.relative_pct", id="a decrease is refused"),
        pytest.param("sales", {"percent": 10}, "target", id="an unknown relative key is refused"),
        pytest.param("happiness", 10, "metric", id="an unknown metric is refused"),
    ],
)
def test_parse_target(metric: str, raw: object, expected: Target | str) -> None:
    parsed = parse_target(metric, raw)
    if isinstance(expected, str):
        assert isinstance(parsed, tuple) and parsed[0] == expected
    else:
        assert parsed == expected


def test_windows_must_end_after_they_start_and_span_at_most_five_years() -> None:
    assert window_problem(START, START)[0] == "end"  # type: ignore[index]
    assert window_problem(START, START + timedelta(days=6 * 366))[0] == "end"  # type: ignore[index]
    assert window_problem(START, END) is None


def test_a_relative_target_is_the_baseline_raised_and_refused_over_nothing() -> None:
    relative = Target(relative_pct=Decimal(25))
    assert resolved_target(relative, Decimal(40)) == Decimal(50)
    assert resolved_target(relative, Decimal(66), "new_customers") == Decimal(83)  # a whole customer more
    assert resolved_target(relative, Decimal("0.1"), "conversion_rate") == Decimal("0.125")
    assert resolved_target(Target(value=Decimal(7)), None) == Decimal(7)
    assert relative_problem(relative, "new_customers", Decimal(0))[0] == "target"  # type: ignore[index]
    assert relative_problem(relative, "new_customers", Decimal(4)) is None


@pytest.mark.parametrize(
    ("metric", "current", "target", "now", "forecast", "on_track", "reached"),
    [
        pytest.param(
            "new_customers",
            30,
            50,
            START + timedelta(days=50),
            60,
            True,
            False,
            id="a sum halfway at 30 forecasts 60 and is on track for 50",
        ),
        pytest.param(
            "new_customers",
            20,
            50,
            START + timedelta(days=50),
            40,
            False,
            False,
            id="a sum halfway at 20 forecasts 40 and is behind",
        ),
        pytest.param(
            "revenue",
            50,
            50,
            START + timedelta(days=10),
            500,
            True,
            True,
            id="a sum is reached as soon as it reaches the target",
        ),
        pytest.param(
            "sales", 0, 5, START - timedelta(days=1), None, None, False, id="before the start there is no forecast"
        ),
        pytest.param(
            "lead_to_sale_rate",
            Decimal("0.2"),
            Decimal("0.15"),
            START + timedelta(days=50),
            Decimal("0.2"),
            True,
            False,
            id="a rate above target midway is on track but not reached before the end",
        ),
        pytest.param(
            "lead_to_sale_rate",
            Decimal("0.2"),
            Decimal("0.15"),
            END,
            Decimal("0.2"),
            True,
            True,
            id="a rate at or above target at the end is reached",
        ),
        pytest.param(
            "conversion_rate",
            Decimal("0.1"),
            Decimal("0.15"),
            END + timedelta(days=3),
            Decimal("0.1"),
            False,
            False,
            id="a rate below target at the end is missed",
        ),
        pytest.param(
            "active_partners",
            8,
            10,
            START + timedelta(days=20),
            8,
            False,
            False,
            id="active partners forecast the count so far",
        ),
    ],
)
def test_progress(
    metric: str, current: object, target: object, now: datetime, forecast: object, on_track: bool | None, reached: bool
) -> None:
    at = progress(metric, Decimal(str(current)), Decimal(str(target)), START, END, now)
    assert at.forecast == (None if forecast is None else Decimal(str(forecast)))
    assert at.on_track is on_track
    assert at.reached is reached
    assert at.ratio == round(Decimal(str(current)) / Decimal(str(target)), 4)
