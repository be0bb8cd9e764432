"""The alert rules: pure functions over facts the database gives, each returning a Finding or None.

Fraud rules run on each conversion (self-referral, too fast after the click, a coupon from someone
else's site) and every minute over
the last minutes of clicks (click spike, IP concentration, bot traffic); performance rules run hourly
over daily figures (a dip in clicks, a drop in conversion, partners gone quiet, a refund rate far above
the program's, many leads and no sales). Counts are judged with a one-sided Poisson or binomial test
(`p_value`), so a small partner going from 2 clicks to 0 is not an alert while the threshold's share
of a big one is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from partnerloop.kit.urls import host_is_allowed


class AlertKind(StrEnum):
    SELF_REFERRAL = "self_referral"
    FAST_CONVERSION = "fast_conversion"
    COUPON_OFF_SITE = "coupon_off_site"
    CARD_FINGERPRINT = "card_fingerprint"
    CLICK_SPIKE = "click_spike"
    IP_CONCENTRATION = "ip_concentration"
    BOT_TRAFFIC = "bot_traffic"
    REFUND_RATE = "refund_rate"
    LEADS_WITHOUT_SALES = "leads_without_sales"
    PERFORMANCE_DIP = "performance_dip"
    CONVERSION_DROP = "conversion_drop"
    GONE_QUIET = "gone_quiet"

    @property
    def label(self) -> str:
        """The kind as a page names it ("IP concentration")."""
        return self.value.replace("_", " ").capitalize().replace("Ip ", "IP ")

    @property
    def category(self) -> str:
        return "performance" if self in _PERFORMANCE else "fraud"

    @property
    def holds_commissions(self) -> bool:
        """Rules that judge one conversion hold its commissions until a manager decides."""
        return self in (
            AlertKind.SELF_REFERRAL, AlertKind.FAST_CONVERSION, AlertKind.COUPON_OFF_SITE, AlertKind.CARD_FINGERPRINT
        )  # fmt: skip


_PERFORMANCE = frozenset({AlertKind.PERFORMANCE_DIP, AlertKind.CONVERSION_DROP, AlertKind.GONE_QUIET})


class AlertStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


OPEN_KEY = "open"


@dataclass(frozen=True)
class Threshold:
    default: float
    low: float
    high: float
    integer: bool
    label: str


# Every threshold a manager may change per program, with its allowed range (inclusive).
THRESHOLDS: dict[str, Threshold] = {
    # 3 s: a person who follows a link still has to see the page load and fill in a form or a checkout.
    "fast_conversion_seconds": Threshold(3, 0, 3600, True, "A conversion this many seconds or less after its "
                                         "click is flagged (0: off)"),
    "card_shared_customers": Threshold(3, 2, 1_000_000, True, "Customers of one partner paying with the same "
                                       "card that are flagged"),
    "click_spike_min_clicks": Threshold(50, 1, 1_000_000, True, "Clicks on a link in the scan window before a "
                                        "spike is considered"),
    "click_spike_factor": Threshold(5, 1, 1000, False, "A spike is this many times the link's usual rate"),
    "ip_concentration_share": Threshold(0.5, 0.01, 1, False, "Share of a link's recent clicks from one network "
                                        "(/24) that is flagged"),
    "ip_concentration_min_clicks": Threshold(20, 1, 1_000_000, True, "Recent clicks on a link before IP "
                                             "concentration is judged"),
    "bot_share": Threshold(0.5, 0.01, 1, False, "Share of a partner's recent clicks from bots that is flagged"),
    "bot_min_clicks": Threshold(20, 1, 1_000_000, True, "Recent clicks of a partner before bot share is judged"),
    "refund_rate_factor": Threshold(3, 1, 100, False, "A partner's refund rate this many times the program's is "
                                    "flagged"),
    "refund_min_sales": Threshold(10, 1, 1_000_000, True, "Sales of a partner (90 days) before refund rate is "
                                  "judged"),
    "leads_without_sales_min": Threshold(30, 1, 1_000_000, True, "Leads in 30 days without one sale that are "
                                         "flagged"),
    "drop_pct": Threshold(50, 1, 100, True, "A drop below the baseline by more than this percent is flagged"),
    "p_value": Threshold(0.01, 0.000001, 0.2, False, "How unlikely by chance a count must be to be flagged"),
    "quiet_days": Threshold(14, 1, 365, True, "Days without a click or conversion after which an active partner "
                            "has gone quiet"),
    "quiet_min_clicks": Threshold(20, 1, 1_000_000, True, "Clicks in the 28 days before that make a partner "
                                  "active"),
    "scan_minutes": Threshold(10, 1, 1440, True, "Minutes of clicks the every-minute scan looks at"),
}  # fmt: skip


def effective_thresholds(stored: Mapping[str, Any] | None) -> dict[str, float]:
    """The program's thresholds: its own where it set them, the defaults elsewhere."""
    values = {name: threshold.default for name, threshold in THRESHOLDS.items()}
    for name, value in (stored or {}).items():
        if name in THRESHOLDS:
            values[name] = float(value)
    return values


def threshold_problem(changes: Mapping[str, Any]) -> tuple[str, str] | None:
    """(field, sentence) for the first change that is not a known threshold in range."""
    for name, value in changes.items():
        threshold = THRESHOLDS.get(name)
        if threshold is None:
            return name, f"Unknown threshold '{name}'; one of: {', '.join(THRESHOLDS)}."
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return name, f"{name} must be a number."
        if threshold.integer and value != int(value):
            return name, f"{name} must be a whole number."
        if not threshold.low <= value <= threshold.high:
            return name, f"{name} must be between {threshold.low:g} and {threshold.high:g}."
    return None


# ---------------------------------------------------------------------------------------- statistics
# Two one-sided tails summed in log space (math.lgamma): exact for the counts reports see, with no
# statistics library for two functions.


def _log_poisson(k: int, lam: float) -> float:
    return -lam + k * math.log(lam) - math.lgamma(k + 1)


def poisson_at_least(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam)."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    below = math.fsum(math.exp(_log_poisson(i, lam)) for i in range(k))
    return max(0.0, 1.0 - below)


def poisson_at_most(k: int, lam: float) -> float:
    """P(X <= k) for X ~ Poisson(lam)."""
    if k < 0:
        return 0.0
    if lam <= 0:
        return 1.0
    return min(1.0, math.fsum(math.exp(_log_poisson(i, lam)) for i in range(k + 1)))


def _log_binomial(k: int, n: int, p: float) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)


def binomial_at_most(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n or p <= 0:
        return 1.0
    if p >= 1:
        return 0.0
    return min(1.0, math.fsum(math.exp(_log_binomial(i, n, p)) for i in range(k + 1)))


def binomial_at_least(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    return max(0.0, 1.0 - binomial_at_most(k - 1, n, p))


# ------------------------------------------------------------------------------------------ findings


@dataclass(frozen=True)
class Finding:
    kind: AlertKind
    severity: str  # high | medium | low
    subject: str  # what it is about: "partner:<id>", "link:<id>", "program"
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)
    partner_id: str | None = None
    link_id: str | None = None


@dataclass(frozen=True)
class ClickSeen:
    click_id: str
    at: datetime
    ip_truncated: str | None
    user_agent: str | None
    referrer: str | None = None


@dataclass(frozen=True)
class ConversionFacts:
    """One lead or sale, its customer, the click that credited it, and what is known of its partner."""

    event_kind: str
    event_id: str
    occurred_at: datetime
    partner_id: str
    customer_id: str
    customer_email_hash: str | None
    partner_email_hashes: frozenset[str]  # sha256 of the partner's email, lower-cased and normalized (kit/emails)
    customer_stripe_ids: frozenset[str]
    partner_stripe_ids: frozenset[str]  # Stripe customers of the program's customers with the partner's email
    click: ClickSeen | None
    partner_devices: frozenset[tuple[str, str]]  # (truncated IP, user agent) of the partner's own logins
    coupon_code: str | None = None  # the coupon code on the conversion, when it has one
    referrer_host: str = ""  # the site the crediting click came from ("" none: typed, bookmarked, an app)
    partner_sites: frozenset[str] = frozenset()  # hosts the partner promotes on (their profile's website)
    program_sites: frozenset[str] = frozenset()  # the program's own domains
    # sha256 of the Stripe card fingerprints that paid for the customer, and of those the partner paid with
    customer_cards: frozenset[str] = frozenset()
    partner_cards: frozenset[str] = frozenset()
    # (card hash, distinct customers credited to the partner who paid with it, this one included) per card
    card_sharing: tuple[tuple[str, int], ...] = ()


def self_referral(facts: ConversionFacts) -> Finding | None:
    """The customer is the partner: the same email, the same Stripe customer, or the partner's own
    device (truncated IP and user agent of one of their logins) on the crediting click."""
    matched: list[str] = []
    evidence: dict[str, Any] = {"event_id": facts.event_id, "customer_id": facts.customer_id}
    if facts.customer_email_hash is not None and facts.customer_email_hash in facts.partner_email_hashes:
        matched.append("email")
    shared = sorted(facts.customer_stripe_ids & facts.partner_stripe_ids)
    if shared:
        matched.append("Stripe customer")
        evidence["stripe_customer_ids"] = shared
    click = facts.click
    if click is not None and (click.ip_truncated, click.user_agent) in facts.partner_devices:
        matched.append("IP and user agent")
        evidence["click"] = {"id": click.click_id, "at": click.at.isoformat(), "ip": click.ip_truncated,
                             "user_agent": click.user_agent}  # fmt: skip
    if not matched:
        return None
    evidence["matched"] = matched
    return Finding(
        AlertKind.SELF_REFERRAL, "high", f"partner:{facts.partner_id}",
        f"A {facts.event_kind} by a customer who matches the partner's own {', '.join(matched)}.",
        evidence, partner_id=facts.partner_id,
    )  # fmt: skip


def fast_conversion(facts: ConversionFacts, thresholds: Mapping[str, float]) -> Finding | None:
    """A conversion sooner after its click than a person can manage (0 seconds configured: off)."""
    limit = thresholds["fast_conversion_seconds"]
    click = facts.click
    if limit <= 0 or click is None:
        return None
    seconds = (facts.occurred_at - click.at).total_seconds()
    if not 0 <= seconds <= limit:
        return None
    return Finding(
        AlertKind.FAST_CONVERSION, "high", f"partner:{facts.partner_id}",
        f"A {facts.event_kind} {seconds:.1f} s after its click (the program flags {limit:g} s or less).",
        {"event_id": facts.event_id, "customer_id": facts.customer_id, "seconds_after_click": round(seconds, 3),
         "click": {"id": click.click_id, "at": click.at.isoformat(), "ip": click.ip_truncated,
                   "user_agent": click.user_agent}},
        partner_id=facts.partner_id,
    )  # fmt: skip


def _on(host: str, sites: frozenset[str]) -> bool:
    return host_is_allowed(host, list(sites))


def coupon_off_site(facts: ConversionFacts) -> Finding | None:
    """A conversion with a coupon code whose crediting click came from a site that is neither the partner's
    nor the program's: the code leaked to a coupon site. Judged only when the partner names a website
    (what they own is unknown otherwise) and the click says where it came from."""
    click, host = facts.click, facts.referrer_host
    if not facts.coupon_code or click is None or not host or not facts.partner_sites:
        return None
    if _on(host, facts.partner_sites) or _on(host, facts.program_sites):
        return None
    return Finding(
        AlertKind.COUPON_OFF_SITE, "medium", f"partner:{facts.partner_id}",
        f"A {facts.event_kind} with coupon {facts.coupon_code} came from {host}, not a site of the partner "
        f"({', '.join(sorted(facts.partner_sites))}).",
        {"event_id": facts.event_id, "customer_id": facts.customer_id, "coupon_code": facts.coupon_code,
         "referrer_host": host, "partner_sites": sorted(facts.partner_sites),
         "click": {"id": click.click_id, "at": click.at.isoformat(), "ip": click.ip_truncated,
                   "user_agent": click.user_agent, "referrer": click.referrer}},
        partner_id=facts.partner_id,
    )  # fmt: skip


def card_fingerprint(facts: ConversionFacts, thresholds: Mapping[str, float]) -> Finding | None:
    """The customer paid with a card the partner paid with (self-referral with another name and email), or
    with a card that paid for at least the threshold's number of the partner's customers (one card, many
    customers). Cards are compared by the sha256 of Stripe's fingerprint; evidence names its first 12 digits."""
    if not facts.customer_cards:
        return None
    own = sorted(facts.customer_cards & facts.partner_cards)
    limit = thresholds["card_shared_customers"]
    shared = sorted(
        (count, card) for card, count in facts.card_sharing if card in facts.customer_cards and count >= limit
    )
    if not own and not shared:
        return None
    matched: list[str] = []
    evidence: dict[str, Any] = {"event_id": facts.event_id, "customer_id": facts.customer_id}
    if own:
        matched.append("the partner's own card")
        evidence["partner_cards"] = [card[:12] for card in own]
    if shared:
        count, card = shared[-1]
        matched.append(f"one card paying for {count} of the partner's customers")
        evidence["shared_card"] = card[:12]
        evidence["customers_on_card"] = count
        evidence["card_shared_customers_threshold"] = int(limit)
    evidence["matched"] = matched
    return Finding(
        AlertKind.CARD_FINGERPRINT, "high", f"partner:{facts.partner_id}",
        f"A {facts.event_kind} paid with {' and '.join(matched)}.", evidence, partner_id=facts.partner_id,
    )  # fmt: skip


def conversion_findings(facts: ConversionFacts, thresholds: Mapping[str, float]) -> list[Finding]:
    """Every fraud rule on one conversion."""
    found = [self_referral(facts), fast_conversion(facts, thresholds), coupon_off_site(facts),
             card_fingerprint(facts, thresholds)]  # fmt: skip
    return [finding for finding in found if finding is not None]


@dataclass(frozen=True)
class LinkWindow:
    """A link's clicks in the scan window, its usual rate, and its busiest networks."""

    link_id: str
    link_key: str
    partner_id: str
    clicks: int
    bot_clicks: int
    expected: float  # clicks a window of this length usually has (the week before, by rollups)
    top_ips: Sequence[tuple[str, int]]  # (truncated IP, clicks), busiest first
    minutes: int


def click_spike(link: LinkWindow, thresholds: Mapping[str, float]) -> Finding | None:
    """Far more clicks than the link usually has in as long, and unlikely by chance (Poisson)."""
    if link.clicks < thresholds["click_spike_min_clicks"]:
        return None
    expected = max(link.expected, 1.0)  # a new link is judged against one click per window
    if link.clicks < thresholds["click_spike_factor"] * expected:
        return None
    p = poisson_at_least(link.clicks, expected)
    if p >= thresholds["p_value"]:
        return None
    return Finding(
        AlertKind.CLICK_SPIKE, "medium", f"link:{link.link_id}",
        f"{link.clicks} clicks on link {link.link_key} in {link.minutes} min, against {link.expected:.1f} usually.",
        {"clicks": link.clicks, "expected": round(link.expected, 2), "p_value": p, "minutes": link.minutes,
         "top_ips": [list(item) for item in link.top_ips[:5]], "bot_clicks": link.bot_clicks},
        partner_id=link.partner_id, link_id=link.link_id,
    )  # fmt: skip


def ip_concentration(link: LinkWindow, thresholds: Mapping[str, float]) -> Finding | None:
    """Most of a link's recent clicks from one network."""
    if link.clicks < thresholds["ip_concentration_min_clicks"] or not link.top_ips:
        return None
    ip, count = link.top_ips[0]
    share = count / link.clicks
    if share < thresholds["ip_concentration_share"]:
        return None
    return Finding(
        AlertKind.IP_CONCENTRATION, "medium", f"link:{link.link_id}",
        f"{share:.0%} of {link.clicks} recent clicks on link {link.link_key} came from one network ({ip}).",
        {"clicks": link.clicks, "share": round(share, 4), "minutes": link.minutes,
         "top_ips": [list(item) for item in link.top_ips[:5]]},
        partner_id=link.partner_id, link_id=link.link_id,
    )  # fmt: skip


def bot_traffic(partner_id: str, clicks: int, bot_clicks: int, minutes: int,
                thresholds: Mapping[str, float]) -> Finding | None:  # fmt: skip
    """A large share of a partner's recent clicks from bots and crawlers."""
    if clicks < thresholds["bot_min_clicks"]:
        return None
    share = bot_clicks / clicks
    if share < thresholds["bot_share"]:
        return None
    return Finding(
        AlertKind.BOT_TRAFFIC, "medium", f"partner:{partner_id}",
        f"{share:.0%} of the partner's {clicks} clicks in the last {minutes} min were bots.",
        {"clicks": clicks, "bot_clicks": bot_clicks, "share": round(share, 4), "minutes": minutes},
        partner_id=partner_id,
    )  # fmt: skip


@dataclass(frozen=True)
class PartnerPeriod:
    """A partner's (or the program's, partner_id None) counts: the last 7 days against the 28 before."""

    partner_id: str | None
    clicks: int
    baseline_clicks: int  # over 28 days
    unique_clicks: int
    new_customers: int
    baseline_unique_clicks: int
    baseline_new_customers: int
    conversions: int  # leads and sales in the last `quiet_days`
    quiet_clicks: int  # clicks in the last `quiet_days`
    baseline_days: int = 28
    current_days: int = 7


def _subject(partner_id: str | None) -> str:
    return f"partner:{partner_id}" if partner_id else "program"


def _whose(partner_id: str | None) -> str:
    return "The partner's" if partner_id else "The program's"


def performance_dip(period: PartnerPeriod, thresholds: Mapping[str, float]) -> Finding | None:
    """Clicks of the last 7 days below the baseline by more than drop_pct, and unlikely by chance."""
    expected = period.baseline_clicks * period.current_days / period.baseline_days
    if expected < 10:  # too few clicks to tell a dip from chance
        return None
    drop = 1 - period.clicks / expected
    p = poisson_at_most(period.clicks, expected)
    if drop * 100 <= thresholds["drop_pct"] or p >= thresholds["p_value"]:
        return None
    return Finding(
        AlertKind.PERFORMANCE_DIP, "low", _subject(period.partner_id),
        f"{_whose(period.partner_id)} clicks fell {drop:.0%}: {period.clicks} in {period.current_days} days "
        f"against {expected:.0f} expected from the {period.baseline_days} before.",
        {"clicks": period.clicks, "expected": round(expected, 2), "drop": round(drop, 4), "p_value": p},
        partner_id=period.partner_id,
    )  # fmt: skip


def conversion_drop(period: PartnerPeriod, thresholds: Mapping[str, float]) -> Finding | None:
    """The conversion rate of the last 7 days below the baseline's by more than drop_pct (binomial test)."""
    if period.baseline_unique_clicks == 0 or period.unique_clicks == 0:
        return None
    rate = period.baseline_new_customers / period.baseline_unique_clicks
    expected = rate * period.unique_clicks
    if rate <= 0 or expected < 5:  # too few expected conversions to tell
        return None
    current = period.new_customers / period.unique_clicks
    drop = 1 - current / rate
    p = binomial_at_most(period.new_customers, period.unique_clicks, min(rate, 1.0))
    if drop * 100 <= thresholds["drop_pct"] or p >= thresholds["p_value"]:
        return None
    return Finding(
        AlertKind.CONVERSION_DROP, "low", _subject(period.partner_id),
        f"{_whose(period.partner_id)} conversion rate fell to {current:.1%} from {rate:.1%} "
        f"({period.new_customers} customers of {period.unique_clicks} unique clicks, {expected:.1f} expected).",
        {"rate": round(current, 4), "baseline_rate": round(rate, 4), "new_customers": period.new_customers,
         "unique_clicks": period.unique_clicks, "expected": round(expected, 2), "p_value": p},
        partner_id=period.partner_id,
    )  # fmt: skip


def gone_quiet(period: PartnerPeriod, thresholds: Mapping[str, float]) -> Finding | None:
    """A partner active before (quiet_min_clicks in the baseline) with nothing in the last quiet_days."""
    if period.partner_id is None or period.baseline_clicks < thresholds["quiet_min_clicks"]:
        return None
    if period.quiet_clicks or period.conversions:
        return None
    days = int(thresholds["quiet_days"])
    return Finding(
        AlertKind.GONE_QUIET, "low", _subject(period.partner_id),
        f"No click or conversion in {days} days from a partner with {period.baseline_clicks} clicks the "
        f"{period.baseline_days} days before.",
        {"quiet_days": days, "baseline_clicks": period.baseline_clicks}, partner_id=period.partner_id,
    )  # fmt: skip


def refund_rate(partner_id: str, sales: int, refunded: int, program_sales: int, program_refunded: int,
                thresholds: Mapping[str, float]) -> Finding | None:  # fmt: skip
    """A partner's share of refunded or disputed sales far above the rest of the program's (binomial test)."""
    if sales < thresholds["refund_min_sales"] or refunded == 0:
        return None
    others_sales, others_refunded = program_sales - sales, program_refunded - refunded
    base = (others_refunded + 1) / (others_sales + 2)  # the rest of the program's rate, smoothed
    rate = refunded / sales
    if rate < thresholds["refund_rate_factor"] * base:
        return None
    p = binomial_at_least(refunded, sales, base)
    if p >= thresholds["p_value"]:
        return None
    return Finding(
        AlertKind.REFUND_RATE, "high", f"partner:{partner_id}",
        f"{refunded} of the partner's {sales} sales in 90 days were refunded or disputed ({rate:.0%}), against "
        f"{base:.1%} for the rest of the program.",
        {"sales": sales, "refunded": refunded, "rate": round(rate, 4), "program_rate": round(base, 4),
         "p_value": p},
        partner_id=partner_id,
    )  # fmt: skip


def leads_without_sales(partner_id: str, leads: int, sales: int, thresholds: Mapping[str, float]) -> Finding | None:
    """Many leads in 30 days and not one sale: leads that may not be people."""
    if sales > 0 or leads < thresholds["leads_without_sales_min"]:
        return None
    return Finding(
        AlertKind.LEADS_WITHOUT_SALES, "medium", f"partner:{partner_id}",
        f"{leads} leads in 30 days and no sale.", {"leads": leads, "sales": sales}, partner_id=partner_id,
    )  # fmt: skip


def merged_evidence(old: Mapping[str, Any], new: Mapping[str, Any], limit: int = 20) -> dict[str, Any]:
    """An open alert seen again: the latest evidence, with the earlier sightings kept (newest first)."""
    earlier = [dict(item) for item in old.get("earlier", [])]
    previous = {key: value for key, value in old.items() if key not in ("earlier", "held_commission_ids")}
    merged = {**new, "earlier": [previous, *earlier][: limit - 1]}
    if old.get("held_commission_ids"):  # what the alert holds is kept until a manager decides
        merged["held_commission_ids"] = list(old["held_commission_ids"])
    return merged


def closing(status: str, action: str) -> AlertStatus | None:
    """The status an open alert takes on resolve or dismiss; None when it is closed already."""
    if status != AlertStatus.OPEN:
        return None
    return AlertStatus.RESOLVED if action == "resolve" else AlertStatus.DISMISSED
