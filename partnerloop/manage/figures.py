"""The dashboard's figures, put together from the domains that own them: clicks from `link`, leads, sales
and revenue from `conversion`, earnings from `commission`, partners from `partner` (no SQL here).

Money is in the program's currency; commissions earned in another currency are shown apart."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from partnerloop.commission import figures as commissions_of
from partnerloop.commission.figures import Selection
from partnerloop.conversion import figures as conversions_of
from partnerloop.group import service as group_service
from partnerloop.kit.time import utc_now
from partnerloop.link import figures as clicks_of
from partnerloop.manage.rules import Period, SetupFacts, Totals
from partnerloop.models import Commission, Enrollment, Partner, Program
from partnerloop.partner import figures as partners_of
from partnerloop.partner_portal.service import application as application_pages
from partnerloop.program.service import program_out
from partnerloop.report import service as report_service
from partnerloop.report.metrics import Figures
from partnerloop.report.rules import Window

# ------------------------------------------------------------------------------------- overview


def _window(period: Period) -> Window:
    return Window(period.starts_at, period.ends_before)


def _totals(per_day: Mapping[date, Figures]) -> Totals:
    found = sum(per_day.values(), Figures())
    return Totals(
        clicks=found.clicks,
        leads=found.leads,
        sales=found.sales,
        revenue=found.net_revenue_amount,
        commissions=found.commissions_amount,
    )


def totals(session: Session, program: Program, period: Period | None, partner_id: str | None = None) -> Totals:
    """Clicks, leads, sales, net revenue and commissions (program currency) of the period (None: all time),
    as the reports count them (report/metrics.py), read from the rollups."""
    window = _window(period) if period is not None else report_service.lifetime_window(utc_now())
    return _totals(report_service.figures_per_day(session, program, window, partner_id=partner_id))


@dataclass(frozen=True)
class DailyFigures:
    totals: Totals
    clicks: list[tuple[date, int]]
    revenue: list[tuple[date, int]]  # partner-driven sales per UTC day (program currency)


def by_day(session: Session, program: Program, period: Period) -> DailyFigures:
    """The period's totals, and its clicks and partner-driven sales per UTC day (days with none absent),
    from the program's own rollup row of each day."""
    per_day = report_service.figures_per_day(session, program, _window(period))
    days = sorted(per_day.items())
    return DailyFigures(
        totals=_totals(per_day),
        clicks=[(day, found.clicks) for day, found in days if found.clicks],
        revenue=[(day, found.revenue_amount) for day, found in days if found.revenue_amount],
    )


def other_currency_commissions(session: Session, program: Program, period: Period) -> dict[str, int]:
    """Commissions earned in currencies other than the program's (not in the KPIs)."""
    earned = commissions_of.earned_by_currency(session, program.id, period.starts_at, period.ends_before)
    return {currency: total for currency, total in earned.items() if currency != program.currency}


@dataclass(frozen=True)
class PartnerFigures:
    partner_id: str
    name: str
    email: str
    status: str
    clicks: int
    sales: int
    revenue: int
    earnings: int


def top_partners(session: Session, program: Program, period: Period, limit: int = 5) -> list[PartnerFigures]:
    """Partners with the most net revenue in the period (then earnings, then name)."""
    per_partner = report_service.figures_per_partner(session, program, _window(period))
    rank = {key: (found.net_revenue_amount, found.commissions_amount) for key, found in per_partner.items()}
    ranked = sorted(rank.values(), reverse=True)
    cut = ranked[min(limit, len(ranked)) - 1] if ranked else (0, 0)
    # only the partners that can be in the top (those tied with the last place too: names break ties)
    candidates = sorted(key for key, value in rank.items() if value >= cut)
    enrolled = partners_of.enrolled_among(session, program.id, candidates)
    rows = [
        PartnerFigures(
            partner_id=partner_id,
            name=partner.name,
            email=partner.email,
            status=enrollment.status,
            clicks=per_partner[partner_id].clicks,
            sales=per_partner[partner_id].sales,
            revenue=per_partner[partner_id].net_revenue_amount,
            earnings=per_partner[partner_id].commissions_amount,
        )
        for partner_id, (partner, enrollment) in enrolled.items()
    ]
    rows.sort(key=lambda row: (-row.revenue, -row.earnings, row.name))
    return rows[:limit]


def count_enrollments(session: Session, program_id: str, status: str) -> int:
    return partners_of.count_with_status(session, program_id, status)


def commission_counts(session: Session, program_id: str) -> dict[str, int]:
    return commissions_of.status_counts(session, program_id)


@dataclass(frozen=True)
class Activity:
    at: datetime
    kind: str
    text: str
    partner_id: str | None
    partner_name: str | None
    amount: int | None
    currency: str | None


_EVENT_TEXT = {"lead": "New lead", "sale": "Sale", "refund": "Refund"}
_JOIN_TEXT = {"pending": "Applied", "invited": "Invited"}


def recent_activity(session: Session, program_id: str, limit: int = 12) -> list[Activity]:
    """The latest conversions and partner sign-ups, newest first."""
    events = conversions_of.recent_events(session, program_id, limit)
    names = partners_of.names_of(session, {event.partner_id for event in events if event.partner_id})
    items = [
        Activity(
            event.at,
            event.kind,
            _EVENT_TEXT.get(event.kind, event.kind),
            event.partner_id,
            names[event.partner_id][0] if event.partner_id in names else None,
            event.amount,
            event.currency,
        )
        for event in events
    ]
    items += [
        Activity(at, "partner", _JOIN_TEXT.get(status, "Joined"), partner_id, name, None, None)
        for at, status, partner_id, name in partners_of.recent_enrollments(session, program_id, limit)
    ]
    return sorted(items, key=lambda item: item.at, reverse=True)[:limit]


# ------------------------------------------------------------------------------------- partners


@dataclass(frozen=True)
class PartnerRow:
    partner: Partner
    enrollment: Enrollment
    group_name: str | None
    clicks: int
    revenue: int
    earnings: int


_BY_FIGURE = ("revenue", "earnings", "clicks")


def count_partners(session: Session, program: Program, *, search: str, status: str, group_id: str) -> int:
    """How many of the program's partners match (the partners list's filters)."""
    return partners_of.count_matching(session, program.id, search=search, status=status, group_id=group_id)


def partners(
    session: Session,
    program: Program,
    *,
    search: str,
    status: str,
    group_id: str,
    sort: str,
    offset: int,
    limit: int,
) -> tuple[list[PartnerRow], int]:
    """One page of the program's partners with lifetime figures, and how many match in all. Sorted by
    name (the default), newest, or a figure (highest first, then id)."""
    matching = {"search": search, "status": status, "group_id": group_id}
    total = partners_of.count_matching(session, program.id, **matching)
    lifetime = report_service.figures_per_partner(session, program, report_service.lifetime_window(utc_now()))
    revenue = {key: found.net_revenue_amount for key, found in lifetime.items()}
    figures = {
        "revenue": revenue,
        "earnings": {key: found.commissions_amount for key, found in lifetime.items()},
        "clicks": {key: found.clicks for key, found in lifetime.items()},
    }
    if sort in _BY_FIGURE:
        by = figures[sort]
        ids = sorted(partners_of.ids_matching(session, program.id, **matching), key=lambda key: (-by.get(key, 0), key))[
            offset : offset + limit
        ]
        found = partners_of.enrolled_among(session, program.id, ids)
        pairs = [found[key] for key in ids if key in found]
    else:
        newest = sort == "newest"
        pairs = partners_of.page_matching(session, program.id, **matching, newest=newest, offset=offset, limit=limit)
    group_names = {group.id: group.name for group in group_service.groups_by_name(session, program.id)}
    rows = [
        PartnerRow(
            partner,
            enrollment,
            group_names.get(enrollment.group_id) if enrollment.group_id else None,
            figures["clicks"].get(partner.id, 0),
            revenue.get(partner.id, 0),
            figures["earnings"].get(partner.id, 0),
        )
        for partner, enrollment in pairs
    ]
    return rows, total


# ---------------------------------------------------------------------------------- commissions


@dataclass(frozen=True)
class CommissionFilter:
    statuses: tuple[str, ...]
    partner_id: str = ""
    kind: str = ""
    search: str = ""  # a partner's name or email (part of it), or a commission id
    since: datetime | None = None
    until: datetime | None = None


def _selection(session: Session, program_id: str, where: CommissionFilter) -> Selection:
    search = where.search.strip()
    return Selection(
        statuses=where.statuses,
        partner_id=where.partner_id,
        kind=where.kind,
        partner_ids=tuple(partners_of.ids_by_name_or_email(session, program_id, search)) if search else None,
        commission_id=search,
        since=where.since,
        until=where.until,
    )


def _named(session: Session, rows: list[Commission]) -> list[tuple[Commission, str, str]]:
    names = partners_of.names_of(session, {commission.partner_id for commission in rows})
    return [(commission, *names.get(commission.partner_id, ("", ""))) for commission in rows]


def commissions(
    session: Session, program_id: str, where: CommissionFilter, *, offset: int, limit: int, sort: str = "date"
) -> tuple[list[tuple[Commission, str, str]], int]:
    """One page of matching commissions in `sort` order (COMMISSION_SORTS), each with its partner's name and
    email; and the count."""
    rows, total = commissions_of.selected(
        session, program_id, _selection(session, program_id, where), offset=offset, limit=limit, order=sort
    )
    return _named(session, rows), total


def count_commissions(session: Session, program_id: str, where: CommissionFilter) -> int:
    """How many commissions match."""
    return commissions_of.count_selected(session, program_id, _selection(session, program_id, where))


def commissions_for_export(
    session: Session, program_id: str, where: CommissionFilter, batch: int = 1000
) -> Iterator[tuple[Commission, str, str]]:
    """Every matching commission, oldest first, with its partner's name and email (fetched in batches)."""
    for chunk in commissions_of.stream_selected(session, program_id, _selection(session, program_id, where), batch):
        yield from _named(session, chunk)


def commission_sums(session: Session, program_id: str, where: CommissionFilter) -> dict[str, int]:
    return commissions_of.selected_sums(session, program_id, _selection(session, program_id, where))


def setup_facts(session: Session, program: Program) -> SetupFacts:
    """What the first-run checklist reads: a handful of cheap look-ups (it shows until all is done)."""
    tracked = conversions_of.has_events(session, program.id) or clicks_of.clicks(session, program.id) > 0
    return SetupFacts(
        currency=program.currency,
        has_default_plan=program.default_plan_id is not None,
        allowed_domains=len(program.allowed_domains or []),
        stripe_connected=program_out(program).stripe_webhook_secret_set,
        tracked_anything=tracked,
        application_saved=application_pages.application_form(session, program.id) is not None,
        partners=partners_of.count_matching(session, program.id, search="", status="", group_id=""),
    )
