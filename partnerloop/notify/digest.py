"""The weekly digest to each program's team: the week's new partners and applications waiting, sales,
commissions earned and payouts paid. A weekly periodic job queues one job per program; each reads its
figures (read only, straight from the tables: report/ and commission/ import notify, so calling their
services would be an import circle) and sends through notify_managers (preferences, unsubscribe)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from partnerloop.jobs.queue import enqueue, job_handler
from partnerloop.kit.money import email_money
from partnerloop.kit.time import utc_now
from partnerloop.models import Commission, Enrollment, Event, Payout, Program
from partnerloop.notify.email import email_settings
from partnerloop.notify.service import Action, notify_managers

WEEKLY_DIGEST_JOB = "notify.weekly_digest"
PROGRAM_DIGEST_JOB = "notify.program_digest"
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class WeekFigures:
    new_partners: int
    waiting_applications: int
    sales: int
    revenue: int  # in the program's currency (program_amount)
    earnings: dict[str, int]  # earnings currency -> amount, reversals netted
    payouts_paid: int
    paid: dict[str, int]


def week_figures(session: Session, program_id: str, since: datetime, until: datetime) -> WeekFigures:
    new_partners = session.execute(
        select(func.count()).where(
            Enrollment.program_id == program_id, Enrollment.created_at >= since, Enrollment.created_at < until
        )
    ).scalar_one()
    waiting = session.execute(
        select(func.count()).where(Enrollment.program_id == program_id, Enrollment.status == "pending")
    ).scalar_one()
    sales, revenue = session.execute(
        select(func.count(), func.coalesce(func.sum(Event.program_amount), 0)).where(
            Event.program_id == program_id, Event.kind == "sale", Event.occurred_at >= since, Event.occurred_at < until
        )
    ).one()
    earnings = session.execute(
        select(Commission.earnings_currency, func.sum(Commission.earnings_amount))
        .where(Commission.program_id == program_id, Commission.created_at >= since, Commission.created_at < until)
        .group_by(Commission.earnings_currency)
    ).all()
    paid = session.execute(
        select(Payout.currency, func.count(), func.sum(Payout.amount))
        .where(
            Payout.program_id == program_id, Payout.status == "paid", Payout.paid_at >= since, Payout.paid_at < until
        )
        .group_by(Payout.currency)
    ).all()
    return WeekFigures(
        new_partners=int(new_partners), waiting_applications=int(waiting), sales=int(sales), revenue=int(revenue or 0),
        earnings={str(currency): int(amount or 0) for currency, amount in earnings},
        payouts_paid=sum(int(count) for _currency, count, _amount in paid),
        paid={str(currency): int(amount or 0) for currency, _count, amount in paid},
    )  # fmt: skip


def digest_lines(figures: WeekFigures, currency: str) -> list[str]:
    """The digest's sentences (pure)."""

    def amounts(by_currency: dict[str, int]) -> str:
        return ", ".join(email_money(amount, code) for code, amount in sorted(by_currency.items())) or "nothing"

    return [
        f"New partners: {figures.new_partners}; applications waiting for a decision: {figures.waiting_applications}.",
        f"Sales: {figures.sales}, worth {email_money(figures.revenue, currency)}.",
        f"Commissions earned by partners: {amounts(figures.earnings)}.",
        f"Payouts paid: {figures.payouts_paid} ({amounts(figures.paid)}).",
    ]


@job_handler(WEEKLY_DIGEST_JOB)
def weekly_digest(session: Session, _payload: dict[str, Any]) -> None:
    """Queue one digest job per program at least a week old (once per program and week, whatever the retries)."""
    now = utc_now()
    week = now.strftime("%G-W%V")
    old_enough = select(Program.id).where(Program.created_at <= now - WEEK).order_by(Program.id)
    for program_id in session.execute(old_enough).scalars():
        enqueue(
            session, PROGRAM_DIGEST_JOB, {"program_id": program_id, "until": utc_now().isoformat()},
            program_id=program_id, unique_key=f"digest:{program_id}:{week}",
        )  # fmt: skip


@job_handler(PROGRAM_DIGEST_JOB)
def program_digest(session: Session, payload: dict[str, Any]) -> None:
    program = session.get(Program, str(payload["program_id"]))
    if program is None:
        return
    until = datetime.fromisoformat(str(payload["until"]))
    figures = week_figures(session, program.id, until - WEEK, until)
    base = email_settings().base_url.rstrip("/")
    notify_managers(
        session, program, "weekly_digest",
        subject=f"[{program.name}] Your week: {figures.sales} sales, {figures.new_partners} new partners",
        lines=[f"{program.name} in the 7 days to {until.date().isoformat()}:", *digest_lines(figures, program.currency)],
        action=Action("Open the dashboard", f"{base}/manage?program={program.id}"),
    )  # fmt: skip
