"""What a partner reads and does: the dashboard, onboarding, links, commissions, the profile."""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import segno
from sqlalchemy.orm import Session

from partnerloop.commission import service as commission_service
from partnerloop.commission.rules import CommissionStatus
from partnerloop.config import Settings
from partnerloop.kit.errors import AppError, InvalidInput, NotFound
from partnerloop.kit.money import format_money
from partnerloop.kit.time import utc_now
from partnerloop.ledger import service as ledger_service
from partnerloop.ledger.rules import Balance
from partnerloop.link import service as link_service
from partnerloop.link.schemas import LinkIn, LinkPatch
from partnerloop.models import Commission, Enrollment, Link, Partner, Plan, Program, Resource
from partnerloop.partner_portal import groups, repository
from partnerloop.partner_portal.rules import (
    Checklist,
    ChecklistFacts,
    DateRange,
    NextPayout,
    conversion_rate,
    destination_with_utm,
    earnings_per_click,
    is_country_code,
    is_web_url,
    next_payout,
    onboarding_checklist,
    personalize,
    profile_complete,
    site_urls,
    utm_problem,
)
from partnerloop.partner_portal.service import library, payouts
from partnerloop.plan import service as plan_service
from partnerloop.plan.terms import ProgramTerms, plan_in_words, program_in_words
from partnerloop.web.charts import bar_chart_svg, daily_series

COMMISSIONS_PER_PAGE = 25


class PortalError(AppError):
    status_code = 422


class LinkNotFound(NotFound):
    pass


# ----------------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Terms:
    plan_name: str | None
    plan_lines: list[str]
    program_lines: list[str]


def partner_plan_row(session: Session, program: Program, enrollment: Enrollment | None) -> Plan | None:
    """The plan that prices the partner's commissions (as the commission engine chooses it)."""
    if enrollment is None:  # a partner yet to come: the program's default plan
        plan_id = program.default_plan_id
    else:
        terms = commission_service.partner_plan(session, program, enrollment)
        plan_id = None if terms is None else terms.id
    return None if plan_id is None else plan_service.find_plan(session, program.id, plan_id)


def terms_for(session: Session, program: Program, enrollment: Enrollment) -> Terms:
    plan = partner_plan_row(session, program, enrollment)
    program_lines = program_in_words(
        ProgramTerms(
            currency=program.currency,
            cookie_days=program.cookie_days,
            attribution_model=program.attribution_model,
            hold_days=program.hold_days,
            min_payout_amount=program.min_payout_amount,
        )
    )
    if plan is None:
        return Terms(None, [], program_lines)
    lines = plan_in_words(
        plan.rules, program.currency, bonuses=plan.bonuses or [], group_names=groups.group_names(session, program.id)
    )
    return Terms(plan.name, lines, program_lines)


# ---------------------------------------------------------------------------------- onboarding


def checklist(session: Session, program: Program, partner: Partner) -> Checklist:
    return onboarding_checklist(
        ChecklistFacts(
            profile_complete=profile_complete(partner.name, partner.country, partner.website),
            payout_details=payouts.has_method(session, program, partner),
            links=repository.count_live_links(session, program.id, partner.id),
            clicks=repository.total_clicks(session, program.id, partner.id),
        )
    )


@dataclass(frozen=True)
class Onboarding:
    kit: library.KitIn
    terms: Terms
    checklist: Checklist
    resources: list[Resource]


def onboarding(session: Session, program: Program, partner: Partner, enrollment: Enrollment) -> Onboarding:
    return Onboarding(
        kit=library.welcome_kit(session, program.id),
        terms=terms_for(session, program, enrollment),
        checklist=checklist(session, program, partner),
        resources=library.resources_for_partner(session, program.id, groups.group_of(enrollment)),
    )


def update_profile(session: Session, partner: Partner, *, name: str, country: str, website: str) -> Partner:
    name, country, website = name.strip(), country.strip().lower(), website.strip()
    if not name or len(name) > 200:
        raise PortalError("Give your name (at most 200 characters).")
    if country and not is_country_code(country):
        raise PortalError("Choose a country.")
    if website and (not is_web_url(website) or len(website) > 500):
        raise PortalError("The website must be a web address starting with https:// or http://.")
    partner.name, partner.country, partner.website = name, country or None, website or None
    session.flush()
    return partner


# ----------------------------------------------------------------------------------- dashboard


@dataclass(frozen=True)
class Dashboard:
    range: DateRange
    clicks: int
    unique_clicks: int
    leads: int
    sales: int
    conversion: str
    revenue: dict[str, int]
    earnings: dict[str, int]
    epc: dict[str, int]
    balances: list[Balance]
    next_payout: NextPayout
    clicks_chart: str
    earnings_chart: str
    checklist: Checklist


def balances(session: Session, program: Program, partner: Partner) -> list[Balance]:
    """Pending, approved and paid earnings per currency: sums of the partner's ledger postings."""
    found = ledger_service.balances(session, program.id, partner.id)
    if not any(balance.currency == program.currency for balance in found):
        found.insert(0, ledger_service.balance(session, program.id, partner.id, program.currency))
    return found


def _per_day(points: list[tuple[date, int]]) -> list[tuple[date, int]]:
    totals: dict[date, int] = defaultdict(int)
    for day, value in points:
        totals[day] += value
    return sorted(totals.items())


def dashboard(
    session: Session,
    program: Program,
    partner: Partner,
    period: DateRange,
    link_id: str | None = None,
    *,
    money: Callable[[int, str], str] = format_money,
) -> Dashboard:
    """The partner's figures over `period`; amounts in words by `money` (the viewer's locale on a page)."""
    today = utc_now().date()
    since, until = period.since(), period.until()
    clicks_days = repository.clicks_by_day(session, program.id, partner.id, period.start, period.end, link_id)
    clicks = sum(total for _day, total, _bots in clicks_days)
    events = repository.conversions(session, program.id, partner.id, since, until, link_id)
    leads = sum(1 for kind, *_ in events if kind == "lead")
    sales = [(amount or 0, currency or program.currency) for kind, _at, amount, currency in events if kind == "sale"]
    revenue: dict[str, int] = defaultdict(int)
    for amount, currency in sales:
        revenue[currency] += amount
    earned_rows = repository.earnings_in_range(session, program.id, partner.id, since, until, link_id)
    earnings: dict[str, int] = defaultdict(int)
    for _at, amount, currency in earned_rows:
        earnings[currency] += amount
    epc = {
        currency: value
        for currency, amount in earnings.items()
        if (value := earnings_per_click(amount, clicks)) is not None
    }
    partner_balances = balances(session, program, partner)
    approved = next(b.available_amount for b in partner_balances if b.currency == program.currency)
    chart_currency = program.currency
    earnings_days = _per_day(
        [(at.date(), amount) for at, amount, currency in earned_rows if currency == chart_currency]
    )
    return Dashboard(
        range=period,
        clicks=clicks,
        unique_clicks=repository.unique_clicks(session, program.id, partner.id, since, until, link_id),
        leads=leads,
        sales=len(sales),
        conversion=conversion_rate(len(sales), clicks),
        revenue=dict(revenue),
        earnings=dict(earnings),
        epc=epc,
        balances=partner_balances,
        next_payout=next_payout(
            approved,
            program.min_payout_amount,
            program.currency,
            repository.next_approval(session, program.id, partner.id),
            next_run=payouts.schedule_of(session, program, today)[1],
            has_payout_method=payouts.has_method(session, program, partner),
            money=money,
        ),
        clicks_chart=bar_chart_svg(
            daily_series([(day, total) for day, total, _bots in clicks_days], period.start, period.end),
            title="Clicks per day",
            empty_text="No clicks in this period",
        ),
        earnings_chart=bar_chart_svg(
            [(day, max(value, 0)) for day, value in daily_series(earnings_days, period.start, period.end)],
            title=f"Earnings per day ({chart_currency.upper()})",
            label=lambda value: money(value, chart_currency),
            value_unit=chart_currency.upper(),
            empty_text="No earnings in this period",
        ),
        checklist=checklist(session, program, partner),
    )


# --------------------------------------------------------------------------------------- links


@dataclass(frozen=True)
class LinkRow:
    link: Link
    short_url: str
    clicks: int
    customers: int
    sales: int


def short_url(settings: Settings, link: Link) -> str:
    return f"{settings.base_url.rstrip('/')}/go/{link.key}"


def links(session: Session, settings: Settings, program: Program, partner: Partner) -> list[LinkRow]:
    rows = repository.live_links(session, program.id, partner.id)
    ids = [link.id for link in rows]
    clicks = repository.link_click_totals(session, ids)
    conversions = repository.link_conversion_totals(session, program.id, partner.id, ids)
    return [
        LinkRow(link, short_url(settings, link), clicks.get(link.id, 0), *conversions.get(link.id, (0, 0)))
        for link in rows
    ]


@dataclass(frozen=True)
class ShareKit:
    """What the partner shares, first thing on the dashboard: their default link (the first they made,
    None before any), their referral code and the program's site with the code (`?ref=` / `?via=`)."""

    link: LinkRow | None
    referral_code: str
    site_urls: list[tuple[str, str]]
    first_destination: str  # where a first link sends visitors

    @property
    def share_url(self) -> str:
        """The one URL that credits the partner: the default link, else the site with `?ref=`."""
        if self.link is not None:
            return self.link.short_url
        return self.site_urls[0][1] if self.site_urls else ""


def share_kit(
    session: Session, settings: Settings, program: Program, partner: Partner, enrollment: Enrollment
) -> ShareKit:
    rows = links(session, settings, program, partner)  # newest first
    domains = list(program.allowed_domains)
    return ShareKit(
        link=rows[-1] if rows else None,
        referral_code=enrollment.referral_code,
        site_urls=site_urls(domains, list(program.link_params), enrollment.referral_code),
        first_destination=f"https://{domains[0]}/" if domains else "",
    )


def personalized_resources(resources: list[Resource], kit: ShareKit) -> dict[str, str]:
    """resource id -> its swipe copy with the partner's own link and code."""
    return {
        resource.id: personalize(resource.body, kit.share_url, kit.referral_code)
        for resource in resources
        if resource.kind == "swipe_copy" and resource.body
    }


@dataclass(frozen=True)
class LinkBuilderIn:
    destination_url: str
    key: str = ""
    utm: dict[str, str] | None = None


def build_link(session: Session, program: Program, partner: Partner, body: LinkBuilderIn) -> Link:
    """A new short link of the partner: destination on an allowed domain, optional custom key and UTM fields."""
    utm = body.utm or {}
    problem = utm_problem(utm)
    if problem:
        raise InvalidInput(problem)
    destination = body.destination_url.strip()
    if not destination:
        raise InvalidInput(
            "Give the page to send visitors to, e.g. https://" + (program.allowed_domains or ["example.com"])[0] + "/"
        )
    if not is_web_url(destination):
        raise InvalidInput("The destination must be a web address starting with https:// or http://.")
    return link_service.create_link(
        session,
        program,
        LinkIn(
            partner_id=partner.id, destination_url=destination_with_utm(destination, utm), key=body.key.strip() or None
        ),
    )


def partner_link(session: Session, program: Program, partner: Partner, link_id: str) -> Link:
    link = repository.partner_link(session, program.id, partner.id, link_id)
    if link is None:
        raise LinkNotFound("No such link among yours.")
    return link


def change_destination(session: Session, program: Program, partner: Partner, link_id: str, destination: str) -> Link:
    """The partner's own link sends visitors to another page (on an allowed domain)."""
    link = partner_link(session, program, partner, link_id)
    destination = destination.strip()
    if not is_web_url(destination):
        raise InvalidInput("The destination must be a web address starting with https:// or http://.")
    return link_service.update_link(session, program, link.id, LinkPatch(destination_url=destination))


def archive_link(session: Session, program: Program, partner: Partner, link_id: str) -> Link:
    """The partner's own link stops redirecting and leaves their list; its clicks stay in the figures."""
    link = partner_link(session, program, partner, link_id)
    link_service.delete_link(session, program, link.id)
    return link


def qr_code(url: str, kind: str) -> tuple[bytes, str]:
    """The URL as a QR code: ("svg" | "png") bytes and their media type."""
    code = segno.make(url, error="m")
    buffer = io.BytesIO()
    if kind == "png":
        code.save(buffer, kind="png", scale=8, border=4)
        return buffer.getvalue(), "image/png"
    code.save(buffer, kind="svg", scale=6, border=4, xmldecl=False, title=url)
    return buffer.getvalue(), "image/svg+xml"


# --------------------------------------------------------------------------------- commissions


@dataclass(frozen=True)
class CommissionRow:
    commission: Commission
    invoice_id: str | None
    product_id: str | None


def commissions(
    session: Session, program: Program, partner: Partner, status: str | None, cursor: str | None
) -> tuple[list[CommissionRow], str | None]:
    if status and status not in CommissionStatus.__members__.values():
        raise PortalError(f"Status is one of {', '.join(CommissionStatus)}.")
    rows, next_cursor = repository.commissions_page(
        session, program.id, partner.id, status or None, cursor or None, COMMISSIONS_PER_PAGE
    )
    return [CommissionRow(*row) for row in rows], next_cursor
