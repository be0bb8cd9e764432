"""What the dashboard reads of commissions: earnings in a window, counts per status, and the filtered
queue and its export. A window is [since, before) on the commission's event time; None leaves it open.
Rejected commissions earn nothing, so they are not in the earnings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from partnerloop.commission import repository
from partnerloop.models import Commission


def earned_by_currency(
    session: Session,
    program_id: str,
    since: datetime | None = None,
    before: datetime | None = None,
    partner_id: str | None = None,
) -> dict[str, int]:
    """Earnings per currency in the window, of everyone or of `partner_id`."""
    return repository.earned_by_currency(session, program_id, since, before, partner_id)


def status_counts(session: Session, program_id: str) -> dict[str, int]:
    """How many commissions (reversals left out) the program has in each status."""
    return repository.status_counts(session, program_id)


@dataclass(frozen=True)
class Selection:
    """Which commissions the queue shows. `partner_ids` (when not None) and `commission_id` are a search:
    a commission matches when it is one of those partners' or it is that one."""

    statuses: tuple[str, ...]
    partner_id: str = ""
    kind: str = ""
    partner_ids: tuple[str, ...] | None = None
    commission_id: str = ""
    since: datetime | None = None
    until: datetime | None = None


def _statement(program_id: str, selection: Selection) -> Any:
    return repository.filtered(
        program_id,
        statuses=selection.statuses,
        partner_id=selection.partner_id,
        kind=selection.kind,
        partner_ids=selection.partner_ids,
        commission_id=selection.commission_id,
        since=selection.since,
        until=selection.until,
    )


def selected(
    session: Session, program_id: str, selection: Selection, *, offset: int, limit: int, order: str = "date"
) -> tuple[list[Commission], int]:
    """One page of the selection in `order` (when it happened, newest first, by default), and how many match."""
    statement = _statement(program_id, selection)
    total = repository.count_of(session, statement)
    return repository.page_of_filtered(session, statement, offset, limit, order), total


def count_selected(session: Session, program_id: str, selection: Selection) -> int:
    """How many commissions the selection matches."""
    return repository.count_of(session, _statement(program_id, selection))


def selected_sums(session: Session, program_id: str, selection: Selection) -> dict[str, int]:
    """The selection's earnings per currency."""
    return repository.sums_of_filtered(session, _statement(program_id, selection))


def stream_selected(
    session: Session, program_id: str, selection: Selection, batch: int = 1000
) -> Iterator[list[Commission]]:
    """Every commission of the selection, oldest first, in lists of at most `batch` (an export may be large)."""
    chunk: list[Commission] = []
    for commission in repository.stream_filtered(session, _statement(program_id, selection), batch):
        chunk.append(commission)
        if len(chunk) == batch:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def partner_commissions(session: Session, program_id: str, partner_id: str, limit: int = 50) -> list[Commission]:
    """The partner's latest commissions, newest first."""
    return repository.partner_commissions(session, program_id, partner_id, limit)


def has_commissions(session: Session, program_id: str) -> bool:
    return repository.has_commissions(session, program_id)
