"""`conversion.price_waiting_sales`: the sales recorded while their currency had no rate, priced when
rates arrive (fx enqueues it with the new rates, in their transaction). Running it again prices nothing twice."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from partnerloop.conversion.waiting import price_waiting_sales
from partnerloop.fx.service import PRICE_WAITING_SALES_JOB
from partnerloop.jobs.queue import job_handler

log = logging.getLogger("partnerloop.conversion")


@job_handler(PRICE_WAITING_SALES_JOB)
def price_waiting(session: Session, payload: dict[str, Any]) -> None:
    program_id = payload.get("program_id")
    created = price_waiting_sales(session, str(program_id) if program_id else None)
    if created:
        log.info("priced waiting sales: %d commissions", len(created))
