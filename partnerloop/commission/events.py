"""Outbound webhook events of commissions: one call from each place the change happens, sent through
webhook/service.emit in the caller's transaction (leads, sales and refunds: conversion/service)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from partnerloop.commission.rules import CommissionKind
from partnerloop.models import Commission
from partnerloop.webhook.service import emit, listens


def _commission_data(commission: Commission) -> dict[str, object]:
    # Imported here: commission/service imports earning, which announces through this module.
    from partnerloop.commission.service import commission_out

    return commission_out(commission).model_dump(mode="json")


def announce_created(session: Session, commissions: Iterable[Commission]) -> None:
    """commission.created for each new commission; commission.reversed for reversals and clawbacks."""
    for commission in commissions:
        negative = commission.kind in (CommissionKind.REVERSAL, CommissionKind.CLAWBACK) or (
            commission.kind == CommissionKind.MANUAL and commission.earnings_amount < 0
        )
        kind = "commission.reversed" if negative else "commission.created"
        if listens(session, commission.program_id, kind):
            emit(session, commission.program_id, kind, _commission_data(commission))


def announce_approved(session: Session, commissions: Iterable[Commission] | Sequence[str]) -> None:
    """commission.approved for commissions (or commission ids) just approved."""
    rows = list(commissions)
    ids = [row for row in rows if isinstance(row, str)]
    loaded = (
        list(session.execute(select(Commission).where(Commission.id.in_(ids)).order_by(Commission.id)).scalars())
        if ids
        else []
    )
    for commission in [row for row in rows if isinstance(row, Commission)] + loaded:
        emit(session, commission.program_id, "commission.approved", _commission_data(commission))
