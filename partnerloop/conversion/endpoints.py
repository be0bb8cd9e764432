"""POST /api/v1/track/lead | sale | refund, with the program's secret key.

These open their write transaction themselves, after authenticating in a read-only one: a click id
not yet in the database makes the request wait for the click buffer to flush, and on SQLite a
request holding the write lock would keep the flusher from writing that very click.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from partnerloop.conversion import repository
from partnerloop.conversion import service as track_service
from partnerloop.conversion.schemas import LeadIn, RefundIn, SaleIn, TrackedLead, TrackedRefund, TrackedSale
from partnerloop.db import transaction
from partnerloop.deps import bearer_token, count_api_request, refused_key
from partnerloop.kit.errors import Unauthorized
from partnerloop.kit.time import utc_now
from partnerloop.models import Program
from partnerloop.program import service as program_service
from partnerloop.tracking.buffer import ClickBuffer

router = APIRouter(prefix="/api/v1/track", tags=["tracking"])

CLICK_FLUSH_WAIT_S = 1.0
T = TypeVar("T")


def _program(request: Request) -> Program:
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("Send the program's secret API key as 'Authorization: Bearer <api_key>'.")
    with transaction(request.app.state.engine, writes=False) as session:
        found = program_service.program_and_key_for_api_key(session, token)
    if found is None:
        raise refused_key(token)
    program, api_key = found
    count_api_request(request, api_key.id)
    return program


TrackProgram = Annotated[Program, Depends(_program)]


def _wait_for_click(request: Request, program: Program, click_id: str | None) -> None:
    """A click id we do not know yet may still sit in the click buffer: flush it (bounded wait)."""
    if click_id is None:
        return
    engine: Engine = request.app.state.engine
    with transaction(engine, writes=False) as session:
        if repository.click_exists(session, program.id, click_id):
            return
    buffer: ClickBuffer = request.app.state.runtime.click_buffer
    buffer.flush_blocking(CLICK_FLUSH_WAIT_S)


def _in_transaction(request: Request, work: Callable[[Session], T]) -> T:
    with transaction(request.app.state.engine) as session:
        return work(session)


@router.post("/lead", summary="Track a lead")
def track_lead(body: LeadIn, request: Request, program: TrackProgram) -> TrackedLead:
    _wait_for_click(request, program, body.click_id)
    now = utc_now()
    return _in_transaction(request, lambda session: track_service.track_lead(session, program, body, now))


@router.post("/sale", summary="Track a sale")
def track_sale(body: SaleIn, request: Request, program: TrackProgram) -> TrackedSale:
    _wait_for_click(request, program, body.click_id)
    now = utc_now()
    return _in_transaction(request, lambda session: track_service.track_sale(session, program, body, now))


@router.post("/refund", summary="Track a refund")
def track_refund(body: RefundIn, request: Request, program: TrackProgram) -> TrackedRefund:
    now = utc_now()
    return _in_transaction(request, lambda session: track_service.track_refund(session, program, body, now))
