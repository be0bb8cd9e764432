"""Monthly performance reviews: each active partner's month against the month before, a summary made of
those figures, the manager's note; sent by email and shown in the portal once the manager sends it.

Goals: the partner's goals whose window overlaps the month (goal/service), with their progress as of the
month's end, are kept with the review and named in its summary. goal/ reads reports, which read conversions,
which check tiers here: importing goal/ would be a circle, so goal/service hands its reader in on import
(`set_goals_source`), as alerts and referrals hand theirs to conversion/screens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from partnerloop.config import Settings
from partnerloop.engagement import repository
from partnerloop.engagement.rules import (
    FIGURES,
    goals_sentence,
    month_name,
    month_window,
    previous_month,
    review_month_due,
    review_summary,
)
from partnerloop.engagement.schemas import ReviewOut
from partnerloop.kit.errors import Conflict, InvalidInput, NotFound
from partnerloop.kit.ids import new_id
from partnerloop.kit.money import email_money
from partnerloop.models import PerformanceReview, Program
from partnerloop.notify.email import enqueue_email


class ReviewMonthInvalid(InvalidInput):
    pass


class ReviewNotFound(NotFound):
    pass


class ReviewPartnerUnknown(NotFound):
    pass


class ReviewAlreadySent(Conflict):
    pass


def review_out(review: PerformanceReview) -> ReviewOut:
    return ReviewOut(
        id=review.id, partner_id=review.partner_id, month=review.month, figures=review.figures,
        previous=review.previous, goals=review.goals or [], summary=review.summary, note=review.note, status=review.status,
        sent_at=review.sent_at, created_at=review.created_at,
    )  # fmt: skip


def _complete(values: dict[str, int] | None, currency: str) -> dict[str, int | str]:
    figures: dict[str, int | str] = {name: int((values or {}).get(name, 0)) for name in FIGURES}
    figures["currency"] = currency
    return figures


def _figures(
    session: Session, program: Program, month: str, partner_ids: Sequence[str] | None
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    start, end = month_window(month)
    before_start, before_end = month_window(previous_month(month))
    return (
        repository.figures_by_partner(session, program.id, start, end, partner_ids),
        repository.figures_by_partner(session, program.id, before_start, before_end, partner_ids),
    )


def _row(
    program: Program,
    partner_id: str,
    month: str,
    now_figures: dict[str, int] | None,
    before: dict[str, int] | None,
    goals: list[dict[str, Any]],
    now: datetime,
) -> dict[str, object]:
    figures, previous = _complete(now_figures, program.currency), _complete(before, program.currency)
    summary = review_summary(month, {k: int(v) for k, v in figures.items() if k != "currency"},
                             {k: int(v) for k, v in previous.items() if k != "currency"}, program.currency)  # fmt: skip
    summary = f"{summary} {goals_sentence(goals, program.currency)}".strip()[:1000]
    return {"id": new_id(), "program_id": program.id, "partner_id": partner_id, "month": month, "figures": figures,
            "previous": previous, "goals": goals, "summary": summary, "note": None, "status": "draft",
            "sent_at": None, "created_at": now}  # fmt: skip


GoalsSource = Callable[
    [Session, Program, datetime, datetime, datetime, list[str] | None], dict[str, list[dict[str, Any]]]
]
_goals_source: list[GoalsSource] = []


def set_goals_source(source: GoalsSource) -> None:
    """goal/service: partner id -> their goals overlapping [start, end) with progress (see goal/service)."""
    _goals_source[:] = [source]


def _goals(
    session: Session, program: Program, month: str, now: datetime, partner_ids: list[str] | None
) -> dict[str, list[dict[str, Any]]]:
    start, end = month_window(month)
    return _goals_source[0](session, program, start, end, now, partner_ids) if _goals_source else {}


def make_review(session: Session, program: Program, partner_id: str, month: str, now: datetime) -> PerformanceReview:
    """Make (or remake, keeping the manager's note) one partner's review of `month`; a month not yet begun
    is a 422."""
    try:
        start, _end = month_window(month)
    except ValueError as error:
        raise ReviewMonthInvalid(f"month: {error}") from None
    if start > now:
        raise ReviewMonthInvalid(f"month: {month} has not begun yet.")
    if repository.enrollment(session, program.id, partner_id) is None:
        raise ReviewPartnerUnknown(f"No partner {partner_id} in this program.")
    current, before = _figures(session, program, month, [partner_id])
    goals = _goals(session, program, month, now, [partner_id]).get(partner_id, [])
    row = _row(program, partner_id, month, current.get(partner_id), before.get(partner_id), goals, now)
    existing = repository.review(session, program.id, partner_id, month)
    if existing is None:
        repository.add_reviews(session, [row])
        found = repository.review(session, program.id, partner_id, month)
        assert found is not None
        return found
    existing.figures, existing.previous, existing.summary = row["figures"], row["previous"], str(row["summary"])  # type: ignore[assignment]
    existing.goals = goals
    session.flush()
    return existing


def make_month(session: Session, program: Program, month: str, now: datetime) -> int:
    """The monthly job: a draft review of `month` for every approved partner who has none; returns how many.
    Set-based: one query per figure and month for the whole program."""
    partner_ids = repository.approved_partner_ids(session, program.id, enrolled_before=month_window(month)[1])
    done = repository.reviewed_partner_ids(session, program.id, month)
    todo = [partner_id for partner_id in partner_ids if partner_id not in done]
    if not todo:
        return 0
    current, before = _figures(session, program, month, None)
    goals = _goals(session, program, month, now, None)
    rows = [_row(program, pid, month, current.get(pid), before.get(pid), goals.get(pid, []), now) for pid in todo]
    repository.add_reviews(session, rows)
    return len(todo)


def reviews_of(session: Session, program: Program, partner_id: str) -> list[PerformanceReview]:
    if repository.enrollment(session, program.id, partner_id) is None:
        raise ReviewPartnerUnknown(f"No partner {partner_id} in this program.")
    return repository.reviews_of(session, program.id, partner_id)


def queue(
    session: Session, program: Program, month: str | None, status: str | None, now: datetime
) -> tuple[str, list[tuple[PerformanceReview, str]]]:
    """The manager's review queue of a month (default: last month), with partner names."""
    chosen = month or review_month_due(now)
    return chosen, repository.reviews_for_month(session, program.id, chosen, status)


def note_and_send(
    session: Session, settings: Settings, program: Program, review_id: str, note: str | None, send: bool, now: datetime
) -> PerformanceReview:
    """Save the manager's note; with `send`, email the review to the partner and show it in their portal."""
    review = repository.review_by_id(session, program.id, review_id)
    if review is None:
        raise ReviewNotFound(f"No review {review_id} in this program.")
    review.note = (note or "").strip() or None
    if send:
        found = repository.enrollment(session, program.id, review.partner_id)
        assert found is not None
        partner, _enrollment = found
        review.status, review.sent_at = "sent", now
        enqueue_email(session, to=partner.email, subject=f"Your {month_name(review.month)} review · {program.name}",
                      text=review_text(settings, program, review, partner.name))  # fmt: skip
    session.flush()
    return review


def review_text(settings: Settings, program: Program, review: PerformanceReview, name: str) -> str:
    lines = [f"Hello {name},", "", review.summary, ""]
    money = {"revenue_amount", "commissions_amount"}
    labels = {"clicks": "Clicks", "leads": "Leads", "sales": "Sales", "new_customers": "New customers",
              "revenue_amount": "Revenue", "commissions_amount": "Your earnings"}  # fmt: skip
    for key, label in labels.items():
        now_value, before = int(review.figures.get(key, 0)), int(review.previous.get(key, 0))
        shown = (
            (email_money(now_value, program.currency), email_money(before, program.currency))
            if key in money
            else (str(now_value), str(before))
        )
        lines.append(f"{label}: {shown[0]} (previous month: {shown[1]})")
    for goal in review.goals or []:
        metric = str(goal.get("metric"))
        goal_shown = [email_money(int(goal[k]), program.currency) if metric in ("revenue", "net_revenue") and
                 isinstance(goal.get(k), int | float) else str(goal.get(k)) for k in ("current", "target")]  # fmt: skip
        reached = ", reached" if goal.get("reached") else ""
        lines.append(f"Goal {goal.get('name')}: {goal_shown[0]} of {goal_shown[1]}{reached}")
    if review.note:
        lines += ["", f"A note from the {program.name} team:", review.note]
    lines += ["", f"In your portal: {settings.base_url.rstrip('/')}/partner/reviews?program={program.id}"]
    return "\n".join(lines) + "\n"
