"""Customer referrals: advocates, the friends they refer, and the rewards those referrals earn.

An advocate is backed by a partner, an enrollment of kind `advocate` and a link of its own, so the
share URL records clicks through the unchanged redirect and a friend's lead or sale is attributed by
the unchanged conversion code (click id, referral code, coupon or Stripe). Conversion calls
`on_conversion` once after recording a lead or sale (same transaction), and `on_refund` after a refund.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from partnerloop.conversion.screens import add_follower
from partnerloop.db import on_commit
from partnerloop.kit.errors import InvalidInput, NotFound
from partnerloop.kit.ids import new_id
from partnerloop.kit.pagination import page_of
from partnerloop.kit.time import utc_now
from partnerloop.link import service as link_service
from partnerloop.link.changes import link_changed
from partnerloop.link.schemas import LinkIn
from partnerloop.models import Advocate, Customer, Event, Program, Referral, Reward
from partnerloop.partner import service as partner_service
from partnerloop.partner.schemas import PartnerIn
from partnerloop.program.referral_settings import ReferralRewards
from partnerloop.program.service import is_email
from partnerloop.referral import repository
from partnerloop.referral.issuing import (
    BUCKET_SECONDS,
    ISSUE_JOB,
    RewardNotFound,
    RewardNotIssuable,
    RewardNotRetryable,
    get_reward,
    issue_due_rewards,
    issue_reward,
    list_rewards,
    mark_issued,
    retry_reward,
    schedule,
)
from partnerloop.referral.repository import ReferralTotals
from partnerloop.referral.rules import (
    ConversionFacts,
    Person,
    RewardStatus,
    decide_rewards,
    email_key,
    promotion_code,
    rejects_on_refund,
    token_matches,
)
from partnerloop.referral.schemas import AdvocateIn
from partnerloop.referral.shapes import (
    advocate_out,
    advocates_out,
    reward_out,
    reward_settings,
    share_url,
)
from partnerloop.report import service as report_service
from partnerloop.report.rules import Window
from partnerloop.webhook.service import emit, listens

# Issuing and the API shapes live in their own modules; this service is the domain's one entry point.
__all__ = [
    "BUCKET_SECONDS",
    "ISSUE_JOB",
    "AdvocateNotFound",
    "InvalidAdvocate",
    "ReferralTotals",
    "RewardNotFound",
    "RewardNotIssuable",
    "RewardNotRetryable",
    "WidgetView",
    "advocate_by_share_key",
    "advocate_from_stripe",
    "advocate_names",
    "advocate_out",
    "advocates_out",
    "continue_path",
    "create_advocate",
    "get_advocate",
    "get_reward",
    "issue_due_rewards",
    "issue_reward",
    "latest_referrals",
    "list_advocates",
    "list_referrals",
    "list_rewards",
    "mark_issued",
    "on_conversion",
    "on_refund",
    "referral_totals",
    "referrals_of",
    "retry_reward",
    "reward_out",
    "reward_settings",
    "share_url",
    "widget_view",
]


class AdvocateNotFound(NotFound):
    pass


class InvalidAdvocate(InvalidInput):
    pass


# ---------------------------------------------------------------- advocates


def _destination(program: Program, requested: str | None) -> str:
    if requested:
        return requested
    if program.fallback_url:
        return program.fallback_url
    return f"https://{program.allowed_domains[0]}/"


def create_advocate(session: Session, program: Program, body: AdvocateIn) -> tuple[Advocate, bool]:
    """The program's advocate for this customer, created when new; returns (advocate, created).

    Idempotent on `customer_external_id`: the same id again (concurrently too) answers the first advocate.
    """
    existing = repository.advocate_by_external_id(session, program.id, body.customer_external_id)
    if existing is not None:
        return existing, False
    email = body.email.strip().lower()
    if not is_email(email):
        raise InvalidAdvocate(f"email: '{body.email}' is not an email address.")
    name = (body.name or email.split("@", 1)[0]).strip()
    try:
        with session.begin_nested():
            partner, enrollment = partner_service.enroll_partner(
                session, program, PartnerIn(email=email, name=name, status="approved"), kind="advocate"
            )
            link = link_service.create_link(
                session,
                program,
                LinkIn(partner_id=partner.id, destination_url=_destination(program, body.destination_url)),
            )
            advocate = Advocate(
                program_id=program.id,
                partner_id=partner.id,
                link_id=link.id,
                customer_external_id=body.customer_external_id,
                email=email,
                email_key=email_key(email),
                name=body.name,
                stripe_customer_id=body.stripe_customer_id,
                referral_code=enrollment.referral_code,
                share_key=link.key,
            )
            session.add(advocate)
            session.flush()
    except IntegrityError:  # a concurrent request made this advocate first
        existing = repository.advocate_by_external_id(session, program.id, body.customer_external_id)
        if existing is None:
            raise
        return existing, False
    # The link's own refresh of the redirect cache was registered inside the savepoint: register it again.
    on_commit(session, lambda: link_changed(advocate.share_key))
    return advocate, True


def advocate_from_stripe(
    session: Session,
    program: Program,
    *,
    external_id: str,
    stripe_customer_id: str,
    email: object,
    name: object,
    moment: str = "customer.created",
) -> Advocate | None:
    """A Stripe customer made an advocate when the program's settings say `auto_advocates` at this `moment`
    (`customer.created`, or `invoice.paid`: their first paid invoice) and Stripe gave an email; the advocate,
    or None. Idempotent like create_advocate: later invoices of the same customer answer the same advocate."""
    settings = reward_settings(program)
    if (
        settings is None
        or not settings.auto_advocates
        or settings.auto_advocates_on != moment
        or not isinstance(email, str)
        or not is_email(email.strip().lower())
    ):
        return None
    if moment == "invoice.paid":
        known = repository.advocate_by_external_id(session, program.id, external_id[:200])
        if known is not None:
            return known  # only the first paid invoice makes one: the rest read it
    body = AdvocateIn(
        customer_external_id=external_id[:200],
        email=email.strip().lower(),
        name=name[:200] if isinstance(name, str) and name.strip() else None,
        stripe_customer_id=stripe_customer_id,
    )
    return create_advocate(session, program, body)[0]


def get_advocate(session: Session, program: Program, advocate_id: str) -> Advocate:
    advocate = repository.get_advocate(session, program.id, advocate_id)
    if advocate is None:
        raise AdvocateNotFound(f"No advocate {advocate_id} in this program.")
    return advocate


def list_advocates(
    session: Session, program: Program, cursor: str | None, limit: int, search: str | None = None
) -> tuple[list[Advocate], str | None]:
    rows = repository.list_advocates(session, program.id, cursor, limit, search)
    return page_of(rows, limit, lambda advocate: advocate.id)


def advocate_by_share_key(session: Session, share_key: str) -> Advocate | None:
    return repository.advocate_by_share_key(session, share_key)


def continue_path(session: Session, advocate: Advocate, click_cookie: str | None) -> str:
    """Where the share page continues: the advocate's link (/go/{key}: a click, then the destination with
    pl_cid); for a returning friend whose promotion code was issued, the destination with
    `prefilled_promo_code` (Stripe Payment Links fill it in) as the link's deep-link target."""
    path = f"/go/{quote(advocate.share_key)}"
    code = repository.friend_code_for_click(session, advocate.id, click_cookie) if click_cookie else None
    destination = repository.link_destination(session, advocate.link_id) if code else None
    if code is None or destination is None:
        return path
    parts = urlsplit(destination)
    query = urlencode([*parse_qsl(parts.query), ("prefilled_promo_code", code)])
    return f"{path}?{urlencode({'to': urlunsplit(parts._replace(query=query))})}"


def referral_totals(session: Session, program: Program, since: datetime, until: datetime) -> ReferralTotals:
    """The KPIs of a window: advocates, who shared (a human click on their link or share page's link in the
    window: the share page sends the friend through the link), who referred, friends, revenue, rewards."""
    found = repository.totals(session, program.id, since, until)
    clicked = report_service.partners_clicked(session, program, Window(since, until))
    shared = len(clicked & repository.advocate_partner_ids(session, program.id, until)) if clicked else 0
    return dataclasses.replace(found, advocates_who_shared=shared)


def advocate_names(session: Session, program: Program, advocate_ids: set[str]) -> dict[str, str]:
    """advocate id -> name (or email), for lists of rewards."""
    return {a.id: a.name or a.email for a in repository.advocates_by_ids(session, program.id, advocate_ids)}


def latest_referrals(session: Session, program: Program, limit: int = 50) -> list[tuple[Referral, str, str | None]]:
    """The newest referred friends, each with their advocate's email and name."""
    return repository.latest_referrals(session, program.id, limit)


def list_referrals(
    session: Session, program: Program, cursor: str | None, limit: int = 100
) -> tuple[list[tuple[Referral, str, str | None]], str | None]:
    """A page of referred friends (newest first) with their advocate's email and name, and the next cursor."""
    rows = repository.list_referrals(session, program.id, cursor, limit)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1][0].id if more and rows else None)


def referrals_of(session: Session, advocate: Advocate) -> list[Referral]:
    return repository.referrals_of_advocate(session, advocate.id)


# ---------------------------------------------------------------- conversions


def on_conversion(
    session: Session, program: Program, customer: Customer, event: Event, *, email: str | None = None
) -> None:
    """After a lead or sale is recorded: when the customer is an advocate's friend, count the referral
    and, on the program's trigger, decide both sides' rewards (once per friend) and schedule their issuing."""
    if customer.partner_id is None:
        return
    # Locked: concurrent conversions of one advocate's friends decide the limit one after another.
    advocate = repository.advocate_of_partner(session, program.id, customer.partner_id, lock=True)
    if advocate is None:
        return
    referral = _count_referral(session, program, advocate, customer, event, email)
    settings = reward_settings(program)
    if settings is None or event.kind != settings.trigger:
        return
    if repository.rewards_of_referral(session, referral.id):
        return  # once per friend: a later lead or sale earns nothing more
    _decide_and_save_rewards(session, program, settings, advocate, referral, customer, event)


def _count_referral(
    session: Session, program: Program, advocate: Advocate, customer: Customer, event: Event, email: str | None
) -> Referral:
    """The advocate's referral of this friend (made on the first conversion), with this lead or sale counted."""
    referral = repository.referral_for(
        session,
        {
            "id": new_id(),
            "program_id": program.id,
            "advocate_id": advocate.id,
            "friend_customer_id": customer.id,
            "friend_external_id": customer.external_id,
            "friend_email_key": email_key(email) if email else None,
            "sales_count": 0,
            "revenue_amount": 0,
            "created_at": utc_now(),
        },
    )
    if email and referral.friend_email_key is None:
        referral.friend_email_key = email_key(email)
    if email and referral.friend_email is None and is_email(email.strip().lower()):
        referral.friend_email = email.strip().lower()[:320]  # to send the friend their reward
    if event.kind == "sale":
        amount = event.program_amount if event.program_amount is not None else event.amount or 0
        repository.add_sale(session, referral.id, amount, event.occurred_at)
    elif referral.first_lead_at is None:
        referral.first_lead_at = event.occurred_at
    return referral


def _conversion_facts(
    session: Session, program: Program, advocate: Advocate, referral: Referral, customer: Customer, event: Event
) -> ConversionFacts:
    """What the reward rules decide on: both people (to spot a friend who is the advocate) and the limit so far."""
    return ConversionFacts(
        event_kind=event.kind,
        occurred_at=event.occurred_at,
        advocate=Person(
            advocate.customer_external_id,
            advocate.email_key,
            frozenset({advocate.stripe_customer_id}) if advocate.stripe_customer_id else frozenset(),
        ),
        friend=Person(
            customer.external_id,
            referral.friend_email_key,
            repository.stripe_customers_of(session, program.id, customer.external_id),
        ),
        referrer_rewards_so_far=repository.counted_referrer_rewards(session, advocate.id),
        currency=program.currency,
    )


def _decide_and_save_rewards(
    session: Session,
    program: Program,
    settings: ReferralRewards,
    advocate: Advocate,
    referral: Referral,
    customer: Customer,
    event: Event,
) -> None:
    """Decide both sides' rewards for this friend's trigger, insert them (once per referral and side),
    announce them and schedule their issuing."""
    facts = _conversion_facts(session, program, advocate, referral, customer, event)
    announce = listens(session, program.id, "reward.created")
    for decision in decide_rewards(settings, facts):
        reward_id = new_id()
        now = utc_now()
        created = repository.insert_reward(
            session,
            {
                "id": reward_id,
                "program_id": program.id,
                "advocate_id": advocate.id,
                "referral_id": referral.id,
                "side": decision.side.value,
                "type": decision.type,
                "amount": decision.amount,
                "currency": program.currency,
                "percent": decision.percent,
                "duration_months": decision.duration_months,
                "code": None
                if decision.type in ("credit", "cash")
                else promotion_code(advocate.referral_code, reward_id),
                "status": decision.status.value,
                "reason": decision.reason,
                "trigger_event_id": event.id,
                "due_at": decision.due_at,
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            },
        )
        if created and announce:
            reward = session.get(Reward, reward_id)
            if reward is not None:
                emit(session, program.id, "reward.created", reward_out(reward).model_dump(mode="json"))
        if created and decision.status is RewardStatus.PENDING:
            schedule(session, program, decision.type, decision.due_at)


def on_refund(session: Session, program: Program, sale: Event, refunded_at: datetime) -> None:
    """A refund of a friend's sale before the hold ended rejects the rewards it triggered."""
    for reward in repository.pending_rewards_of_event(session, program.id, sale.id):
        if rejects_on_refund(reward.status, reward.due_at, refunded_at):
            reward.status = RewardStatus.REJECTED.value
            reward.reason = "The friend's sale was refunded before the hold ended."
    session.flush()


# ---------------------------------------------------------------- the widget


@dataclass(frozen=True)
class WidgetView:
    program: Program
    advocate: Advocate
    referrals: list[Referral]
    rewards: list[Reward]
    settings: ReferralRewards | None


def widget_view(session: Session, program: Program, customer_external_id: str, token: str) -> WidgetView | None:
    """What the widget shows an advocate whose token matches; None otherwise (a wrong token and an
    unknown customer look the same)."""
    if not token_matches(program.widget_secret, customer_external_id, token):
        return None
    advocate = repository.advocate_by_external_id(session, program.id, customer_external_id)
    if advocate is None:
        return None
    rewards = repository.rewards_of_advocates(session, [advocate.id])[advocate.id]
    return WidgetView(program, advocate, referrals_of(session, advocate), rewards, reward_settings(program))


class _Follower:
    """Referrals hear of every conversion and refund recorded in this process (conversion/screens.py)."""

    def converted(
        self, session: Session, program: Program, customer: Customer, event: Event, *, email: str | None
    ) -> None:
        on_conversion(session, program, customer, event, email=email)

    def refunded(self, session: Session, program: Program, sale: Event, refunded_at: datetime) -> None:
        on_refund(session, program, sale, refunded_at)


add_follower(_Follower())
