"""The rows a `hubspot.sync` job upserts, read in its short first transaction: partners with their
program, group, revenue and earnings, the referred customers with their partner's email, and sales."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from partnerloop.integrations.hubspot.rules import customer_contact, partner_contact, sale_deal
from partnerloop.models import Commission, Customer, Enrollment, Group, Partner, Program

UNEARNED = ("rejected",)


def _totals(session: Session, program_id: str, partner_ids: list[str]) -> dict[str, tuple[int, int]]:
    """partner id -> (revenue: sales in the program currency, earnings: commissions not rejected)."""
    revenue = func.sum(case((Commission.kind == "sale", func.coalesce(Commission.program_amount, 0)), else_=0))
    earnings = func.sum(case((Commission.status.in_(UNEARNED), 0), else_=Commission.earnings_amount))
    rows = session.execute(
        select(Commission.partner_id, revenue, earnings)
        .where(Commission.program_id == program_id, Commission.partner_id.in_(partner_ids))
        .group_by(Commission.partner_id)
    ).all()
    return {str(row[0]): (int(row[1] or 0), int(row[2] or 0)) for row in rows}


def partner_rows(session: Session, program: Program, partner_ids: list[str]) -> list[dict[str, Any]]:
    if not partner_ids:
        return []
    rows = session.execute(
        select(Partner, Enrollment, Group.name)
        .join(Enrollment, Enrollment.partner_id == Partner.id)
        .outerjoin(Group, Group.id == Enrollment.group_id)
        .where(Enrollment.program_id == program.id, Partner.id.in_(partner_ids))
        .order_by(Partner.id)
    ).all()
    totals = _totals(session, program.id, partner_ids)
    return [
        partner_contact(
            {
                "email": partner.email,
                "name": partner.name,
                "status": enrollment.status,
                "group": group,
                "revenue": totals.get(partner.id, (0, 0))[0],
                "earnings": totals.get(partner.id, (0, 0))[1],
            },
            program.name,
            program.currency,
        )
        for partner, enrollment, group in rows
    ]


def customer_rows(
    session: Session, program: Program, customer_ids: list[str]
) -> list[tuple[dict[str, Any], str | None]]:
    """Each customer contact with the email of the partner credited with it (None: nobody)."""
    if not customer_ids:
        return []
    rows = session.execute(
        select(Customer, Partner.email)
        .outerjoin(Partner, Partner.id == Customer.partner_id)
        .where(Customer.program_id == program.id, Customer.id.in_(customer_ids))
        .order_by(Customer.id)
    ).all()
    return [
        (
            customer_contact(
                {"id": customer.id, "external_id": customer.external_id, "name": customer.name}, program.name
            ),
            email,
        )
        for customer, email in rows
    ]


def deal_rows(program: Program, sales: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str | None]]:
    """Each sale as a deal with the Partnerloop id of its customer (to associate the two)."""
    return [(sale_deal(sale, program.name), sale.get("customer_id")) for sale in sales]
