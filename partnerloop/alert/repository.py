"""All SQL of alerts and of the facts their rules judge, scoped by the program."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, literal, or_, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from partnerloop.alert.rules import OPEN_KEY, ClickSeen
from partnerloop.integrations.stripe.rules import RELEASED_DISPUTE  # won: closed in the merchant's favour
from partnerloop.kit.ids import new_id
from partnerloop.models import (
    Alert,
    AlertSettings,
    Click,
    ClickRollup,
    Customer,
    Event,
    Link,
    Partner,
    Program,
    StripeCardSeen,
    StripeCustomerLink,
    StripeDispute,
    UserSession,
)
from partnerloop.tracking.batch import truncate_ip

_CHUNK = 500


# ------------------------------------------------------------------------------------------- alerts


def settings(session: Session, program_id: str) -> AlertSettings | None:
    return session.get(AlertSettings, program_id)


def save_settings(session: Session, program_id: str, thresholds: dict[str, Any], actor: str) -> AlertSettings:
    row = session.get(AlertSettings, program_id, with_for_update=True)
    if row is None:
        row = AlertSettings(program_id=program_id, thresholds=thresholds, updated_by=actor)
        session.add(row)
    else:
        row.thresholds = thresholds
        row.updated_by = actor
    session.flush()
    return row


def open_alert(session: Session, program_id: str, kind: str, subject: str) -> Alert | None:
    return session.execute(
        select(Alert)
        .where(Alert.program_id == program_id, Alert.kind == kind, Alert.subject == subject, Alert.open_key == OPEN_KEY)
        .with_for_update()
    ).scalar_one_or_none()


def insert_open_alert(session: Session, values: dict[str, Any]) -> Alert | None:
    """The new open alert, or None when the same rule and subject has one open already (the unique key)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(Alert)
        .values(id=new_id(), open_key=OPEN_KEY, status="open", occurrences=1, **values)
        .on_conflict_do_nothing(index_elements=["program_id", "kind", "subject", "open_key"])
        .returning(Alert)
    )
    alert: Alert | None = session.scalars(statement).one_or_none()
    return alert


def get(session: Session, program_id: str, alert_id: str, *, lock: bool = False) -> Alert | None:
    statement = select(Alert).where(Alert.program_id == program_id, Alert.id == alert_id)
    if lock:
        statement = statement.with_for_update()
    return session.execute(statement).scalar_one_or_none()


def page(
    session: Session,
    program_id: str,
    *,
    status: str | None,
    kind: str | None = None,
    partner_id: str | None = None,
    after: str | None,
    limit: int,
) -> list[Alert]:
    statement = select(Alert).where(Alert.program_id == program_id)
    if status is not None:
        statement = statement.where(Alert.status == status)
    if kind is not None:
        statement = statement.where(Alert.kind == kind)
    if partner_id is not None:
        statement = statement.where(Alert.partner_id == partner_id)
    if after is not None:
        statement = statement.where(Alert.id < after)
    return list(session.execute(statement.order_by(Alert.id.desc()).limit(limit)).scalars())


def count_open(session: Session, program_id: str) -> int:
    return int(
        session.execute(select(func.count()).where(Alert.program_id == program_id, Alert.status == "open")).scalar_one()
    )


# ------------------------------------------------------------------------------ conversion facts


def email_hashes(email: str, normalized: str) -> frozenset[str]:
    return frozenset(hashlib.sha256(value.encode()).hexdigest() for value in {email.strip().lower(), normalized})


def partner(session: Session, partner_id: str) -> Partner | None:
    return session.get(Partner, partner_id)


def click_seen(session: Session, program_id: str, click_id: str | None) -> ClickSeen | None:
    if click_id is None:
        return None
    click = session.execute(
        select(Click).where(Click.program_id == program_id, Click.id == click_id)
    ).scalar_one_or_none()
    if click is None:
        return None
    return ClickSeen(click.id, click.created_at, click.ip_truncated, click.user_agent, click.referrer)


def partner_devices(session: Session, user_id: str | None) -> frozenset[tuple[str, str]]:
    """(truncated IP, user agent) of every login of the partner's user."""
    if user_id is None:
        return frozenset()
    rows = session.execute(
        select(UserSession.ip, UserSession.user_agent).where(UserSession.user_id == user_id).distinct()
    ).all()
    found = set()
    for ip, agent in rows:
        truncated = truncate_ip(ip)
        if truncated and agent:
            found.add((truncated, str(agent)))
    return frozenset(found)


def stripe_ids(session: Session, program_id: str, external_ids: Sequence[str]) -> frozenset[str]:
    """The Stripe customer ids of these customers (by external id; a Stripe id is its own external id)."""
    if not external_ids:
        return frozenset()
    rows = session.execute(
        select(StripeCustomerLink.stripe_customer_id).where(
            StripeCustomerLink.program_id == program_id, StripeCustomerLink.customer_external_id.in_(external_ids)
        )
    ).scalars()
    return frozenset(str(row) for row in rows) | frozenset(item for item in external_ids if item.startswith("cus_"))


def customers_with_email(session: Session, program_id: str, hashes: frozenset[str], but: str) -> list[str]:
    """External ids of the program's other customers with one of these email hashes."""
    if not hashes:
        return []
    return [
        str(row)
        for row in session.execute(
            select(Customer.external_id).where(
                Customer.program_id == program_id, Customer.email_hash.in_(hashes), Customer.id != but
            )
        ).scalars()
    ]


def customer_stripe_facts(session: Session, program_id: str, external_id: str) -> tuple[frozenset[str], frozenset[str]]:
    """The customer's Stripe customer ids (as `stripe_ids` finds them) and the card hashes Stripe showed paying
    for them, in one query: a sale's screen reads both for every conversion."""
    links = select(literal("link").label("fact"), StripeCustomerLink.stripe_customer_id.label("value")).where(
        StripeCustomerLink.program_id == program_id, StripeCustomerLink.customer_external_id == external_id
    )
    cards = select(literal("card"), StripeCardSeen.fingerprint_hash).where(
        StripeCardSeen.program_id == program_id, StripeCardSeen.customer_external_id == external_id
    )
    stripe: set[str] = {external_id} if external_id.startswith("cus_") else set()
    seen: set[str] = set()
    for fact, value in session.execute(union_all(links, cards)).all():
        (stripe if fact == "link" else seen).add(str(value))
    return frozenset(stripe), frozenset(seen)


def partner_cards(
    session: Session, program_id: str, hashes: frozenset[str], external_ids: Sequence[str]
) -> frozenset[str]:
    """The card hashes the partner paid with: payments under the partner's email, or for the partner's own
    customers (those with the partner's email)."""
    if not hashes and not external_ids:
        return frozenset()
    rows = session.execute(
        select(StripeCardSeen.fingerprint_hash).where(
            StripeCardSeen.program_id == program_id,
            or_(StripeCardSeen.email_hash.in_(hashes), StripeCardSeen.customer_external_id.in_(list(external_ids))),
        )
    ).scalars()
    return frozenset(rows)


def card_sharing(
    session: Session, program_id: str, partner_id: str, cards: frozenset[str], external_id: str
) -> tuple[tuple[str, int], ...]:
    """(card hash, distinct customers of the partner who paid with it, this customer included) per card."""
    if not cards:
        return ()
    rows = session.execute(
        select(StripeCardSeen.fingerprint_hash, func.count(func.distinct(StripeCardSeen.customer_external_id)))
        .join(
            Customer,
            (Customer.program_id == program_id) & (Customer.external_id == StripeCardSeen.customer_external_id),
        )
        .where(
            StripeCardSeen.program_id == program_id,
            StripeCardSeen.fingerprint_hash.in_(sorted(cards)),
            StripeCardSeen.customer_external_id != external_id,
            Customer.partner_id == partner_id,
        )
        .group_by(StripeCardSeen.fingerprint_hash)
    ).all()
    others = {str(card): int(count) for card, count in rows}
    return tuple(sorted((card, others.get(card, 0) + 1) for card in cards))


def customer_by_external_id(session: Session, program_id: str, external_id: str) -> Customer | None:
    return session.execute(
        select(Customer).where(Customer.program_id == program_id, Customer.external_id == external_id)
    ).scalar_one_or_none()


def credited_conversions(session: Session, customer_id: str, limit: int) -> list[Event]:
    """The customer's latest leads and sales that credited a partner."""
    return list(
        session.execute(
            select(Event)
            .where(Event.customer_id == customer_id, Event.kind.in_(("lead", "sale")), Event.partner_id.is_not(None))
            .order_by(Event.occurred_at.desc(), Event.id.desc())
            .limit(limit)
        ).scalars()
    )


# ---------------------------------------------------------------------------------- click signals


def programs_with_clicks_since(session: Session, since: datetime) -> list[Program]:
    """Programs with a click since `since`, found by their click rollups of the days since (the index on
    (program, day)), not by a scan of a day of raw clicks."""
    ids = select(ClickRollup.program_id).where(ClickRollup.day >= since.date()).distinct()
    return list(session.execute(select(Program).where(Program.id.in_(ids)).order_by(Program.id)).scalars())


def recent_link_clicks(session: Session, program_id: str, since: datetime) -> list[tuple[str, str, int, int]]:
    """(link id, partner id, clicks, bot clicks) of each link clicked since `since`."""
    rows = session.execute(
        select(Click.link_id, Click.partner_id, func.count(), func.sum(case((Click.is_bot, 1), else_=0)))
        .where(Click.program_id == program_id, Click.created_at >= since)
        .group_by(Click.link_id, Click.partner_id)
    ).all()
    return [(str(link), str(partner), int(count), int(bots or 0)) for link, partner, count, bots in rows]


def top_networks(
    session: Session, program_id: str, link_ids: Sequence[str], since: datetime
) -> dict[str, list[tuple[str, int]]]:
    """Per link, its recent clicks per truncated IP, busiest first (five at most): one grouped scan of the
    window's clicks, the five busiest per link picked by the database (a window function)."""
    wanted = set(link_ids)
    if not wanted:
        return {}
    counted = (
        select(Click.link_id.label("link_id"), Click.ip_truncated.label("ip"), func.count().label("clicks"),
               func.row_number().over(partition_by=Click.link_id,
                                      order_by=(func.count().desc(), Click.ip_truncated)).label("rank"))
        .where(Click.program_id == program_id, Click.created_at >= since, Click.ip_truncated.is_not(None))
        .group_by(Click.link_id, Click.ip_truncated)
    )  # fmt: skip
    if len(wanted) <= _CHUNK:
        counted = counted.where(Click.link_id.in_(sorted(wanted)))
    top = counted.subquery()
    found: dict[str, list[tuple[str, int]]] = {}
    rows = session.execute(select(top.c.link_id, top.c.ip, top.c.clicks).where(top.c.rank <= 5)
                           .order_by(top.c.link_id, top.c.rank))  # fmt: skip
    for link_id, ip, count in rows:
        if str(link_id) in wanted:
            found.setdefault(str(link_id), []).append((str(ip), int(count)))
    return found


def rollup_clicks(
    session: Session, program_id: str, link_ids: Sequence[str], first: date, last: date
) -> dict[str, int]:
    """Each link's clicks over the days first..last (rollups)."""
    found: dict[str, int] = {}
    for start in range(0, len(link_ids), _CHUNK):
        chunk = list(link_ids[start : start + _CHUNK])
        rows = session.execute(
            select(ClickRollup.link_id, func.sum(ClickRollup.clicks))
            .where(ClickRollup.program_id == program_id, ClickRollup.link_id.in_(chunk), ClickRollup.day >= first,
                   ClickRollup.day <= last)
            .group_by(ClickRollup.link_id)
        ).all()  # fmt: skip
        found.update({str(link): int(total or 0) for link, total in rows})
    return found


def link_keys(session: Session, link_ids: Sequence[str]) -> dict[str, str]:
    if not link_ids:
        return {}
    rows = session.execute(select(Link.id, Link.key).where(Link.id.in_(list(link_ids)))).all()
    return {str(link_id): str(key) for link_id, key in rows}


def recent_clicks_of(session: Session, program_id: str, *, link_id: str | None = None, partner_id: str | None = None,
                     since: datetime | None = None, limit: int = 25) -> list[Click]:  # fmt: skip
    """The latest clicks of a link or partner: the evidence on the review page."""
    statement = select(Click).where(Click.program_id == program_id)
    if link_id is not None:
        statement = statement.where(Click.link_id == link_id)
    if partner_id is not None:
        statement = statement.where(Click.partner_id == partner_id)
    if since is not None:
        statement = statement.where(Click.created_at >= since)
    return list(session.execute(statement.order_by(Click.created_at.desc()).limit(limit)).scalars())


# ----------------------------------------------------------------------------- performance signals


def programs(session: Session) -> list[Program]:
    return list(session.execute(select(Program).order_by(Program.id)).scalars())


def refund_counts(session: Session, program_id: str, since: datetime) -> dict[str, tuple[int, int]]:
    """Per partner: (sales since `since`, those of them refunded at all or disputed: a Stripe dispute on
    their invoice that the merchant has not won)."""
    refunded = select(Event.sale_event_id).where(
        Event.program_id == program_id, Event.kind == "refund", Event.sale_event_id.is_not(None)
    )
    disputed = select(StripeDispute.invoice_id).where(
        StripeDispute.program_id == program_id, StripeDispute.status.not_in(RELEASED_DISPUTE)
    )
    bad = or_(Event.id.in_(refunded), Event.invoice_id.in_(disputed))
    rows = session.execute(
        select(Event.partner_id, func.count(), func.sum(case((bad, 1), else_=0)))
        .where(Event.program_id == program_id, Event.kind == "sale", Event.partner_id.is_not(None),
               Event.occurred_at >= since)
        .group_by(Event.partner_id)
    ).all()  # fmt: skip
    return {str(partner): (int(sales), int(refunds or 0)) for partner, sales, refunds in rows}
