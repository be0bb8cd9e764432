"""Alerts: run the rules on each conversion and on schedules, keep one open alert per rule and subject,
hold what a fraud rule flags, tell the program's managers, and let a manager resolve or dismiss.

Commissions change only through commission/service: a flagged conversion's pending commissions are
held by `hold_for_alert`, and a manager's decision on closing the alert approves or rejects them there.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy.orm import Session

from partnerloop.alert import repository
from partnerloop.alert.rules import (
    THRESHOLDS,
    AlertKind,
    AlertStatus,
    ConversionFacts,
    Finding,
    LinkWindow,
    PartnerPeriod,
    bot_traffic,
    card_fingerprint,
    click_spike,
    closing,
    conversion_drop,
    conversion_findings,
    effective_thresholds,
    gone_quiet,
    ip_concentration,
    leads_without_sales,
    merged_evidence,
    performance_dip,
    refund_rate,
    threshold_problem,
)
from partnerloop.commission import service as commission_service
from partnerloop.conversion.screens import add_rescreen, add_screen
from partnerloop.kit.emails import normalize_email
from partnerloop.kit.errors import Conflict, InvalidInput, NotFound
from partnerloop.kit.pagination import check_limit
from partnerloop.kit.time import utc_now
from partnerloop.kit.urls import website_host
from partnerloop.models import Alert, Commission, Customer, Event, Program
from partnerloop.notify.email import email_settings
from partnerloop.notify.service import Action, notify_managers
from partnerloop.report.dimensions import referrer_host
from partnerloop.report.metrics import Figures
from partnerloop.report.rules import Window
from partnerloop.report.service import daily_partner_figures
from partnerloop.webhook.service import emit

RULES_ACTOR = "alerts"
COMMISSION_CHOICES = ("keep", "approve", "reject")


class AlertNotFound(NotFound):
    pass


class AlertClosed(Conflict):
    pass


class InvalidThreshold(InvalidInput):
    pass


class InvalidAlertAction(InvalidInput):
    pass


# --------------------------------------------------------------------------------------- thresholds


def thresholds(session: Session, program: Program) -> dict[str, float]:
    stored = repository.settings(session, program.id)
    return effective_thresholds(stored.thresholds if stored else None)


def update_thresholds(session: Session, program: Program, changes: dict[str, Any], *, actor: str) -> dict[str, float]:
    """Change some thresholds (422 naming the first bad one, nothing stored); returns them all."""
    problem = threshold_problem(changes)
    if problem is not None:
        raise InvalidThreshold(f"{problem[0]}: {problem[1]}")
    stored = repository.settings(session, program.id)
    merged = {**(stored.thresholds if stored else {}), **{name: float(value) for name, value in changes.items()}}
    repository.save_settings(session, program.id, merged, actor)
    return effective_thresholds(merged)


def thresholds_out(values: dict[str, float]) -> dict[str, Any]:
    return {
        name: {"value": int(values[name]) if threshold.integer else values[name], "default": threshold.default,
               "min": threshold.low, "max": threshold.high, "label": threshold.label}
        for name, threshold in THRESHOLDS.items()
    }  # fmt: skip


# ---------------------------------------------------------------------------------------- raising


def raise_alert(session: Session, program: Program, finding: Finding, now: datetime) -> tuple[Alert, bool]:
    """The open alert of the finding's rule and subject, seen once more, or a new one (True) told to the
    program's managers."""
    existing = repository.open_alert(session, program.id, finding.kind.value, finding.subject)
    if existing is None:
        created = repository.insert_open_alert(session, {
            "program_id": program.id, "kind": finding.kind.value, "severity": finding.severity,
            "category": finding.kind.category, "subject": finding.subject, "partner_id": finding.partner_id,
            "link_id": finding.link_id, "detail": finding.detail[:1000], "evidence": finding.evidence,
            "created_at": now, "last_seen_at": now,
        })  # fmt: skip
        if created is not None:
            _tell_managers(session, program, created)
            emit(session, program.id, "alert.raised", jsonable_encoder(alert_out(created)))
            return created, True
        existing = repository.open_alert(session, program.id, finding.kind.value, finding.subject)
        assert existing is not None  # the insert lost to a concurrent one, which is open
    existing.occurrences += 1
    existing.last_seen_at = now
    existing.detail = finding.detail[:1000]
    existing.evidence = merged_evidence(existing.evidence or {}, finding.evidence)
    session.flush()
    return existing, False


def _tell_managers(session: Session, program: Program, alert: Alert) -> None:
    subject = f"[{program.name}] {alert.severity} alert: {alert.kind.replace('_', ' ')}"
    base = email_settings().base_url.rstrip("/")
    notify_managers(
        session, program, "alert_raised", subject=subject,
        lines=[alert.detail, f"Kind: {alert.kind} ({alert.category}), subject: {alert.subject}."],
        action=Action("Review it in the dashboard", f"{base}/manage/alerts/{alert.id}?program={program.id}"),
    )  # fmt: skip


def alert_label(alert: Alert) -> str:
    return f"alert {alert.kind} {alert.id}"


# ----------------------------------------------------------------------------------- on conversion


def _conversion_facts(session: Session, program: Program, customer: Customer, event: Event) -> ConversionFacts | None:
    partner_id = event.partner_id or customer.partner_id
    if partner_id is None:
        return None
    partner = repository.partner(session, partner_id)
    if partner is None:
        return None
    hashes = repository.email_hashes(partner.email, normalize_email(partner.email))
    customer_stripe, cards = repository.customer_stripe_facts(session, program.id, customer.external_id)
    # The partner's own Stripe customers are looked for only when this customer has one (no index on
    # customers.email_hash: the tracking path does not pay for a scan it cannot use).
    partner_customers = (
        repository.customers_with_email(session, program.id, hashes, customer.id) if customer_stripe else []
    )
    click = repository.click_seen(session, program.id, event.click_id or customer.click_id)
    if cards:  # the partner's cards are looked for only when Stripe showed this customer's
        partner_customers = partner_customers or repository.customers_with_email(
            session, program.id, hashes, customer.id
        )
    return ConversionFacts(
        event_kind=event.kind,
        event_id=event.id,
        occurred_at=event.occurred_at,
        partner_id=partner_id,
        customer_id=customer.id,
        customer_email_hash=customer.email_hash,
        partner_email_hashes=hashes,
        customer_stripe_ids=customer_stripe,
        partner_stripe_ids=repository.stripe_ids(session, program.id, partner_customers),
        click=click,
        partner_devices=repository.partner_devices(session, partner.user_id),
        coupon_code=event.coupon_code,
        referrer_host=referrer_host(click.referrer) if click is not None else "",
        partner_sites=frozenset(host for host in [website_host(partner.website)] if host),
        program_sites=frozenset(str(domain).removeprefix("www.") for domain in program.allowed_domains or []),
        customer_cards=cards,
        partner_cards=repository.partner_cards(session, program.id, hashes, partner_customers)
        if cards
        else frozenset(),
        card_sharing=repository.card_sharing(session, program.id, partner_id, cards, customer.external_id),
    )


def screen_conversion(
    session: Session, program: Program, customer: Customer, event: Event, commissions: list[Commission]
) -> list[Commission]:
    """Run the fraud rules on a lead or sale just recorded; a flagged one's pending commissions go on hold
    naming the alert. Returns the commissions (their status as it is now)."""
    facts = _conversion_facts(session, program, customer, event)
    if facts is None:
        return commissions
    findings = conversion_findings(facts, thresholds(session, program))
    now = utc_now()
    for finding in findings:
        _raise_and_hold(session, program, finding, commissions, now)
    return commissions


def _raise_and_hold(
    session: Session, program: Program, finding: Finding, commissions: list[Commission], now: datetime
) -> None:
    alert, _created = raise_alert(session, program, finding, now)
    if finding.kind.holds_commissions and commissions:
        held = commission_service.hold_for_alert(session, program, commissions, alert_label(alert), actor=RULES_ACTOR)
        if held:
            alert.evidence = {**alert.evidence, "held_commission_ids": sorted(
                {*alert.evidence.get("held_commission_ids", []), *(row.id for row in held)})}  # fmt: skip


RESCREEN_LIMIT = 20  # the customer's latest credited conversions looked at again when a card arrives


def rescreen_cards(session: Session, program: Program, external_id: str) -> None:
    """A Stripe card arrived for the customer after their conversions were screened (the charge after its
    invoice): the card rule judges their latest credited leads and sales again, holding what it flags."""
    customer = repository.customer_by_external_id(session, program.id, external_id)
    if customer is None:
        return
    limits, now = thresholds(session, program), utc_now()
    for event in repository.credited_conversions(session, customer.id, RESCREEN_LIMIT):
        facts = _conversion_facts(session, program, customer, event)
        finding = card_fingerprint(facts, limits) if facts is not None else None
        if finding is not None:
            _raise_and_hold(session, program, finding, commission_service.commissions_of_event(session, event.id), now)


# ------------------------------------------------------------------------------------ click scans


def scan_clicks(session: Session, now: datetime) -> int:
    """The every-minute scan: click spikes, IP concentration and bot share over the last minutes of
    clicks of every program. Returns the alerts raised or seen again."""
    raised = 0
    earliest = now - timedelta(minutes=THRESHOLDS["scan_minutes"].high)
    for program in repository.programs_with_clicks_since(session, earliest):
        raised += scan_program_clicks(session, program, now)
    return raised


def scan_program_clicks(session: Session, program: Program, now: datetime) -> int:
    limits = thresholds(session, program)
    minutes = int(limits["scan_minutes"])
    since = now - timedelta(minutes=minutes)
    per_link = repository.recent_link_clicks(session, program.id, since)
    if not per_link:
        return 0
    link_ids = [link for link, _partner, _clicks, _bots in per_link]
    today = now.date()
    week = repository.rollup_clicks(session, program.id, link_ids, today - timedelta(days=7), today - timedelta(days=1))
    windows_per_week = 7 * 24 * 60 / minutes
    candidates = [link for link, _p, clicks, _b in per_link if clicks >= min(limits["ip_concentration_min_clicks"],
                                                                            limits["click_spike_min_clicks"])]  # fmt: skip
    networks = repository.top_networks(session, program.id, candidates, since)
    keys = repository.link_keys(session, link_ids)
    findings: list[Finding] = []
    per_partner: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for link_id, partner_id, clicks, bots in per_link:
        window = LinkWindow(link_id, keys.get(link_id, link_id), partner_id, clicks, bots,
                            week.get(link_id, 0) / windows_per_week, networks.get(link_id, []), minutes)  # fmt: skip
        findings += [f for f in (click_spike(window, limits), ip_concentration(window, limits)) if f is not None]
        per_partner[partner_id][0] += clicks
        per_partner[partner_id][1] += bots
    for partner_id, (clicks, bots) in per_partner.items():
        found = bot_traffic(partner_id, clicks, bots, minutes, limits)
        if found is not None:
            findings.append(found)
    for finding in findings:
        raise_alert(session, program, finding, now)
    return len(findings)


# ------------------------------------------------------------------------------ performance scans


def _periods(session: Session, program: Program, now: datetime, quiet_days: int) -> list[PartnerPeriod]:
    """Each partner's and the program's last 7 days against the 28 before (whole UTC days up to today)."""
    today = now.date()
    current = (today - timedelta(days=7), today - timedelta(days=1))
    baseline = (today - timedelta(days=35), today - timedelta(days=8))
    quiet_first = today - timedelta(days=quiet_days - 1)
    start = datetime(baseline[0].year, baseline[0].month, baseline[0].day, tzinfo=now.tzinfo)
    if quiet_first < baseline[0]:
        start = datetime(quiet_first.year, quiet_first.month, quiet_first.day, tzinfo=now.tzinfo)
    daily = daily_partner_figures(session, program, Window(start, now))
    sums: dict[tuple[str, str], Figures] = defaultdict(Figures)
    for (day, partner), figures in daily.items():
        names = [name for name, (first, last) in (("current", current), ("baseline", baseline)) if first <= day <= last]
        if day >= quiet_first:
            names.append("quiet")
        for name in names:
            sums[(partner, name)] = sums[(partner, name)] + figures
            sums[("", name)] = sums[("", name)] + figures
    partners = {partner for partner, _name in sums if partner}
    periods = []
    for partner in [*sorted(partners), ""]:
        now_f, base_f, quiet_f = sums[(partner, "current")], sums[(partner, "baseline")], sums[(partner, "quiet")]
        periods.append(PartnerPeriod(
            partner_id=partner or None, clicks=now_f.clicks, baseline_clicks=base_f.clicks,
            unique_clicks=now_f.unique_clicks, new_customers=now_f.new_customers,
            baseline_unique_clicks=base_f.unique_clicks, baseline_new_customers=base_f.new_customers,
            conversions=quiet_f.leads + quiet_f.sales, quiet_clicks=quiet_f.clicks,
        ))  # fmt: skip
    return periods


def scan_program_performance(session: Session, program: Program, now: datetime) -> int:
    limits = thresholds(session, program)
    findings: list[Finding] = []
    for period in _periods(session, program, now, int(limits["quiet_days"])):
        for rule in (performance_dip, conversion_drop, gone_quiet):
            found = rule(period, limits)
            if found is not None:
                findings.append(found)
    refunds = repository.refund_counts(session, program.id, now - timedelta(days=90))
    program_sales = sum(sales for sales, _r in refunds.values())
    program_refunded = sum(refunded for _s, refunded in refunds.values())
    for partner_id, (sales, refunded) in refunds.items():
        found = refund_rate(partner_id, sales, refunded, program_sales, program_refunded, limits)
        if found is not None:
            findings.append(found)
    month = daily_partner_figures(session, program, Window(now - timedelta(days=30), now))
    leads: dict[str, Figures] = defaultdict(Figures)
    for (_day, partner), figures in month.items():
        leads[partner] = leads[partner] + figures
    for partner_id, figures in leads.items():
        found = leads_without_sales(partner_id, figures.leads, figures.sales, limits)
        if found is not None:
            findings.append(found)
    for finding in findings:
        raise_alert(session, program, finding, now)
    return len(findings)


def scan_performance(session: Session, now: datetime) -> int:
    """The hourly scan of every program: dips, drops, quiet partners, refund rates, leads without sales."""
    return sum(scan_program_performance(session, program, now) for program in repository.programs(session))


# ---------------------------------------------------------------------------------------- reading


def get_alert(session: Session, program: Program, alert_id: str, *, lock: bool = False) -> Alert:
    alert = repository.get(session, program.id, alert_id, lock=lock)
    if alert is None:
        raise AlertNotFound(f"No alert {alert_id} in this program.")
    return alert


def list_alerts(
    session: Session,
    program: Program,
    *,
    status: str | None = None,
    kind: str | None = None,
    partner_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Alert], str | None]:
    if status is not None and status not in AlertStatus.__members__.values():
        raise InvalidAlertAction(f"status: one of {', '.join(AlertStatus)}.")
    if kind is not None and kind not in AlertKind.__members__.values():
        raise InvalidAlertAction(f"kind: one of {', '.join(AlertKind)}.")
    limit = check_limit(limit)
    alerts = repository.page(session, program.id, status=status, kind=kind, partner_id=partner_id, after=cursor,
                             limit=limit + 1)  # fmt: skip
    more = len(alerts) > limit
    alerts = alerts[:limit]
    return alerts, (alerts[-1].id if more and alerts else None)


def alert_out(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind,
        "category": alert.category,
        "severity": alert.severity,
        "subject": alert.subject,
        "partner_id": alert.partner_id,
        "link_id": alert.link_id,
        "detail": alert.detail,
        "status": alert.status,
        "occurrences": alert.occurrences,
        "created_at": alert.created_at.isoformat(),
        "last_seen_at": alert.last_seen_at.isoformat(),
        "closed_at": alert.closed_at.isoformat() if alert.closed_at else None,
        "closed_by": alert.closed_by,
        "note": alert.note,
        "evidence": alert.evidence or {},
    }


# ---------------------------------------------------------------------------------------- closing


def close_alert(
    session: Session,
    program: Program,
    alert_id: str,
    action: str,
    *,
    note: str | None,
    commissions: str = "keep",
    actor: str,
) -> Alert:
    """resolve | dismiss an open alert with a note; the commissions it held are kept on hold, approved or
    rejected as the manager chose. A closed alert is a 409."""
    if commissions not in COMMISSION_CHOICES:
        raise InvalidAlertAction(f"commissions: one of {', '.join(COMMISSION_CHOICES)}.")
    alert = get_alert(session, program, alert_id, lock=True)
    target = closing(alert.status, action)
    if target is None:
        raise AlertClosed(f"Alert {alert_id} is {alert.status} already.")
    now = utc_now()
    decided = []
    if commissions != "keep":
        for commission_id in (alert.evidence or {}).get("held_commission_ids", []):
            row = commission_service.get_commission(session, program, commission_id)
            if row.status == "on_hold":
                commission_service.change_status(session, program, commission_id, commissions, actor=actor)
                decided.append(commission_id)
    alert.status = target.value
    alert.open_key = alert.id
    alert.closed_at = now
    alert.closed_by = actor
    alert.note = (note or "").strip()[:1000] or None
    if decided:
        alert.evidence = {**(alert.evidence or {}), "decided": {"commissions": commissions, "ids": decided}}
    session.flush()
    return alert


def evidence_clicks(session: Session, program: Program, alert: Alert, limit: int = 25) -> list[Any]:
    """The latest clicks behind an alert (its link's, else its partner's) since a day before it opened:
    the review page's evidence of IPs, agents and timings."""
    if alert.link_id is None and alert.partner_id is None:
        return []
    return repository.recent_clicks_of(
        session, program.id, link_id=alert.link_id, partner_id=None if alert.link_id else alert.partner_id,
        since=alert.created_at - timedelta(days=1), limit=limit,
    )  # fmt: skip


def held_commissions(session: Session, program: Program, alert: Alert) -> list[Commission]:
    """The commissions the alert put on hold, as they are now."""
    return [
        commission_service.get_commission(session, program, commission_id)
        for commission_id in (alert.evidence or {}).get("held_commission_ids", [])
    ]


add_screen(screen_conversion)  # every lead and sale recorded in this process is screened (conversion/screens.py)
add_rescreen(rescreen_cards)  # and screened again for cards when Stripe shows one later
