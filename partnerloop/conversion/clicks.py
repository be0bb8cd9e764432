"""The click a conversion names: stored, or recovered from its signed id when it was lost before it was
written (tracking/click_ids.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from partnerloop.conversion import repository
from partnerloop.kit.time import utc_now
from partnerloop.models import Click
from partnerloop.tracking import service as tracking_service


def find_click(session: Session, program_id: str, click_id: str) -> Click | None:
    """The program's click with this id; for a validly signed id of one of the program's links whose click
    is not stored (lost in a crash), the click recorded now from what the id says. None otherwise (unknown,
    forged or tampered ids, another program's)."""
    click = repository.get_click(session, program_id, click_id)
    if click is None and tracking_service.recover_click(session.connection(), program_id, click_id, utc_now()):
        click = repository.get_click(session, program_id, click_id)
    return click
