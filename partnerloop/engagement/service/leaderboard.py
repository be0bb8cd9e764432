"""Leaderboards: partners ranked by revenue, sales, leads or new customers over a month, quarter or year."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from partnerloop.engagement import repository
from partnerloop.engagement.rules import METRICS, PERIODS, Standing, period_window, rank_partners, standings_for_partner
from partnerloop.engagement.schemas import Leaderboard, LeaderboardRow
from partnerloop.kit.errors import InvalidInput
from partnerloop.models import Program


class InvalidLeaderboard(InvalidInput):
    pass


def window(period: str, start: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    if period not in PERIODS:
        raise InvalidLeaderboard(f"period: must be one of {', '.join(PERIODS)} (got {period!r}).")
    return period_window(start or now, period)


def ranked(
    session: Session, program: Program, metric: str, start: datetime, end: datetime
) -> list[tuple[int, str, int]]:
    if metric not in METRICS:
        raise InvalidLeaderboard(f"metric: must be one of {', '.join(METRICS)} (got {metric!r}).")
    values = repository.metric_by_partner(session, program.id, metric, start, end)
    approved = set(repository.approved_partner_ids(session, program.id))
    return rank_partners({partner_id: value for partner_id, value in values.items() if partner_id in approved})


def leaderboard(
    session: Session,
    program: Program,
    metric: str,
    period: str,
    start: datetime | None,
    now: datetime,
    limit: int = 100,
) -> Leaderboard:
    """The manager's board: real names."""
    begin, end = window(period, start, now)
    rows = ranked(session, program, metric, begin, end)[:limit]
    names = repository.partner_names(session, program.id, [partner_id for _rank, partner_id, _value in rows])
    return Leaderboard(
        metric=metric, period=period, from_=begin, to=end, currency=program.currency,
        data=[LeaderboardRow(rank=rank, partner_id=pid, name=names.get(pid, ""), value=value) for rank, pid, value in rows],
    )  # fmt: skip


def partner_view(
    session: Session,
    program: Program,
    partner_id: str,
    partner_name: str,
    metric: str,
    period: str,
    now: datetime,
    top: int = 10,
) -> tuple[list[Standing], Standing | None, tuple[datetime, datetime]]:
    """The board as a partner sees it: the top rows (others by display name or 'Partner #n') and their own row."""
    begin, end = window(period, None, now)
    rows = standings_for_partner(
        ranked(session, program, metric, begin, end),
        partner_id,
        partner_name,
        repository.display_names(session, program.id),
    )
    mine = next((row for row in rows if row.is_you), None)
    return rows[:top], mine, (begin, end)
