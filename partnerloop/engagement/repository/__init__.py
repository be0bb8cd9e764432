"""Engagement SQL, always scoped by program: the engagement tables, and (from repository/figures.py)
per-partner figures over a window."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, insert, select, update
from sqlalchemy.orm import Session

from partnerloop.db import insert_ignore, xact_locks
from partnerloop.engagement.repository.figures import (
    FIGURE_METRICS,
    _scoped,
    customer_payment_spans,
    figures_by_partner,
    last_sale_at,
    metric_by_partner,
)
from partnerloop.kit.ids import new_id
from partnerloop.kit.time import as_utc, utc_now
from partnerloop.models import (
    Announcement,
    AnnouncementDelivery,
    Award,
    CampaignBonusAward,
    EngagementSettings,
    Enrollment,
    Group,
    GroupTier,
    Partner,
    PartnerEngagement,
    PerformanceReview,
    TierMove,
)
from partnerloop.partner.rules import EnrollmentStatus

# The figures live in repository/figures.py; this module stays the domain's one SQL entry point.
__all__ = ["FIGURE_METRICS", "customer_payment_spans", "figures_by_partner", "last_sale_at", "metric_by_partner"]

# ---------------------------------------------------------------------------------- enrollments


def members(
    session: Session, program_id: str, partner_ids: Sequence[str] | None = None
) -> list[tuple[str, str, str | None, str, str, bool]]:
    """(partner_id, status, group_id, name, email, newsletter_opt_out) of every partner enrolled (or of these)."""
    statement = (
        select(
            Enrollment.partner_id,
            Enrollment.status,
            Enrollment.group_id,
            Partner.name,
            Partner.email,
            func.coalesce(PartnerEngagement.newsletter_opt_out, False),
        )
        .join(Partner, Partner.id == Enrollment.partner_id)
        .outerjoin(
            PartnerEngagement,
            and_(
                PartnerEngagement.program_id == Enrollment.program_id,
                PartnerEngagement.partner_id == Enrollment.partner_id,
            ),
        )
        .where(Enrollment.program_id == program_id, Enrollment.kind == "partner")
    )
    rows = session.execute(_scoped(statement, Enrollment.partner_id, partner_ids)).all()
    return [(str(a), str(b), c, str(d), str(e), bool(f)) for a, b, c, d, e, f in rows]


def enrollment(session: Session, program_id: str, partner_id: str) -> tuple[Partner, Enrollment] | None:
    row = session.execute(
        select(Partner, Enrollment)
        .join(Enrollment, Enrollment.partner_id == Partner.id)
        .where(Enrollment.program_id == program_id, Partner.id == partner_id)
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def partner_names(session: Session, program_id: str, partner_ids: Iterable[str]) -> dict[str, str]:
    ids = list(partner_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Partner.id, Partner.name)
        .join(Enrollment, Enrollment.partner_id == Partner.id)
        .where(Enrollment.program_id == program_id, Partner.id.in_(ids))
    ).all()
    return {str(partner_id): str(name) for partner_id, name in rows}


# ------------------------------------------------------------------------------------ settings


def settings_of(session: Session, program_id: str) -> EngagementSettings:
    found = session.get(EngagementSettings, program_id)
    if found is None:
        found = EngagementSettings(program_id=program_id, leaderboard_in_portal=False, leaderboard_metric="revenue",
                                   public_partners_page=False)  # fmt: skip
    return found


def save_settings(session: Session, settings: EngagementSettings) -> None:
    session.merge(settings)
    session.flush()


def partner_choices(session: Session, program_id: str, partner_id: str) -> PartnerEngagement:
    found = session.get(PartnerEngagement, (program_id, partner_id))
    if found is None:
        found = PartnerEngagement(program_id=program_id, partner_id=partner_id, display_name=None,
                                  newsletter_opt_out=False, public_profile=False, updated_at=utc_now())  # fmt: skip
        session.add(found)
        session.flush()
    return found


def display_names(session: Session, program_id: str) -> dict[str, str | None]:
    rows = session.execute(
        select(PartnerEngagement.partner_id, PartnerEngagement.display_name).where(
            PartnerEngagement.program_id == program_id
        )
    ).all()
    return {str(partner_id): name for partner_id, name in rows}


# --------------------------------------------------------------------------------------- tiers


def groups(session: Session, program_id: str) -> list[tuple[Group, GroupTier | None]]:
    rows = session.execute(
        select(Group, GroupTier)
        .outerjoin(GroupTier, GroupTier.group_id == Group.id)
        .where(Group.program_id == program_id)
    ).all()
    return [(row[0], row[1]) for row in rows]


def tier_of(session: Session, group_id: str) -> GroupTier | None:
    return session.get(GroupTier, group_id)


def save_tier(session: Session, tier: GroupTier) -> None:
    session.merge(tier)
    session.flush()


def has_tier_rules(session: Session, program_id: str) -> bool:
    """Whether any tier of the program has a promotion or demotion rule. Read in Python: a rule removed is a
    JSON null, which `IS NOT NULL` counts as a rule (every sale of a program with ranks alone queued a check)."""
    rules = session.execute(
        select(GroupTier.promotion, GroupTier.demotion).where(GroupTier.program_id == program_id)
    ).all()
    return any(promotion or demotion for promotion, demotion in rules)


def lock_tier_check(session: Session, program_id: str) -> None:
    """One tier check of a program at a time (PostgreSQL; SQLite writers are serialized): a second check, the
    job a sale queued racing the daily one, waits and then reads the tiers the first one moved partners to,
    so one crossing of a threshold is one move, never two."""
    xact_locks(session, [f"tier-check:{program_id}"])


def tiered_enrollments(
    session: Session, program_id: str, group_ids: Sequence[str], partner_ids: Sequence[str] | None
) -> list[tuple[str, str, datetime]]:
    """(partner_id, group_id, in_tier_since) of approved partners in the given groups; in the tier since
    their last move into it, else since they enrolled."""
    last_move = (
        select(TierMove.partner_id, func.max(TierMove.created_at).label("moved_at"))
        .where(TierMove.program_id == program_id)
        .group_by(TierMove.partner_id)
        .subquery()
    )
    statement = (
        select(Enrollment.partner_id, Enrollment.group_id, func.coalesce(last_move.c.moved_at, Enrollment.created_at))
        .outerjoin(last_move, last_move.c.partner_id == Enrollment.partner_id)
        .where(
            Enrollment.program_id == program_id,
            Enrollment.status == EnrollmentStatus.APPROVED.value,
            Enrollment.group_id.in_(group_ids),
        )
    )
    statement = _scoped(statement, Enrollment.partner_id, partner_ids)
    return [(str(a), str(b), as_utc(c)) for a, b, c in session.execute(statement)]


def add_moves(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(TierMove), rows)


def moves_of(session: Session, program_id: str, partner_id: str, limit: int = 20) -> list[TierMove]:
    return list(
        session.execute(
            select(TierMove)
            .where(TierMove.program_id == program_id, TierMove.partner_id == partner_id)
            .order_by(TierMove.created_at.desc(), TierMove.id.desc())
            .limit(limit)
        ).scalars()
    )


def programs_with_tier_rules(session: Session) -> list[str]:
    """Programs with a promotion or demotion rule (a rule removed is a JSON null: see has_tier_rules)."""
    rows = session.execute(select(GroupTier.program_id, GroupTier.promotion, GroupTier.demotion)).all()
    return sorted({str(program_id) for program_id, promotion, demotion in rows if promotion or demotion})


# ------------------------------------------------------------------------------- announcements


def add_announcement(session: Session, announcement: Announcement) -> None:
    session.add(announcement)
    session.flush()


def announcement(session: Session, program_id: str, announcement_id: str, *, lock: bool = False) -> Announcement | None:
    statement = select(Announcement).where(Announcement.id == announcement_id, Announcement.program_id == program_id)
    if lock:
        statement = statement.with_for_update()
    return session.execute(statement).scalar_one_or_none()


def announcements(session: Session, program_id: str, cursor: str | None, limit: int) -> list[Announcement]:
    statement = select(Announcement).where(Announcement.program_id == program_id)
    if cursor:
        statement = statement.where(Announcement.id < cursor)
    return list(session.execute(statement.order_by(Announcement.id.desc()).limit(limit + 1)).scalars())


def due_announcements(session: Session, now: datetime, limit: int = 20) -> list[tuple[str, str]]:
    rows = session.execute(
        select(Announcement.program_id, Announcement.id)
        .where(Announcement.status == "scheduled", Announcement.send_at <= now)
        .order_by(Announcement.send_at)
        .limit(limit)
    ).all()
    return [(str(a), str(b)) for a, b in rows]


def add_deliveries(session: Session, announcement: Announcement, recipients: Sequence[tuple[str, bool]]) -> None:
    """One row per partner of the audience (partner_id, to be emailed), inserted in chunks."""
    now = utc_now()
    rows = [
        {
            "id": new_id(),
            "announcement_id": announcement.id,
            "program_id": announcement.program_id,
            "partner_id": partner_id,
            "email_status": "queued" if emailed else "none",
            "emailed_at": None,
            "read_at": None,
            "created_at": now,
        }
        for partner_id, emailed in recipients
    ]
    for start in range(0, len(rows), 1000):
        session.execute(insert(AnnouncementDelivery), rows[start : start + 1000])


def queued_deliveries(session: Session, announcement_id: str, partner_ids: Sequence[str]) -> list[AnnouncementDelivery]:
    """The deliveries of these partners still waiting for their email, in partner order."""
    return list(
        session.execute(
            select(AnnouncementDelivery)
            .where(
                AnnouncementDelivery.announcement_id == announcement_id,
                AnnouncementDelivery.email_status == "queued",
                AnnouncementDelivery.partner_id.in_(partner_ids),
            )
            .order_by(AnnouncementDelivery.partner_id)
        ).scalars()
    )


def delivery_figures(session: Session, announcement_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    if not announcement_ids:
        return {}
    rows = session.execute(
        select(
            AnnouncementDelivery.announcement_id,
            func.count(),
            func.count(AnnouncementDelivery.emailed_at),
            func.count(AnnouncementDelivery.read_at),
            func.count(AnnouncementDelivery.clicked_at),
            func.sum(case((AnnouncementDelivery.email_status == "queued", 1), else_=0)),
            func.sum(case((AnnouncementDelivery.email_status == "skipped", 1), else_=0)),
        )
        .where(AnnouncementDelivery.announcement_id.in_(announcement_ids))
        .group_by(AnnouncementDelivery.announcement_id)
    ).all()
    return {
        str(row[0]): {
            "recipients": int(row[1]),
            "emailed": int(row[2]),
            "opened": int(row[3]),
            "clicked": int(row[4]),
            "email_queued": int(row[5] or 0),
            "email_skipped": int(row[6] or 0),
        }
        for row in rows
    }


def partner_announcements(
    session: Session, program_id: str, partner_id: str, limit: int = 50
) -> list[tuple[Announcement, AnnouncementDelivery]]:
    rows = session.execute(
        select(Announcement, AnnouncementDelivery)
        .join(AnnouncementDelivery, AnnouncementDelivery.announcement_id == Announcement.id)
        .where(AnnouncementDelivery.program_id == program_id, AnnouncementDelivery.partner_id == partner_id)
        .order_by(Announcement.sent_at.desc(), Announcement.id.desc())
        .limit(limit)
    ).all()
    return [(row[0], row[1]) for row in rows]


def unread_count(session: Session, program_id: str, partner_id: str) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(AnnouncementDelivery)
            .where(
                AnnouncementDelivery.program_id == program_id,
                AnnouncementDelivery.partner_id == partner_id,
                AnnouncementDelivery.read_at.is_(None),
            )
        ).scalar_one()
    )


def mark_read(session: Session, program_id: str, partner_id: str, announcement_id: str, now: datetime) -> None:
    session.execute(
        update(AnnouncementDelivery)
        .where(
            AnnouncementDelivery.program_id == program_id,
            AnnouncementDelivery.partner_id == partner_id,
            AnnouncementDelivery.announcement_id == announcement_id,
            AnnouncementDelivery.read_at.is_(None),
        )
        .values(read_at=now)
    )


# -------------------------------------------------------------------------------------- awards


def add_award(session: Session, award: Award) -> None:
    session.add(award)
    session.flush()


def awards(session: Session, program_id: str, partner_id: str | None = None, public_only: bool = False) -> list[Award]:
    statement = select(Award).where(Award.program_id == program_id)
    if partner_id is not None:
        statement = statement.where(Award.partner_id == partner_id)
    if public_only:
        statement = statement.where(Award.public.is_(True))
    return list(session.execute(statement.order_by(Award.created_at.desc(), Award.id.desc())).scalars())


def public_partners(session: Session, program_id: str) -> list[tuple[str, str, str | None]]:
    """(partner_id, name, website) of approved partners who opted in to the public page."""
    rows = session.execute(
        select(Partner.id, func.coalesce(PartnerEngagement.display_name, Partner.name), Partner.website)
        .join(Enrollment, Enrollment.partner_id == Partner.id)
        .join(
            PartnerEngagement,
            and_(PartnerEngagement.partner_id == Partner.id, PartnerEngagement.program_id == Enrollment.program_id),
        )
        .where(
            Enrollment.program_id == program_id,
            Enrollment.status == EnrollmentStatus.APPROVED.value,
            PartnerEngagement.public_profile.is_(True),
        )
        .order_by(Partner.name)
    ).all()
    return [(str(a), str(b), c) for a, b, c in rows]


# ------------------------------------------------------------------------------------- reviews


def review(session: Session, program_id: str, partner_id: str, month: str) -> PerformanceReview | None:
    return session.execute(
        select(PerformanceReview).where(
            PerformanceReview.program_id == program_id,
            PerformanceReview.partner_id == partner_id,
            PerformanceReview.month == month,
        )
    ).scalar_one_or_none()


def review_by_id(session: Session, program_id: str, review_id: str) -> PerformanceReview | None:
    return session.execute(
        select(PerformanceReview).where(PerformanceReview.program_id == program_id, PerformanceReview.id == review_id)
    ).scalar_one_or_none()


def reviews_of(session: Session, program_id: str, partner_id: str, sent_only: bool = False) -> list[PerformanceReview]:
    statement = select(PerformanceReview).where(
        PerformanceReview.program_id == program_id, PerformanceReview.partner_id == partner_id
    )
    if sent_only:
        statement = statement.where(PerformanceReview.status == "sent")
    return list(session.execute(statement.order_by(PerformanceReview.month.desc())).scalars())


def reviews_for_month(
    session: Session, program_id: str, month: str, status: str | None
) -> list[tuple[PerformanceReview, str]]:
    statement = (
        select(PerformanceReview, Partner.name)
        .join(Partner, Partner.id == PerformanceReview.partner_id)
        .where(PerformanceReview.program_id == program_id, PerformanceReview.month == month)
    )
    if status:
        statement = statement.where(PerformanceReview.status == status)
    return [(row[0], str(row[1])) for row in session.execute(statement.order_by(Partner.name))]


def reviewed_partner_ids(session: Session, program_id: str, month: str) -> set[str]:
    rows = session.execute(
        select(PerformanceReview.partner_id).where(
            PerformanceReview.program_id == program_id, PerformanceReview.month == month
        )
    ).scalars()
    return {str(partner_id) for partner_id in rows}


def add_reviews(session: Session, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 1000):
        session.execute(insert(PerformanceReview), rows[start : start + 1000])


def approved_partner_ids(session: Session, program_id: str, enrolled_before: datetime | None = None) -> list[str]:
    statement = select(Enrollment.partner_id).where(
        Enrollment.program_id == program_id,
        Enrollment.status == EnrollmentStatus.APPROVED.value,
        Enrollment.kind == "partner",
    )
    if enrolled_before is not None:
        statement = statement.where(Enrollment.created_at < enrolled_before)
    rows = session.execute(statement).scalars()
    return [str(partner_id) for partner_id in rows]


def program_ids_with_partners(session: Session) -> list[str]:
    rows = session.execute(
        select(Enrollment.program_id).where(Enrollment.status == EnrollmentStatus.APPROVED.value).distinct()
    ).scalars()
    return [str(program_id) for program_id in rows]


def recent_moves(session: Session, program_id: str, limit: int = 50) -> list[TierMove]:
    return list(
        session.execute(
            select(TierMove)
            .where(TierMove.program_id == program_id)
            .order_by(TierMove.created_at.desc(), TierMove.id.desc())
            .limit(limit)
        ).scalars()
    )


def partner_choices_or_default(session: Session, program_id: str, partner_id: str) -> PartnerEngagement:
    """The partner's choices, or the defaults (not saved) when they made none."""
    found = session.get(PartnerEngagement, (program_id, partner_id))
    if found is None:
        return PartnerEngagement(program_id=program_id, partner_id=partner_id, display_name=None,
                                 newsletter_opt_out=False, public_profile=False)  # fmt: skip
    return found


def mark_clicked(session: Session, announcement_id: str, partner_id: str, now: datetime) -> bool:
    """The partner's first click on a link of the announcement; False when they are not in its audience."""
    found = session.execute(
        select(AnnouncementDelivery).where(
            AnnouncementDelivery.announcement_id == announcement_id, AnnouncementDelivery.partner_id == partner_id
        )
    ).scalar_one_or_none()
    if found is None:
        return False
    if found.clicked_at is None:
        found.clicked_at = now
        session.flush()
    return True


def add_bonus_award(session: Session, values: dict[str, Any]) -> bool:
    """One campaign bonus per partner: True when this call recorded it (concurrent callers get one row)."""
    return insert_ignore(session, CampaignBonusAward, values, ["campaign_id", "partner_id"])


def set_bonus_commission(session: Session, award_id: str, commission_id: str) -> None:
    session.execute(
        update(CampaignBonusAward).where(CampaignBonusAward.id == award_id).values(commission_id=commission_id)
    )


def bonus_totals(session: Session, campaign_id: str) -> tuple[int, int]:
    """(partners paid, amount paid) of a campaign's bonus."""
    count, amount = session.execute(
        select(func.count(), func.coalesce(func.sum(CampaignBonusAward.amount), 0)).where(
            CampaignBonusAward.campaign_id == campaign_id
        )
    ).one()
    return int(count), int(amount)
