"""Every report figure, defined once: the counts a window has (`Figures`) and the ratios made of them.

Each ratio is a pure function of counts; a zero denominator gives None (JSON null), never NaN or an
error. Money ratios (EPC, CPA, average value) are integers in minor units, rounded once with
`round_half_away`; plain ratios are decimals rounded to 4 places. `DEFINITIONS` is what the pages
show on hover and what docs/metrics.md lists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from partnerloop.kit.money import round_half_away
from partnerloop.kit.ratios import RATIO_PLACES as RATIO_PLACES  # the plain ratios live in kit, used here
from partnerloop.kit.ratios import ratio as ratio
from partnerloop.kit.ratios import roi_of as roi_of


@dataclass(frozen=True)
class Figures:
    """The counts of one window (a partner, a channel, a day, or the whole program); money in the
    program's currency, minor units."""

    clicks: int = 0
    unique_clicks: int = 0
    bot_clicks: int = 0
    leads: int = 0
    sales: int = 0
    new_customers: int = 0  # customers whose first sale ever is in the window
    revenue_amount: int = 0  # sales
    refunds_amount: int = 0
    commissions_amount: int = 0  # earnings of partners (reversals of refunds subtract), rejected ones not counted
    active_partners: int = 0  # partners with a click, lead or sale in the window

    @property
    def net_revenue_amount(self) -> int:
        return self.revenue_amount - self.refunds_amount

    def __add__(self, other: Figures) -> Figures:
        """Two windows' counts together (active partners add as if disjoint: callers that need the
        distinct count over both set it themselves)."""
        return Figures(
            self.clicks + other.clicks,
            self.unique_clicks + other.unique_clicks,
            self.bot_clicks + other.bot_clicks,
            self.leads + other.leads,
            self.sales + other.sales,
            self.new_customers + other.new_customers,
            self.revenue_amount + other.revenue_amount,
            self.refunds_amount + other.refunds_amount,
            self.commissions_amount + other.commissions_amount,
            self.active_partners + other.active_partners,
        )  # field by field, not through dataclasses.fields(): reports add thousands of these


def per(amount: int, count: int) -> int | None:
    """amount ÷ count in minor units, rounded once; None when count is 0."""
    if count == 0:
        return None
    return round_half_away(Fraction(amount, count))


def conversion_rate(figures: Figures) -> float | None:
    """Customers with a first sale ÷ unique clicks."""
    return ratio(figures.new_customers, figures.unique_clicks)


def lead_to_sale_rate(figures: Figures) -> float | None:
    """Customers with a first sale ÷ leads."""
    return ratio(figures.new_customers, figures.leads)


def epc_amount(figures: Figures) -> int | None:
    """Earnings per click: commissions ÷ clicks."""
    return per(figures.commissions_amount, figures.clicks)


def cpa_amount(figures: Figures) -> int | None:
    """Cost per acquisition: commissions ÷ new customers."""
    return per(figures.commissions_amount, figures.new_customers)


def roi(figures: Figures) -> float | None:
    """(net revenue − commissions) ÷ commissions (kit/ratios.roi_of)."""
    return roi_of(figures.net_revenue_amount, figures.commissions_amount)


def roi_text(value: float | None) -> str:
    """ROI as every page writes it: a multiple of the cost, '3.95×'; '—' without a cost."""
    return "—" if value is None else f"{value:.2f}×"


def refund_rate(figures: Figures) -> float | None:
    """Refunded ÷ sold (amounts)."""
    return ratio(figures.refunds_amount, figures.revenue_amount)


def bot_share(figures: Figures) -> float | None:
    """Bot clicks ÷ clicks."""
    return ratio(figures.bot_clicks, figures.clicks)


def average_value_amount(figures: Figures) -> int | None:
    """Average value of a new customer: net revenue ÷ new customers."""
    return per(figures.net_revenue_amount, figures.new_customers)


def commission_share(figures: Figures) -> float | None:
    """Commissions ÷ net revenue: what the partners cost out of what their customers paid."""
    return ratio(figures.commissions_amount, figures.net_revenue_amount)


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    definition: str
    kind: str  # count | money | ratio | money_ratio
    value: Callable[[Figures], int | float | None]


def _count(name: str) -> Callable[[Figures], int | float | None]:
    return lambda figures: int(getattr(figures, name))


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("clicks", "Clicks", "Every recorded click, bots included.", "count", _count("clicks")),
        Metric("unique_clicks", "Unique clicks", "Clicks of distinct visitors (truncated IP + user agent) per link "
               "and hour; bots never count.", "count", _count("unique_clicks")),
        Metric("bot_clicks", "Bot clicks", "Clicks by known bots and crawlers.", "count", _count("bot_clicks")),
        Metric("leads", "Leads", "Lead events credited to a partner.", "count", _count("leads")),
        Metric("sales", "Sales", "Sale events credited to a partner.", "count", _count("sales")),
        Metric("new_customers", "New customers", "Customers credited to a partner whose first sale ever falls in "
               "the window.", "count", _count("new_customers")),
        Metric("active_partners", "Active partners", "Partners with at least one click, lead or sale in the window.",
               "count", _count("active_partners")),
        Metric("revenue", "Revenue", "Sales credited to partners, in the program's currency.", "money",
               _count("revenue_amount")),
        Metric("refunds", "Refunds", "Refunds of partner-credited sales.", "money", _count("refunds_amount")),
        Metric("net_revenue", "Net revenue", "Revenue − refunds.", "money",
               lambda figures: figures.net_revenue_amount),
        Metric("commissions", "Commissions", "Partner earnings (refund reversals subtract; rejected ones do not "
               "count), in the program's currency.", "money", _count("commissions_amount")),
        Metric("conversion_rate", "Conversion rate", "Customers with a first sale ÷ unique clicks.", "ratio",
               conversion_rate),
        Metric("lead_to_sale_rate", "Lead-to-sale rate", "Customers with a first sale ÷ leads.", "ratio",
               lead_to_sale_rate),
        Metric("epc", "EPC", "Earnings per click: commissions ÷ clicks.", "money_ratio", epc_amount),
        Metric("cpa", "CPA", "Cost per acquisition: commissions ÷ new customers.", "money_ratio", cpa_amount),
        Metric("roi", "ROI", "(Net revenue − commissions) ÷ commissions.", "ratio", roi),
        Metric("refund_rate", "Refund rate", "Refunded ÷ sold (amounts).", "ratio", refund_rate),
        Metric("bot_share", "Bot share", "Bot clicks ÷ clicks.", "ratio", bot_share),
        Metric("average_value", "Avg. customer value", "Net revenue ÷ new customers (value of a customer brought "
               "in the window, as far as it accrued in it).", "money_ratio", average_value_amount),
        Metric("commission_share", "Commission share", "Commissions ÷ net revenue: the partners' cost as a share "
               "of what their customers paid.", "ratio", commission_share),
    )
}  # fmt: skip


def figures_out(figures: Figures) -> dict[str, int | float | None]:
    """A window's counts and every ratio, as the reports answer them (API.md's field names)."""
    return {
        "clicks": figures.clicks,
        "unique_clicks": figures.unique_clicks,
        "bot_clicks": figures.bot_clicks,
        "leads": figures.leads,
        "sales": figures.sales,
        "new_customers": figures.new_customers,
        "revenue_amount": figures.revenue_amount,
        "refunds_amount": figures.refunds_amount,
        "net_revenue_amount": figures.net_revenue_amount,
        "commissions_amount": figures.commissions_amount,
        "conversion_rate": conversion_rate(figures),
        "lead_to_sale_rate": lead_to_sale_rate(figures),
        "epc_amount": epc_amount(figures),
        "cpa_amount": cpa_amount(figures),
        "roi": roi(figures),
        "refund_rate": refund_rate(figures),
        "bot_share": bot_share(figures),
        "average_value_amount": average_value_amount(figures),
        "commission_share": commission_share(figures),
    }
