"""Use cases of tracking for other domains: recovering a click that a conversion names but that was never
written (the server was killed while the click sat in its buffer)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Connection

from partnerloop.kit.time import as_utc
from partnerloop.tracking import repository
from partnerloop.tracking.batch import utc_text
from partnerloop.tracking.click_ids import SignedClick, click_ids
from partnerloop.tracking.repository import ClickRow, RollupIncrement

log = logging.getLogger("partnerloop.tracking")

# A signed id from further ahead than this is refused: clocks of the servers differ by less.
CLOCK_SKEW = timedelta(minutes=5)


def signed_click(click_id: str) -> SignedClick | None:
    """What a click id says when it is validly signed with this server's key (else None)."""
    return click_ids().verify(click_id)


def recover_click(connection: Connection, program_id: str, click_id: str, now: datetime) -> bool:
    """Record the click a validly signed id names, when it is not stored (lost before it was written), so
    that the conversion naming it is attributed. True when the click is stored now (by this call or before);
    False for an id that is not signed with our key, names a link of another program or an unknown one,
    or claims a time ahead of now.

    The recovered click carries what the id carries: its link (hence partner) and time. Its visitor facts
    (IP, user agent, referrer, country) were lost with it: it is stored as a human click, counted in the
    link's clicks but not as unique, and earns no click reward."""
    signed = signed_click(click_id)
    if signed is None or signed.clicked_at > as_utc(now) + CLOCK_SKEW:
        return False
    owner = repository.link_owner(connection, signed.link_id)
    if owner is None or owner[0] != program_id:
        return False
    partner_id = owner[1]
    at = utc_text(signed.clicked_at.timestamp())
    row: ClickRow = (click_id, program_id, signed.link_id, partner_id, at, None, None, None, None, "other",
                     False, None, None)  # fmt: skip
    if repository.insert_click_if_new(connection, row, (False, None)):
        day = signed.clicked_at.date()
        repository.add_to_rollups(connection, [RollupIncrement(program_id, signed.link_id, partner_id, day, 1, 0, 0)])
        log.warning("click %s was never written (lost before a flush): recorded now from its signed id", click_id)
    return True
