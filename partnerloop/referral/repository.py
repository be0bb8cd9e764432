"""All SQL of the referral domain (advocates, referrals, rewards), scoped by program."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from partnerloop.db import insert_ignore
from partnerloop.kit.pagination import paginate
from partnerloop.models import Advocate, Customer, Link, Referral, Reward, StripeCustomerLink


def advocate_by_external_id(session: Session, program_id: str, external_id: str) -> Advocate | None:
    return session.execute(
        select(Advocate).where(Advocate.program_id == program_id, Advocate.customer_external_id == external_id)
    ).scalar_one_or_none()


def get_advocate(session: Session, program_id: str, advocate_id: str) -> Advocate | None:
    advocate = session.get(Advocate, advocate_id)
    return advocate if advocate is not None and advocate.program_id == program_id else None


def advocate_of_partner(session: Session, program_id: str, partner_id: str, *, lock: bool = False) -> Advocate | None:
    """The advocate behind a partner id (locked when asked: deciding a referrer reward under the limit)."""
    statement = select(Advocate).where(Advocate.program_id == program_id, Advocate.partner_id == partner_id)
    if lock:
        statement = statement.with_for_update()
    return session.execute(statement).scalar_one_or_none()


def advocates_by_ids(session: Session, program_id: str, advocate_ids: set[str]) -> list[Advocate]:
    if not advocate_ids:
        return []
    return list(
        session.execute(
            select(Advocate).where(Advocate.program_id == program_id, Advocate.id.in_(sorted(advocate_ids)))
        ).scalars()
    )


def advocate_by_link(session: Session, link_id: str) -> Advocate | None:
    return session.execute(select(Advocate).where(Advocate.link_id == link_id)).scalar_one_or_none()


def list_advocates(
    session: Session, program_id: str, cursor: str | None, limit: int, search: str | None = None
) -> list[Advocate]:
    statement = select(Advocate).where(Advocate.program_id == program_id)
    if search:
        pattern = f"%{search.lower()}%"
        statement = statement.where(
            func.lower(Advocate.email).like(pattern) | func.lower(Advocate.customer_external_id).like(pattern)
        )
    return list(session.execute(paginate(statement, Advocate.id, cursor, limit)).scalars())


def referral_counts(session: Session, advocate_ids: Sequence[str]) -> dict[str, int]:
    if not advocate_ids:
        return {}
    rows = session.execute(
        select(Referral.advocate_id, func.count())
        .where(Referral.advocate_id.in_(advocate_ids))
        .group_by(Referral.advocate_id)
    )
    return {advocate_id: int(count) for advocate_id, count in rows}


def referral_for(session: Session, values: dict[str, Any]) -> Referral:
    """The advocate's referral of this friend, created when new (concurrent callers get the one row)."""
    insert_ignore(session, Referral, values, ["advocate_id", "friend_customer_id"])
    return session.execute(
        select(Referral)
        .where(
            Referral.advocate_id == values["advocate_id"], Referral.friend_customer_id == values["friend_customer_id"]
        )
        .execution_options(populate_existing=True)
    ).scalar_one()


def add_sale(session: Session, referral_id: str, amount: int, at: datetime) -> None:
    """Count a friend's sale (one UPDATE, safe under concurrency)."""
    session.execute(
        update(Referral)
        .where(Referral.id == referral_id)
        .values(
            sales_count=Referral.sales_count + 1,
            revenue_amount=Referral.revenue_amount + amount,
            first_sale_at=func.coalesce(Referral.first_sale_at, at),
        )
    )


def referrals_of_advocate(session: Session, advocate_id: str, limit: int = 100) -> list[Referral]:
    return list(
        session.execute(
            select(Referral).where(Referral.advocate_id == advocate_id).order_by(Referral.id.desc()).limit(limit)
        ).scalars()
    )


def insert_reward(session: Session, values: dict[str, Any]) -> bool:
    """One reward per referral and side: True when this call created it."""
    return insert_ignore(session, Reward, values, ["referral_id", "side"])


def counted_referrer_rewards(session: Session, advocate_id: str) -> int:
    return int(
        session.execute(
            select(func.count()).where(
                Reward.advocate_id == advocate_id, Reward.side == "referrer", Reward.status != "rejected"
            )
        ).scalar_one()
    )


def rewards_of_advocates(session: Session, advocate_ids: Sequence[str]) -> dict[str, list[Reward]]:
    found: dict[str, list[Reward]] = {advocate_id: [] for advocate_id in advocate_ids}
    if advocate_ids:
        for reward in session.execute(
            select(Reward).where(Reward.advocate_id.in_(advocate_ids)).order_by(Reward.id.desc())
        ).scalars():
            found[reward.advocate_id].append(reward)
    return found


def rewards_of_referral(session: Session, referral_id: str) -> list[Reward]:
    return list(session.execute(select(Reward).where(Reward.referral_id == referral_id)).scalars())


def list_rewards(
    session: Session,
    program_id: str,
    *,
    advocate_id: str | None,
    status: str | None,
    side: str | None,
    cursor: str | None,
    limit: int,
) -> list[Reward]:
    statement = select(Reward).where(Reward.program_id == program_id)
    if advocate_id is not None:
        statement = statement.where(Reward.advocate_id == advocate_id)
    if status is not None:
        statement = statement.where(Reward.status == status)
    if side is not None:
        statement = statement.where(Reward.side == side)
    return list(session.execute(paginate(statement, Reward.id, cursor, limit)).scalars())


def get_reward(session: Session, program_id: str | None, reward_id: str, *, lock: bool = False) -> Reward | None:
    statement = select(Reward).where(Reward.id == reward_id).execution_options(populate_existing=True)
    if program_id is not None:
        statement = statement.where(Reward.program_id == program_id)
    if lock:
        statement = statement.with_for_update()
    return session.execute(statement).scalar_one_or_none()


def pending_rewards_of_event(session: Session, program_id: str, event_id: str) -> list[Reward]:
    return list(
        session.execute(
            select(Reward)
            .where(Reward.program_id == program_id, Reward.trigger_event_id == event_id, Reward.status == "pending")
            .with_for_update()
        ).scalars()
    )


def lock_due_rewards(session: Session, now: datetime, limit: int) -> list[Reward]:
    """Pending rewards due by `now`, oldest due first, locked; rows another worker holds are skipped."""
    return list(
        session.execute(
            select(Reward)
            .where(Reward.status == "pending", Reward.due_at <= now)
            .order_by(Reward.due_at, Reward.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        ).scalars()
    )


def stripe_customers_of(session: Session, program_id: str, external_id: str) -> frozenset[str]:
    """The Stripe customers Stripe's webhooks linked to this customer (read-only: integrations/stripe owns them)."""
    rows = session.execute(
        select(StripeCustomerLink.stripe_customer_id).where(
            StripeCustomerLink.program_id == program_id, StripeCustomerLink.customer_external_id == external_id
        )
    ).scalars()
    return frozenset(rows)


@dataclass(frozen=True)
class ReferralTotals:
    advocates: int
    advocates_who_referred: int
    advocates_who_shared: int  # advocates whose link had a human click in the window (set by the service)
    friends_referred: int
    referred_revenue: int
    reward_cost: int  # issued referrer cash and credit amounts, program currency
    rewards_pending: int
    rewards_issued: int
    rewards_failed: int
    rewards_rejected: int


def totals(
    session: Session, program_id: str, since: datetime | None = None, until: datetime | None = None
) -> ReferralTotals:
    """The program's referral figures; with a window, referrals and rewards created in it (advocates: as of its end)."""

    def window(column: Any, statement: Any) -> Any:
        if since is not None:
            statement = statement.where(column >= since)
        if until is not None:
            statement = statement.where(column < until)
        return statement

    advocate_count = select(func.count()).where(Advocate.program_id == program_id)
    if until is not None:  # advocates as of the end of the window
        advocate_count = advocate_count.where(Advocate.created_at < until)
    advocates = session.execute(advocate_count).scalar_one()
    referral_row = session.execute(
        window(
            Referral.created_at,
            select(
                func.count(),
                func.count(func.distinct(Referral.advocate_id)),
                func.coalesce(func.sum(Referral.revenue_amount), 0),
            ).where(Referral.program_id == program_id),
        )
    ).one()
    statuses = dict(
        session.execute(
            window(
                Reward.created_at,
                select(Reward.status, func.count()).where(Reward.program_id == program_id).group_by(Reward.status),
            )
        ).all()
    )
    cost = session.execute(
        window(
            Reward.created_at,
            select(func.coalesce(func.sum(Reward.amount), 0)).where(
                Reward.program_id == program_id,
                Reward.status == "issued",
                Reward.type.in_(("credit", "cash", "coupon", "amount_off")),
            ),
        )
    ).scalar_one()
    return ReferralTotals(
        advocates=int(advocates),
        advocates_who_referred=int(referral_row[1]),
        advocates_who_shared=0,
        friends_referred=int(referral_row[0]),
        referred_revenue=int(referral_row[2]),
        reward_cost=int(cost),
        rewards_pending=int(statuses.get("pending", 0)),
        rewards_issued=int(statuses.get("issued", 0)),
        rewards_failed=int(statuses.get("failed", 0)),
        rewards_rejected=int(statuses.get("rejected", 0)),
    )


def advocate_partner_ids(session: Session, program_id: str, until: datetime | None = None) -> set[str]:
    """The partner ids behind the program's advocates (made before `until`)."""
    statement = select(Advocate.partner_id).where(Advocate.program_id == program_id)
    if until is not None:
        statement = statement.where(Advocate.created_at < until)
    return set(session.execute(statement).scalars())


def advocate_by_share_key(session: Session, share_key: str) -> Advocate | None:
    return session.execute(select(Advocate).where(Advocate.share_key == share_key)).scalar_one_or_none()


def friend_code_for_click(session: Session, advocate_id: str, click_id: str) -> str | None:
    """The issued promotion code of the advocate's friend whose customer came through this click, if any
    (customers and clicks are conversion's and tracking's: read here only)."""
    return session.execute(
        select(Reward.code)
        .join(Referral, Referral.id == Reward.referral_id)
        .join(Customer, Customer.id == Referral.friend_customer_id)
        .where(
            Reward.advocate_id == advocate_id,
            Reward.side == "friend",
            Reward.status == "issued",
            Reward.code.is_not(None),
            Customer.click_id == click_id,
        )
        .limit(1)
    ).scalar_one_or_none()


def link_destination(session: Session, link_id: str) -> str | None:
    return session.execute(select(Link.destination_url).where(Link.id == link_id)).scalar_one_or_none()


def latest_referrals(session: Session, program_id: str, limit: int) -> list[tuple[Referral, str, str | None]]:
    """The program's newest referrals with their advocate's email and name."""
    rows = session.execute(
        select(Referral, Advocate.email, Advocate.name)
        .join(Advocate, Advocate.id == Referral.advocate_id)
        .where(Referral.program_id == program_id)
        .order_by(Referral.id.desc())
        .limit(limit)
    ).all()
    return [(referral, email, name) for referral, email, name in rows]


def list_referrals(
    session: Session, program_id: str, cursor: str | None, limit: int
) -> list[tuple[Referral, str, str | None]]:
    """A page of the program's referrals, newest first (ids are ULIDs), with their advocate's email and name."""
    statement = (
        select(Referral, Advocate.email, Advocate.name)
        .join(Advocate, Advocate.id == Referral.advocate_id)
        .where(Referral.program_id == program_id)
    )
    if cursor:
        statement = statement.where(Referral.id < cursor)
    rows = session.execute(statement.order_by(Referral.id.desc()).limit(limit + 1)).all()
    return [(referral, email, name) for referral, email, name in rows]
