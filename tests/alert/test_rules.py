"""The alert rules, table by table: each a pure function of the facts, judged with tests on counts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from partnerloop.alert import rules
from partnerloop.alert.rules import (
    AlertKind,
    ClickSeen,
    ConversionFacts,
    LinkWindow,
    PartnerPeriod,
    effective_thresholds,
)
from partnerloop.kit.urls import website_host

LIMITS = effective_thresholds(None)
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
CLICK = ClickSeen("c1", NOW - timedelta(minutes=5), "203.0.113.0", "Firefox/1")
FACTS = ConversionFacts(
    event_kind="sale", event_id="e1", occurred_at=NOW, partner_id="p1", customer_id="cu1",
    customer_email_hash="hash-of-customer", partner_email_hashes=frozenset({"hash-of-partner"}),
    customer_stripe_ids=frozenset({"cus_A"}), partner_stripe_ids=frozenset(), click=CLICK,
    partner_devices=frozenset({("198.51.100.0", "Chrome/2")}),
)  # fmt: skip


@pytest.mark.parametrize(
    ("facts", "matched"),
    [
        pytest.param(FACTS, None, id="a stranger is no self-referral"),
        pytest.param(replace(FACTS, customer_email_hash="hash-of-partner"), ["email"], id="the partner's email"),
        pytest.param(
            replace(FACTS, partner_stripe_ids=frozenset({"cus_A"})),
            ["Stripe customer"],
            id="the partner's Stripe customer",
        ),
        pytest.param(
            replace(FACTS, partner_devices=frozenset({("203.0.113.0", "Firefox/1")})),
            ["IP and user agent"],
            id="the partner's own network and browser on the click",
        ),
        pytest.param(
            replace(FACTS, partner_devices=frozenset({("203.0.113.0", "Chrome/2")})),
            None,
            id="the same network with another browser is not enough",
        ),
        pytest.param(
            replace(FACTS, click=None, customer_email_hash="hash-of-partner"),
            ["email"],
            id="a coupon sale still matches by email",
        ),
    ],
)
def test_self_referral(facts: ConversionFacts, matched: list[str] | None) -> None:
    found = rules.self_referral(facts)
    assert (found.evidence["matched"] if found else None) == matched
    if found:
        assert found.kind is AlertKind.SELF_REFERRAL and found.subject == "partner:p1" and found.severity == "high"


@pytest.mark.parametrize(
    ("seconds_after", "limit", "flagged"),
    [
        pytest.param(1, 3, True, id="one second after the click is faster than a person"),
        pytest.param(10, 3, False, id="ten seconds is a person"),
        pytest.param(1, 0, False, id="a limit of zero turns the rule off"),
    ],
)
def test_fast_conversion(seconds_after: float, limit: int, flagged: bool) -> None:
    facts = replace(FACTS, click=replace(CLICK, at=NOW - timedelta(seconds=seconds_after)))
    found = rules.fast_conversion(facts, {**LIMITS, "fast_conversion_seconds": limit})
    assert (found is not None) is flagged


def link(clicks: int, expected: float, top: list[tuple[str, int]] | None = None, bots: int = 0) -> LinkWindow:
    return LinkWindow("l1", "spring", "p1", clicks, bots, expected, top or [], 10)


@pytest.mark.parametrize(
    ("window", "kind"),
    [
        pytest.param(link(400, 20), AlertKind.CLICK_SPIKE, id="twenty times the usual is a spike"),
        pytest.param(link(60, 40), None, id="one and a half times the usual is not"),
        pytest.param(link(30, 0.1), None, id="below the minimum clicks nothing is judged"),
        pytest.param(link(60, 0), AlertKind.CLICK_SPIKE, id="a new link with a flood is a spike"),
    ],
)
def test_click_spike(window: LinkWindow, kind: AlertKind | None) -> None:
    found = rules.click_spike(window, LIMITS)
    assert (found.kind if found else None) == kind


@pytest.mark.parametrize(
    ("window", "flagged"),
    [
        pytest.param(link(40, 10, [("203.0.113.0", 30), ("198.51.100.0", 10)]), True, id="three quarters from one net"),
        pytest.param(link(40, 10, [("203.0.113.0", 8)]), False, id="a fifth from one net is fine"),
        pytest.param(link(10, 1, [("203.0.113.0", 10)]), False, id="too few clicks to judge"),
    ],
)
def test_ip_concentration(window: LinkWindow, flagged: bool) -> None:
    assert (rules.ip_concentration(window, LIMITS) is not None) is flagged


def test_bot_traffic() -> None:
    assert rules.bot_traffic("p1", 40, 30, 10, LIMITS) is not None
    assert rules.bot_traffic("p1", 40, 5, 10, LIMITS) is None
    assert rules.bot_traffic("p1", 10, 10, 10, LIMITS) is None  # too few to judge


def period(**overrides: int) -> PartnerPeriod:
    values = {"clicks": 100, "baseline_clicks": 400, "unique_clicks": 100, "new_customers": 10,
              "baseline_unique_clicks": 400, "baseline_new_customers": 40, "conversions": 5, "quiet_clicks": 50}  # fmt: skip
    values.update(overrides)
    return PartnerPeriod(partner_id="p1", **values)


@pytest.mark.parametrize(
    ("rule", "facts", "flagged"),
    [
        pytest.param(rules.performance_dip, period(), False, id="clicks as usual are no dip"),
        pytest.param(rules.performance_dip, period(clicks=20), True, id="a fifth of the usual clicks is a dip"),
        pytest.param(
            rules.performance_dip,
            period(clicks=0, baseline_clicks=8),
            False,
            id="two clicks a week to none is chance, not a dip",
        ),
        pytest.param(rules.performance_dip, period(clicks=60), False, id="a forty percent fall is under the threshold"),
        pytest.param(rules.conversion_drop, period(), False, id="the usual conversion is no drop"),
        pytest.param(
            rules.conversion_drop,
            period(unique_clicks=200, new_customers=2),
            True,
            id="two customers where twenty were expected is a drop",
        ),
        pytest.param(
            rules.conversion_drop,
            period(unique_clicks=20, new_customers=0),
            False,
            id="two expected and none seen is too few to tell",
        ),
        pytest.param(rules.gone_quiet, period(quiet_clicks=0, conversions=0), True, id="an active partner gone quiet"),
        pytest.param(rules.gone_quiet, period(quiet_clicks=0, conversions=1), False, id="a conversion is not quiet"),
        pytest.param(
            rules.gone_quiet,
            period(quiet_clicks=0, conversions=0, baseline_clicks=5),
            False,
            id="a partner who was hardly active is not quiet",
        ),
    ],
)
def test_performance_rules(rule: object, facts: PartnerPeriod, flagged: bool) -> None:
    assert (rule(facts, LIMITS) is not None) is flagged  # type: ignore[operator]


@pytest.mark.parametrize(
    ("sales", "refunded", "program_sales", "program_refunded", "flagged"),
    [
        pytest.param(20, 10, 1000, 60, True, id="half refunded against five percent is flagged"),
        pytest.param(20, 2, 1000, 60, False, id="ten percent against five is chance"),
        pytest.param(5, 5, 1000, 60, False, id="too few sales to judge"),
    ],
)
def test_refund_rate(sales: int, refunded: int, program_sales: int, program_refunded: int, flagged: bool) -> None:
    found = rules.refund_rate("p1", sales, refunded, program_sales, program_refunded, LIMITS)
    assert (found is not None) is flagged


def test_leads_without_sales() -> None:
    assert rules.leads_without_sales("p1", 40, 0, LIMITS) is not None
    assert rules.leads_without_sales("p1", 40, 1, LIMITS) is None


@pytest.mark.parametrize(
    ("function", "args", "expected"),
    [
        pytest.param(rules.poisson_at_least, (0, 3.0), 1.0, id="at least zero is certain"),
        pytest.param(rules.poisson_at_least, (2, 1.0), 0.2642, id="poisson at least two with mean one"),
        pytest.param(rules.poisson_at_most, (0, 2.0), 0.1353, id="poisson none with mean two"),
        pytest.param(rules.binomial_at_most, (0, 10, 0.1), 0.3487, id="binomial none of ten at a tenth"),
        pytest.param(rules.binomial_at_least, (5, 10, 0.5), 0.623, id="binomial at least half of ten at a half"),
    ],
)
def test_tails(function: object, args: tuple[float, ...], expected: float) -> None:
    assert round(function(*args), 4) == expected  # type: ignore[operator]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"click_spike_factor": 8}, None, id="a threshold in range"),
        pytest.param({"bot_share": 1.5}, "bot_share", id="a share over one"),
        pytest.param({"quiet_days": 2.5}, "quiet_days", id="days are whole"),
        pytest.param({"p_value": "low"}, "p_value", id="a word"),
        pytest.param({"p_value": True}, "p_value", id="a boolean"),
        pytest.param({"loudness": 3}, "loudness", id="an unknown threshold"),
    ],
)
def test_threshold_problem(changes: dict[str, object], field: str | None) -> None:
    problem = rules.threshold_problem(changes)
    assert (problem[0] if problem else None) == field


def test_an_open_alert_seen_again_keeps_the_earlier_evidence() -> None:
    merged = rules.merged_evidence({"event_id": "e1"}, {"event_id": "e2"})
    again = rules.merged_evidence(merged, {"event_id": "e3"})
    assert again["event_id"] == "e3" and [item["event_id"] for item in again["earlier"]] == ["e2", "e1"]


def test_closing_an_open_alert_only() -> None:
    assert rules.closing("open", "resolve") is rules.AlertStatus.RESOLVED
    assert rules.closing("open", "dismiss") is rules.AlertStatus.DISMISSED
    assert rules.closing("resolved", "dismiss") is None


def test_kinds_read_as_words() -> None:
    assert AlertKind.IP_CONCENTRATION.label == "IP concentration" and AlertKind.SELF_REFERRAL.label == "Self referral"


COUPON = replace(
    FACTS, coupon_code="ANA20", referrer_host="coupons.example", partner_sites=frozenset({"anablog.example"}),
    program_sites=frozenset({"acme.test"}),
    click=replace(CLICK, referrer="https://www.coupons.example/acme"),
)  # fmt: skip


@pytest.mark.parametrize(
    ("facts", "flagged"),
    [
        pytest.param(COUPON, True, id="a coupon from a coupon site the partner does not own"),
        pytest.param(replace(COUPON, referrer_host="anablog.example"), False, id="from the partner's site"),
        pytest.param(replace(COUPON, referrer_host="shop.anablog.example"), False, id="from a subdomain of it"),
        pytest.param(replace(COUPON, referrer_host="anablog.example.evil"), True, id="a look-alike suffix is not it"),
        pytest.param(replace(COUPON, referrer_host="www.acme.test"), False, id="from the program's own site"),
        pytest.param(replace(COUPON, referrer_host=""), False, id="no referrer: typed, nothing to judge"),
        pytest.param(replace(COUPON, coupon_code=None), False, id="no coupon"),
        pytest.param(replace(COUPON, click=None), False, id="no crediting click"),
        pytest.param(replace(COUPON, partner_sites=frozenset()), False, id="the partner names no website"),
    ],
)
def test_coupon_off_site(facts: ConversionFacts, flagged: bool) -> None:
    found = rules.coupon_off_site(facts)
    assert (found is not None) == flagged
    if found:
        assert found.kind is AlertKind.COUPON_OFF_SITE and found.kind.holds_commissions
        assert found.evidence["referrer_host"] == facts.referrer_host and found.evidence["coupon_code"] == "ANA20"
        assert found.subject == "partner:p1" and found in rules.conversion_findings(facts, LIMITS)


@pytest.mark.parametrize(
    ("website", "host"),
    [
        pytest.param("https://www.AnaBlog.example/about", "anablog.example", id="a URL"),
        pytest.param("anablog.example", "anablog.example", id="a bare host"),
        pytest.param("  ", None, id="blank"),
        pytest.param("my blog", None, id="not a host"),
        pytest.param("http://[::1", None, id="not a URL"),
    ],
)
def test_website_host(website: str, host: str | None) -> None:
    assert website_host(website) == host


CARD, OTHER = "a" * 64, "b" * 64


@pytest.mark.parametrize(
    ("facts", "limit", "matched"),
    [
        pytest.param(FACTS, 3, None, id="no card shown: nothing to judge"),
        pytest.param(replace(FACTS, customer_cards=frozenset({CARD}), card_sharing=((CARD, 1),)), 3, None,
                     id="a card only this customer used"),
        pytest.param(replace(FACTS, customer_cards=frozenset({CARD}), partner_cards=frozenset({OTHER}),
                             card_sharing=((CARD, 1),)), 3, None, id="the partner paid with another card"),
        pytest.param(replace(FACTS, customer_cards=frozenset({CARD}), partner_cards=frozenset({CARD}),
                             card_sharing=((CARD, 1),)), 3, ["the partner's own card"], id="the partner's own card"),
        pytest.param(replace(FACTS, customer_cards=frozenset({CARD}), card_sharing=((CARD, 2),)), 3, None,
                     id="two customers on one card, below the threshold"),
        pytest.param(replace(FACTS, customer_cards=frozenset({CARD}), card_sharing=((CARD, 3),)), 3,
                     ["one card paying for 3 of the partner's customers"], id="three customers on one card"),
        pytest.param(replace(FACTS, customer_cards=frozenset({CARD}), card_sharing=((CARD, 2),)), 2,
                     ["one card paying for 2 of the partner's customers"], id="the program's lower threshold"),
        pytest.param(replace(FACTS, customer_cards=frozenset({CARD}), partner_cards=frozenset({CARD}),
                             card_sharing=((CARD, 4),)), 3,
                     ["the partner's own card", "one card paying for 4 of the partner's customers"], id="both"),
        pytest.param(replace(FACTS, customer_cards=frozenset({CARD}), card_sharing=((OTHER, 9),)), 3, None,
                     id="sharing of a card this customer did not use"),
    ],
)  # fmt: skip
def test_card_fingerprint(facts: ConversionFacts, limit: int, matched: list[str] | None) -> None:
    found = rules.card_fingerprint(facts, {**LIMITS, "card_shared_customers": limit})
    if matched is None:
        assert found is None
        return
    assert found is not None
    assert (found.kind, found.subject, found.evidence["matched"]) == (AlertKind.CARD_FINGERPRINT, "partner:p1", matched)
    assert found.kind.holds_commissions and found.kind.category == "fraud"
    assert CARD not in str(found.evidence) and CARD[:12] in str(found.evidence)  # only a prefix of the hash
    assert found in rules.conversion_findings(facts, {**LIMITS, "card_shared_customers": limit})


def test_card_shared_customers_threshold_is_checked() -> None:
    assert rules.threshold_problem({"card_shared_customers": 1}) == (
        "card_shared_customers", "card_shared_customers must be between 2 and 1e+06.")  # fmt: skip
    assert rules.threshold_problem({"card_shared_customers": 2.5})[0] == "card_shared_customers"  # type: ignore[index]
    assert rules.threshold_problem({"card_shared_customers": 5}) is None
