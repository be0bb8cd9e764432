"""The pure engagement rules, as tables."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from partnerloop.engagement.markdown import render_markdown
from partnerloop.engagement.rules import (
    Member,
    Tier,
    TierFacts,
    TierRule,
    decide_moves,
    in_audience,
    ladder_problems,
    period_window,
    program_month,
    rank_partners,
    review_month_due,
    review_summary,
    rule_problems,
    should_email,
    standings_for_partner,
    tier_progress,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
BRONZE = Tier("b", "Bronze", 1, promotion=TierRule("sales", "month", 10, "s"))
SILVER = Tier(
    "s", "Silver", 2, promotion=TierRule("revenue", "quarter", 100000, "g"), demotion=TierRule("sales", "month", 3, "b")
)
GOLD = Tier("g", "Gold", 3, demotion=TierRule("revenue", "month", 20000, "s"))
LADDER = {tier.group_id: tier for tier in (BRONZE, SILVER, GOLD)}


def facts(group_id: str, since: datetime = LONG_AGO, **values: int) -> TierFacts:
    keyed = {}
    for name, value in values.items():
        metric, which, period = name.split("__")
        keyed[(metric, which, period)] = value
    return TierFacts("p1", group_id, since, keyed)


MOVES = [
    pytest.param(facts("b", sales__current__month=9), [], id="nine sales of ten: Bronze stays"),
    pytest.param(facts("b", sales__current__month=10), [("s", "promotion")], id="ten sales this month promote Bronze to Silver"),
    pytest.param(
        facts("b", sales__current__month=12, revenue__current__quarter=150000),
        [("s", "promotion"), ("g", "promotion")],
        id="far above both thresholds a partner climbs two tiers at once",
    ),
    pytest.param(facts("s", sales__previous__month=2, sales__current__month=5), [("b", "demotion")],
                 id="two sales last month, below three: Silver falls to Bronze"),
    pytest.param(facts("s", sales__previous__month=3), [], id="exactly three last month: Silver stays"),
    pytest.param(facts("s", since=datetime(2026, 11, 15, tzinfo=UTC), sales__previous__month=0), [],
                 id="in Silver since mid-November: grace, no demotion for November"),
    pytest.param(facts("s", since=datetime(2026, 11, 1, tzinfo=UTC), sales__previous__month=0), [("b", "demotion")],
                 id="in Silver all of November with no sale: demoted"),
    pytest.param(facts("g", revenue__previous__month=5000), [("s", "demotion")], id="Gold below its revenue falls one tier only"),
    pytest.param(facts("x"), [], id="a partner in a group that is no tier stays"),
]  # fmt: skip


@pytest.mark.parametrize(("partner", "expected"), MOVES)
def test_tier_moves(partner: TierFacts, expected: list[tuple[str, str]]) -> None:
    moves = decide_moves(LADDER, partner, NOW, "usd")
    assert [(move.to_group_id, move.direction) for move in moves] == expected
    for move in moves:
        assert move.reason and str(move.threshold) in move.reason.replace(",", "").replace(".00", "00")


def test_a_reason_names_the_figures_in_words() -> None:
    promote = decide_moves(LADDER, facts("s", revenue__current__quarter=123456), NOW, "usd")[0]
    assert promote.reason == (
        "Promoted to Gold: 1234.56 USD of revenue this quarter (2026-Q4) reached the threshold of 1000.00 USD of revenue."
    )
    assert promote.period_key == "2026-Q4" and promote.value == 123456


RULES = [
    pytest.param({"metric": "sales", "period": "month", "threshold": 5, "to_group_id": "s"}, [], id="a good rule"),
    pytest.param({"metric": "sales", "period": "month", "threshold": 0, "to_group_id": "s"}, ["promotion.threshold"], id="threshold zero"),
    pytest.param({"metric": "sales", "period": "month", "threshold": -1, "to_group_id": "s"}, ["promotion.threshold"], id="threshold below zero"),
    pytest.param({"metric": "sales", "period": "month", "threshold": True, "to_group_id": "s"}, ["promotion.threshold"], id="threshold a boolean"),
    pytest.param({"metric": "hugs", "period": "month", "threshold": 5, "to_group_id": "s"}, ["promotion.metric"], id="an unknown metric"),
    pytest.param({"metric": "sales", "period": "week", "threshold": 5, "to_group_id": "s"}, ["promotion.period"], id="an unknown period"),
    pytest.param({"metric": "sales", "period": "month", "threshold": 5, "to_group_id": "zz"}, ["promotion.to_group_id"], id="a missing group"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "fields"), RULES)
def test_rule_problems(rule: dict[str, object], fields: list[str]) -> None:
    assert [field for field, _sentence in rule_problems("promotion", rule, ["b", "s", "g"])] == fields


LADDERS = [
    pytest.param([BRONZE, SILVER, GOLD], [], id="bronze silver gold is a good ladder"),
    pytest.param([Tier("a", "A", None, TierRule("sales", "month", 1, "b")), Tier("b", "B", None, TierRule("sales", "month", 1, "a"))],
                 ["cycle"], id="A promotes to B and B to A: a cycle"),
    pytest.param([Tier("a", "A", None, TierRule("sales", "month", 1, "a"))], ["itself"], id="a tier promoting to itself"),
    pytest.param([Tier("a", "A", 2, TierRule("sales", "month", 1, "b")), Tier("b", "B", 1)], ["higher rank"],
                 id="a promotion to a lower rank"),
    pytest.param([Tier("a", "A", 1, demotion=TierRule("sales", "month", 1, "b")), Tier("b", "B", 2)], ["lower rank"],
                 id="a demotion to a higher rank"),
]  # fmt: skip


@pytest.mark.parametrize(("tiers", "words"), LADDERS)
def test_ladder_problems(tiers: list[Tier], words: list[str]) -> None:
    problems = ladder_problems(tiers)
    assert len(problems) >= len(words)
    for word in words:
        assert any(word in sentence for _field, sentence in problems), problems
    if not words:
        assert problems == []


def test_progress_towards_the_next_tier() -> None:
    progress = tier_progress(LADDER, "b", {("sales", "current", "month"): 4})
    assert progress is not None and (progress.next_tier_name, progress.value, progress.threshold, progress.percent) == (
        "Silver",
        4,
        10,
        40,
    )
    top = tier_progress(LADDER, "g", {})
    assert top is not None and top.next_tier_name is None


def test_ranks_share_ties_and_partners_see_others_by_their_chosen_name_only() -> None:
    ranked = rank_partners({"a": 500, "b": 900, "c": 500, "d": 0, "e": 100})
    assert ranked == [(1, "b", 900), (2, "a", 500), (2, "c", 500), (4, "e", 100)]
    rows = standings_for_partner(ranked, "c", "Cat", {"b": "BigSeller", "a": None})
    assert [row.label for row in rows] == ["BigSeller", "Partner #2", "Cat (you)", "Partner #4"]
    assert [row.is_you for row in rows] == [False, False, True, False]


AUDIENCE = [
    pytest.param(Member("p", "approved", "g1", None, False), "all", set(), True, id="an approved partner is in 'all'"),
    pytest.param(Member("p", "banned", "g1", None, False), "all", set(), False, id="a banned partner is in no audience"),
    pytest.param(Member("p", "pending", None, None, False), "all", set(), False, id="a pending partner is in no audience"),
    pytest.param(Member("p", "approved", "g1", None, False), "groups", {"g1"}, True, id="in a chosen group"),
    pytest.param(Member("p", "approved", "g2", None, False), "groups", {"g1"}, False, id="in another group"),
    pytest.param(Member("p", "approved", None, datetime(2026, 11, 20, tzinfo=UTC), False), "inactive", set(), False,
                 id="sold 13 days ago: not quiet"),
    pytest.param(Member("p", "approved", None, datetime(2026, 10, 20, tzinfo=UTC), False), "inactive", set(), True,
                 id="sold 44 days ago: quiet"),
    pytest.param(Member("p", "approved", None, None, False), "inactive", set(), True, id="never sold: quiet"),
]  # fmt: skip


@pytest.mark.parametrize(("member", "kind", "groups", "expected"), AUDIENCE)
def test_audiences(member: Member, kind: str, groups: set[str], expected: bool) -> None:
    assert in_audience(member, kind, frozenset(groups), NOW) is expected


def test_newsletters_never_go_to_unsubscribed_or_banned_partners() -> None:
    assert should_email(Member("p", "approved", None, None, False))
    assert not should_email(Member("p", "approved", None, None, True))
    assert not should_email(Member("p", "banned", None, None, False))


def test_a_review_summary_holds_only_the_figures() -> None:
    figures = {
        "clicks": 340,
        "leads": 25,
        "sales": 12,
        "new_customers": 7,
        "revenue_amount": 120000,
        "commissions_amount": 24000,
    }
    previous = {
        "clicks": 200,
        "leads": 20,
        "sales": 9,
        "new_customers": 5,
        "revenue_amount": 150000,
        "commissions_amount": 30000,
    }
    summary = review_summary("2026-11", figures, previous, "usd")
    assert summary == (
        "In November 2026 you had 340 clicks, 25 leads and 12 sales worth 1200.00 USD, earning 240.00 USD. "
        "Revenue fell from 1500.00 USD in October 2026 to 1200.00 USD in November 2026, and sales rose from 9 in "
        "October 2026 to 12 in November 2026. 7 customers bought for the first time."
    )
    allowed = {str(v) for v in [*figures.values(), *previous.values()]} | {"1200.00", "1500.00", "240.00", "2026"}
    numbers = set(re.findall(r"\d+(?:\.\d\d)?", summary))
    assert numbers <= allowed, numbers - allowed
    assert 2 <= summary.count(". ") + 1 <= 3


def test_windows_and_the_month_a_review_job_reviews() -> None:
    assert period_window(NOW, "quarter") == (datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert period_window(NOW, "month")[1] == datetime(2027, 1, 1, tzinfo=UTC)
    assert review_month_due(datetime(2027, 1, 1, 0, 5, tzinfo=UTC)) == "2026-12"


MARKDOWN = [
    pytest.param("<script>alert(1)</script>", "<script", id="a script tag is text"),
    pytest.param("[x](javascript:alert(1))", 'href="javascript', id="a javascript: link is not a link"),
    pytest.param("[x](JAVASCRIPT:alert(1))", "href=", id="in capitals neither"),
    pytest.param('<a href="https://x.test" onclick="steal()">x</a>', "<a ", id="raw HTML anchors are text"),
    pytest.param("<iframe src=https://evil.test></iframe>", "<iframe", id="an iframe is text"),
    pytest.param("[x](data:text/html;base64,PHNjcmlwdD4=)", "href=", id="a data: link is not a link"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "forbidden"), MARKDOWN)
def test_markdown_renders_unsafe_input_inert(source: str, forbidden: str) -> None:
    assert forbidden not in render_markdown(source).lower()


def test_markdown_keeps_what_a_manager_writes() -> None:
    html = render_markdown("# Webinar\n\nJoin **Thursday**: [register](https://acme.test/webinar)")
    assert (
        html
        == '<h1>Webinar</h1>\n<p>Join <strong>Thursday</strong>: <a href="https://acme.test/webinar">register</a></p>\n'
    )


def test_headings_shift_below_the_pages_own_title() -> None:
    assert render_markdown("# Big\n## Small", heading_offset=1) == "<h2>Big</h2>\n<h3>Small</h3>\n"
    assert render_markdown("###### Tiny", heading_offset=2) == "<h6>Tiny</h6>\n"


def test_the_programs_month_names_top_movers_quiet_partners_cost_and_roi() -> None:
    rows = [
        ("a", "Ann", {"revenue_amount": 90000, "sales": 9, "commissions_amount": 18000}, {"revenue_amount": 10000, "sales": 1}),
        ("b", "Bob", {"revenue_amount": 0, "sales": 0, "commissions_amount": 0}, {"revenue_amount": 50000, "sales": 5}),
        ("c", "Cat", {"revenue_amount": 30000, "sales": 3, "commissions_amount": 6000}, {"revenue_amount": 20000, "sales": 2}),
    ]  # fmt: skip
    month = program_month(rows)
    assert [m.name for m in month.top_movers] == ["Ann", "Cat"] and month.top_movers[0].change_amount == 80000
    assert [m.name for m in month.went_quiet] == ["Bob"]
    assert (month.revenue_amount, month.previous_revenue_amount, month.commissions_amount) == (120000, 80000, 24000)
    assert month.roi == 4.0 and month.active_partners == 2  # (120000 - 24000) / 24000, report/metrics.py's ROI
    assert program_month([]).roi is None


def test_tracked_links_wrap_only_web_links() -> None:
    html = render_markdown("[a](https://x.test/p) [b](mailto:me@x.test) [c](/relative)", track=lambda url: "T:" + url)
    assert (
        '<a href="T:https://x.test/p">a</a>' in html
        and 'href="mailto:me@x.test"' in html
        and 'href="/relative"' in html
    )
