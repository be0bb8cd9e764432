from __future__ import annotations

from datetime import date, timedelta

import pytest

from partnerloop.manage.plan_forms import (
    RuleRow,
    bonuses_with_blanks,
    readable,
    rows_from_rules,
    rules_from_form,
    with_blanks,
)
from partnerloop.manage.plan_forms_parts import BonusRow, CapsRow, TierRow, WindowRow, bonus_rows
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


# ------------------------------------------------------------------ plan forms: the parts beside the reward


def _form_of(rows: list[RuleRow], bonuses: list[BonusRow] | None = None) -> dict[str, str]:
    """The fields the plan page would post for these rows (as templates/manage/plan.html names them)."""
    form = {"name": "Plan", "rule_count": str(len(rows))}
    for i, row in enumerate(rows):
        at = f"rule-{i}-"
        form |= {
            at + "origin": "" if row.origin is None else str(row.origin),
            at + "parts": "1",
            at + "event": row.event,
        }
        form |= {at + key: getattr(row, key) for key in ("reward", "rate", "amount", "duration", "months", "name")}
        form |= {at + "tier-metric": row.tiers.metric, at + "tier-period": row.tiers.period}
        for t, level in enumerate(row.tiers.levels):
            form |= {f"{at}tier-{t}-{key}": getattr(level, key) for key in ("min", "reward", "rate", "amount")}
        for key in ("per_customer_amount", "per_period_amount", "period", "per_day_count", "per_day_amount"):
            form[f"{at}cap-{key.replace('_', '-')}"] = getattr(row.caps, key)
        form |= {at + "active-from": row.window.starts, at + "active-until": row.window.until}
    if bonuses is not None:
        form["bonus_count"] = str(len(bonuses))
        for b, bonus in enumerate(bonuses):
            form |= {
                f"bonus-{b}-{key}": getattr(bonus, key) for key in ("name", "metric", "period", "threshold", "amount")
            }
    return form


TIERED_SALE = {
    "event": "sale",
    "reward": {"type": "percent", "rate_bps": 2000},
    "duration": {"kind": "months", "months": 12},
    "tiers": {
        "metric": "revenue",
        "period": "quarter",
        "levels": [
            {"min": 0, "reward": {"type": "percent", "rate_bps": 2000}},
            {"min": 1_000_000, "reward": {"type": "percent", "rate_bps": 2500}},
            {"min": 5_000_000, "reward": {"type": "flat", "amount": 4000}},
        ],
    },
    "caps": {"per_customer_amount": 50_000, "per_period_amount": 200_000, "period": "month"},
    "active": {"from": "2026-11-27T00:00:00Z", "until": "2026-12-01T12:30:00Z"},
}
CAPPED_CLICK = {
    "event": "click",
    "reward": {"type": "flat", "amount": 5},
    "caps": {"per_day_count": 200, "per_day_amount": 1000},
}
BONUSES = [
    {"name": "Ten club", "metric": "sales_count", "period": "month", "threshold": 10, "amount": 10_000},
    {"name": "Big quarter", "metric": "revenue", "period": "quarter", "threshold": 2_500_000, "amount": 50_000},
]


def test_tiers_caps_window_and_bonuses_read_back_from_the_form_as_they_were_stored() -> None:
    rows = rows_from_rules([TIERED_SALE, CAPPED_CLICK], "usd")
    sale = rows[0]
    assert (sale.tiers.metric, sale.tiers.period) == ("revenue", "quarter")
    assert [(level.min, level.reward, level.rate, level.amount) for level in sale.tiers.levels] == [
        ("0.00", "percent", "20", ""),
        ("10000.00", "percent", "25", ""),
        ("50000.00", "flat", "", "40.00"),
    ]
    assert (sale.caps.per_customer_amount, sale.caps.per_period_amount, sale.caps.period) == (
        "500.00",
        "2000.00",
        "month",
    )
    assert (sale.window.starts, sale.window.until) == ("2026-11-27T00:00", "2026-12-01T12:30")
    assert rows[1].caps.per_day_count == "200" and rows[1].caps.per_day_amount == "10.00"
    shown = bonus_rows(BONUSES, "usd")
    assert [(row.name, row.threshold, row.amount) for row in shown] == [
        ("Ten club", "10", "100.00"),
        ("Big quarter", "25000.00", "500.00"),
    ]
    parsed = rules_from_form(
        _form_of(with_blanks(rows), bonuses_with_blanks(shown)), [TIERED_SALE, CAPPED_CLICK], "usd"
    )
    assert parsed.problems == []
    assert parsed.rules == [TIERED_SALE, CAPPED_CLICK]
    assert parsed.bonuses == BONUSES


def test_tiers_caps_window_and_a_bonus_are_added_and_removed_in_the_form() -> None:
    stored = [{"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}, "duration": {"kind": "one_time"}}]
    rows = with_blanks(rows_from_rules(stored, "usd"))[:1]
    rows[0].tiers.levels = [TierRow("10", "percent", "30", "")]
    rows[0].caps = CapsRow(per_period_amount="100", period="year")
    rows[0].window = WindowRow(starts="2026-12-24T18:00+01:00")
    form = _form_of(rows, [BonusRow("Five", "sales_count", "month", "5", "25")])
    parsed = rules_from_form(form, stored, "usd")
    assert parsed.problems == []
    assert parsed.rules[0]["tiers"] == {
        "metric": "sales_count",
        "period": "month",
        "levels": [{"min": 10, "reward": {"type": "percent", "rate_bps": 3000}}],
    }
    assert parsed.rules[0]["caps"] == {"per_period_amount": 10_000, "period": "year"}
    assert parsed.rules[0]["active"] == {"from": "2026-12-24T17:00:00Z"}  # a written zone is kept; UTC otherwise
    assert parsed.bonuses == [
        {"name": "Five", "metric": "sales_count", "period": "month", "threshold": 5, "amount": 2500}
    ]
    emptied = rules_from_form(_form_of(rows_from_rules(stored, "usd"), []), [parsed.rules[0]], "usd")
    assert emptied.rules == stored and emptied.bonuses == []
    removed = {**form, "bonus-0-remove": "1"}
    assert rules_from_form(removed, stored, "usd").bonuses == []


def test_a_form_without_the_parts_keeps_a_stored_rules_tiers_caps_window_and_the_bonuses() -> None:
    form = {"name": "Plan", "rule_count": "1", "rule-0-origin": "0", "rule-0-event": "sale"}
    form |= {"rule-0-reward": "percent", "rule-0-rate": "20", "rule-0-duration": "months", "rule-0-months": "12"}
    parsed = rules_from_form(form, [TIERED_SALE], "usd")
    assert parsed.problems == [] and parsed.rules == [TIERED_SALE]
    assert parsed.bonuses is None  # the plan's bonuses stay as they are


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"rule-0-tier-0-rate": "30"}, "Rule 1, tier 1: give the threshold the tier starts from (0 for the first)."),
        ({"rule-0-tier-0-min": "ten", "rule-0-tier-0-rate": "30"}, "Rule 1, tier 1: 'ten' is not a whole number."),
        ({"rule-0-tier-0-min": "5", "rule-0-tier-0-rate": "300"}, "Rule 1, tier 1: A percentage is more than 0"),
        ({"rule-0-cap-per-customer-amount": "lots"}, "Rule 1, cap per customer amount: 'lots' is not an amount"),
        ({"rule-0-active-from": "next week"}, "Rule 1, active from: 'next week' is not a time"),
        ({"bonus_count": "1", "bonus-0-threshold": "3", "bonus-0-amount": "5"}, "Bonus 1: give the bonus a name."),
        (
            {"bonus_count": "1", "bonus-0-name": "X", "bonus-0-amount": "5"},
            "Bonus 1 (X), threshold: give the threshold.",
        ),
    ],
    ids=[
        "a tier without its threshold",
        "a tier threshold that is not a number",
        "a tier percent over 100",
        "a cap that is not an amount",
        "a window end that is not a time",
        "a bonus without a name",
        "a bonus without a threshold",
    ],
)
def test_bad_parts_are_problems_naming_the_rule_or_bonus_and_field(fields: dict[str, str], problem: str) -> None:
    form = {"name": "Plan", "rule_count": "1", "rule-0-origin": "", "rule-0-parts": "1", "rule-0-rate": "20"}
    parsed = rules_from_form({**form, **fields}, [], "usd")
    assert any(found.startswith(problem) for found in parsed.problems), parsed.problems


def test_a_lead_rule_ignores_the_sale_only_fields_and_the_caps_that_do_not_fit_it() -> None:
    form = {"name": "Plan", "rule_count": "2", "rule-0-origin": "", "rule-0-parts": "1", "rule-0-event": "lead"}
    form |= {"rule-0-reward": "percent", "rule-0-rate": "20", "rule-0-amount": "5.00", "rule-0-duration": "months"}
    form |= {"rule-0-months": "", "rule-0-cap-per-day-count": "9", "rule-0-cap-per-customer-amount": "20"}
    form |= {
        "rule-0-tier-0-min": "10",
        "rule-0-tier-0-reward": "percent",
        "rule-0-tier-0-rate": "30",
        "rule-0-tier-0-amount": "8",
    }
    form |= {"rule-1-origin": "", "rule-1-parts": "1", "rule-1-event": "click", "rule-1-amount": "0.10"}
    form |= {"rule-1-cap-per-customer-amount": "20", "rule-1-cap-per-day-count": "100"}
    parsed = rules_from_form(form, [], "usd")
    assert parsed.problems == []
    assert parsed.rules == [
        {
            "event": "lead",
            "reward": {"type": "flat", "amount": 500},
            "tiers": {
                "metric": "sales_count",
                "period": "month",
                "levels": [{"min": 10, "reward": {"type": "flat", "amount": 800}}],
            },
            "caps": {"per_customer_amount": 2000},
        },
        {"event": "click", "reward": {"type": "flat", "amount": 10}, "caps": {"per_day_count": 100}},
    ]
    no_amount = rules_from_form({**form, "rule-0-amount": ""}, [], "usd")
    assert no_amount.problems == [
        "Rule 1: a lead rule pays a fixed amount: give the amount (a percent applies to sales only)."
    ]


def test_a_new_sale_rule_starts_recurring_for_12_months_and_an_existing_rule_keeps_its_duration() -> None:
    blank = with_blanks([])[-1]
    assert (blank.event, blank.duration, blank.months) == ("sale", "months", "12")
    new = rules_from_form({"name": "P", "rule_count": "1", "rule-0-origin": "", "rule-0-rate": "20"}, [], "usd")
    assert new.rules[0]["duration"] == {"kind": "months", "months": 12}
    stored = [{"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}, "duration": {"kind": "one_time"}}]
    row = rows_from_rules(stored, "usd")[0]
    assert (row.duration, row.months) == ("one_time", "")
    assert rules_from_form(_form_of([row]), stored, "usd").rules == stored


def test_engine_messages_name_tiers_and_bonuses_from_one() -> None:
    message = "rules[0].tiers.levels[1]: min 10 overlaps levels[0].min 10 (tier minimums must increase)"
    assert readable(message) == "Rule 1 › tier 2: min 10 overlaps tier 1's min 10 (tier minimums must increase)"
    assert (
        readable("bonuses[1]: name 'A' is used by bonuses[0] already") == "Bonus 2: name 'A' is used by Bonus 1 already"
    )
    assert (
        readable("bonuses.0.amount: Input should be greater than 0")
        == "Bonus 1 › amount: Input should be greater than 0"
    )
