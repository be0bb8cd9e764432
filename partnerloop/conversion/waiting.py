"""Sales recorded while their currency had no rate to the program's (`awaiting_rate`), priced when one
arrives: an aspect of conversion/service.py, whose attribution and pricing steps it reuses."""

from __future__ import annotations

from sqlalchemy.orm import Session

from partnerloop.commission import service as commission_service
from partnerloop.commission.rules import RefundPlan
from partnerloop.conversion import repository
from partnerloop.conversion.service import _attribute_and_earn, _refund_program_amount, _stored_sale_facts
from partnerloop.engagement.service.tiers import evaluate_soon as check_tiers_soon
from partnerloop.fx import service as fx
from partnerloop.models import Commission, Customer, Event, Program


def price_waiting_sales(session: Session, program_id: str | None) -> list[Commission]:
    """Price the sales recorded while their currency had no rate (of one program, or of all), each that
    now has one: its amount in the program's currency at the rate in force on its day, its commissions
    under the plan as on its day, and reversals for refunds recorded meanwhile. A sale is priced once:
    the flag it waits with is cleared in the transaction that creates its commissions.

    Returns the commissions created.
    """
    created: list[Commission] = []
    programs: dict[str, Program | None] = {}
    for sale in repository.sales_awaiting_rate(session, program_id):
        if sale.program_id not in programs:
            programs[sale.program_id] = session.get(Program, sale.program_id)
        program = programs[sale.program_id]
        assert program is not None  # events reference their program
        conversion = fx.try_to_program_currency(
            session, program, sale.amount or 0, sale.currency or program.currency, sale.occurred_at
        )
        if conversion is not None:
            created += _price_waiting_sale(session, program, sale, conversion)
    session.flush()
    return created


def _price_waiting_sale(session: Session, program: Program, sale: Event, conversion: fx.Conversion) -> list[Commission]:
    sale.awaiting_rate = False
    sale.program_amount, sale.fx_rate = conversion.program_amount, conversion.fx_rate
    customer = session.get(Customer, sale.customer_id)
    assert customer is not None  # events reference their customer
    commissions: list[Commission] = []
    if customer.partner_id is not None:  # else the note of why nothing is earned stands
        sale.note = None
        commissions = _attribute_and_earn(
            session, program, customer, None, sale, _stored_sale_facts(session, program, sale)
        )
    # Refunds recorded while it waited are converted at the sale's rate and reverse the new commissions.
    refunded = 0
    for refund in repository.refunds_of_sale(session, sale.id):
        refunded += refund.amount or 0
        decided = RefundPlan(refund.amount or 0, refunded)
        refund.program_amount, refund.fx_rate = _refund_program_amount(sale, decided), sale.fx_rate
        if commissions:
            refund.partner_id = sale.partner_id
            commission_service.reverse_for_refund(session, sale, refund, decided)
    check_tiers_soon(session, program.id, [commission.partner_id for commission in commissions])
    return commissions
