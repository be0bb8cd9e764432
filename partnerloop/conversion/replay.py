"""Past sales split again by the program's multi-touch model, for the plan simulator: the same touches
and the same split (`service.credit_split`) as a live sale, so simulated shares match recorded ones.
Handed to `plan.simulation.simulate` by its callers (plan may not import conversion: conversion prices
sales through plan)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from partnerloop.commission.rules import Share
from partnerloop.conversion.multitouch import AttributionModel
from partnerloop.conversion.service import credit_split
from partnerloop.models import Customer, Program


def sale_shares(session: Session, program: Program, customer_id: str, converted_at: datetime) -> Sequence[Share]:
    """Each touching approved partner's share of the customer's sale at `converted_at` (in order of first
    touch); empty when the program does not split or fewer than two partners touched."""
    if not AttributionModel(program.attribution_model).splits:
        return ()
    customer = session.get(Customer, customer_id)
    if customer is None or customer.program_id != program.id:
        return ()
    split = credit_split(session, program, customer, converted_at)
    return () if split is None else split.shares
