"""Customer referrals: advocates, the friends they refer, and the rewards those referrals earn.

An advocate is backed by a partner, an enrollment of kind `advocate` and a link of its own, so the
share URL records clicks through the unchanged redirect and a friend's lead or sale is attributed by
the unchanged conversion code (click id, referral code, coupon or Stripe). Conversion calls
`on_conversion` once after recording a lead or sale (same transaction), and `on_refund` after a refund.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from partnerloop.commission import service as commission_service
from partnerloop.commission.schemas import ManualCommissionIn
from partnerloop.config import Settings
from partnerloop.conversion.screens import add_follower
from partnerloop.db import on_commit
from partnerloop.integrations import stripe_api
from partnerloop.jobs.queue import enqueue
from partnerloop.kit.errors import Conflict, InvalidInput, NotFound
from partnerloop.kit.ids import new_id
from partnerloop.kit.money import format_money
from partnerloop.kit.pagination import page_of
from partnerloop.kit.time import utc_now
from partnerloop.link import service as link_service
from partnerloop.link.changes import link_changed
from partnerloop.link.schemas import LinkIn
from partnerloop.models import Advocate, Customer, Event, Program, Referral, Reward
from partnerloop.notify.email import enqueue_email
from partnerloop.partner import service as partner_service
from partnerloop.partner.schemas import PartnerIn
from partnerloop.program.referral_settings import ReferralRewards
from partnerloop.program.service import is_email
from partnerloop.referral import repository
from partnerloop.referral.rules import (
    ConversionFacts,
    Person,
    RewardStatus,
    Side,
    after_stripe_failure,
    decide_rewards,
    email_key,
    idempotency_key,
    is_transient,
    needs_stripe,
    promotion_code,
    rejects_on_refund,
    token_matches,
)
from partnerloop.referral.schemas import AdvocateIn, AdvocateOut, RewardOut
from partnerloop.webhook.service import emit, listens

ISSUE_JOB = "referral.issue_due_rewards"
ACTOR = "referral"


class AdvocateNotFound(NotFound):
    pass


class RewardNotFound(NotFound):
    pass


class InvalidAdvocate(InvalidInput):
    pass


class RewardNotIssuable(Conflict):
    pass


class RewardNotRetryable(Conflict):
    pass


# ---------------------------------------------------------------- settings and shapes


def reward_settings(program: Program) -> ReferralRewards | None:
    """The program's reward settings (validated when saved), or None when referrals earn nothing."""
    return ReferralRewards.model_validate(program.referral_rewards) if program.referral_rewards else None


def share_url(settings: Settings, advocate: Advocate) -> str:
    return f"{settings.base_url.rstrip('/')}/r/{advocate.share_key}"


def reward_out(reward: Reward) -> RewardOut:
    return RewardOut(
        id=reward.id,
        advocate_id=reward.advocate_id,
        referral_id=reward.referral_id,
        side=reward.side,
        type=reward.type,
        amount=reward.amount,
        currency=reward.currency,
        percent=reward.percent,
        duration_months=reward.duration_months,
        code=reward.code,
        status=reward.status,
        reason=reward.reason,
        external_ref=reward.external_ref,
        last_error=reward.last_error,
        attempts=reward.attempts,
        due_at=reward.due_at,
        issued_at=reward.issued_at,
        created_at=reward.created_at,
    )


def advocate_out(settings: Settings, advocate: Advocate, referrals_count: int, rewards: list[Reward]) -> AdvocateOut:
    return AdvocateOut(
        id=advocate.id,
        customer_external_id=advocate.customer_external_id,
        email=advocate.email,
        name=advocate.name,
        stripe_customer_id=advocate.stripe_customer_id,
        referral_code=advocate.referral_code,
        share_url=share_url(settings, advocate),
        partner_id=advocate.partner_id,
        link_id=advocate.link_id,
        referrals_count=referrals_count,
        rewards=[reward_out(reward) for reward in rewards],
        created_at=advocate.created_at,
    )


def advocates_out(session: Session, settings: Settings, advocates: list[Advocate]) -> list[AdvocateOut]:
    ids = [advocate.id for advocate in advocates]
    counts = repository.referral_counts(session, ids)
    rewards = repository.rewards_of_advocates(session, ids)
    return [advocate_out(settings, a, counts.get(a.id, 0), rewards.get(a.id, [])) for a in advocates]


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
    session: Session, program: Program, *, external_id: str, stripe_customer_id: str, email: object, name: object
) -> Advocate | None:
    """A new Stripe customer made an advocate when the program's settings say `auto_advocates` (and Stripe
    gave an email); the advocate, or None. Idempotent like create_advocate."""
    settings = reward_settings(program)
    if (
        settings is None
        or not settings.auto_advocates
        or not isinstance(email, str)
        or not is_email(email.strip().lower())
    ):
        return None
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


def latest_referrals(session: Session, program: Program, limit: int = 50) -> list[tuple[Referral, str, str | None]]:
    """The newest referred friends, each with their advocate's email and name."""
    return repository.latest_referrals(session, program.id, limit)


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
    if event.kind == "sale":
        amount = event.program_amount if event.program_amount is not None else event.amount or 0
        repository.add_sale(session, referral.id, amount, event.occurred_at)
    elif referral.first_lead_at is None:
        referral.first_lead_at = event.occurred_at
    settings = reward_settings(program)
    if settings is None or event.kind != settings.trigger:
        return
    if repository.rewards_of_referral(session, referral.id):
        return  # once per friend: a later lead or sale earns nothing more
    facts = ConversionFacts(
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
    for decision in decide_rewards(settings, facts):
        reward_id = new_id()
        values = {
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
            "code": promotion_code(advocate.referral_code, reward_id)
            if decision.type != "credit" and decision.type != "cash"
            else None,
            "status": decision.status.value,
            "reason": decision.reason,
            "trigger_event_id": event.id,
            "due_at": decision.due_at,
            "attempts": 0,
            "created_at": utc_now(),
            "updated_at": utc_now(),
        }
        created = repository.insert_reward(session, values)
        if created and listens(session, program.id, "reward.created"):
            reward = session.get(Reward, reward_id)
            if reward is not None:
                emit(session, program.id, "reward.created", reward_out(reward).model_dump(mode="json"))
        if created and decision.status is RewardStatus.PENDING:
            _schedule(session, program, decision.type, decision.due_at)


def on_refund(session: Session, program: Program, sale: Event, refunded_at: datetime) -> None:
    """A refund of a friend's sale before the hold ended rejects the rewards it triggered."""
    for reward in repository.pending_rewards_of_event(session, program.id, sale.id):
        if rejects_on_refund(reward.status, reward.due_at, refunded_at):
            reward.status = RewardStatus.REJECTED.value
            reward.reason = "The friend's sale was refunded before the hold ended."
    session.flush()


# ---------------------------------------------------------------- issuing

ISSUE_BATCH = 200  # rewards per job: one transaction, Stripe called from a few threads
STRIPE_THREADS = 8
BUCKET_SECONDS = 2


def _bucket(at: datetime) -> datetime:
    """The issuing job's run time for a reward due at `at`: the next whole BUCKET_SECONDS after it (or now),
    so that rewards due close together share one job, which runs once all of them are due."""
    at = max(at, utc_now())
    epoch = int(at.timestamp()) // BUCKET_SECONDS * BUCKET_SECONDS + BUCKET_SECONDS
    return datetime.fromtimestamp(epoch, tz=at.tzinfo)


def _schedule(session: Session, program: Program, reward_type: str, due_at: datetime) -> None:
    """Queue the issuing job for when the reward is due; a Stripe reward of a program without a Stripe key
    waits `pending` for mark-issued (or for the periodic run, once a key is set)."""
    if needs_stripe(reward_type) and not program.stripe_secret_key:
        return
    run_at = _bucket(due_at)
    enqueue(session, ISSUE_JOB, {}, run_at=run_at, unique_key=f"{ISSUE_JOB}:{run_at:%Y%m%dT%H%M%S}")


def _issued(
    session: Session, program: Program, reward: Reward, advocate: Advocate, reference: str, now: datetime
) -> None:
    reward.status = RewardStatus.ISSUED.value
    reward.external_ref = reference
    reward.issued_at = now
    reward.reason = None
    emit(session, program.id, "reward.issued", reward_out(reward).model_dump(mode="json"))
    if reward.side == Side.REFERRER:
        enqueue_email(
            session,
            to=advocate.email,
            subject=f"Your referral reward from {program.name}",
            text=(
                f"Hello {advocate.name or advocate.email},\n\nthank you for referring a friend to {program.name}. "
                f"Your reward is on its way: {_reward_words(reward)}.\n"
                + (f"Your code: {reward.code}\n" if reward.code and reward.type == "coupon" else "")
            ),
        )


def _reward_words(reward: Reward) -> str:
    if reward.type == "credit":
        return f"a {format_money(reward.amount or 0, reward.currency)} credit on your account"
    if reward.type == "cash":
        return f"{format_money(reward.amount or 0, reward.currency)}, paid out with the next payout"
    off = (
        f"{reward.percent}% off"
        if reward.percent is not None
        else f"{format_money(reward.amount or 0, reward.currency)} off"
    )
    return off + (f" for {reward.duration_months} months" if reward.duration_months else "")


StripeCall = Callable[[], str]


def _stripe_call(
    session: Session, program: Program, settings: Settings, reward: Reward, advocate: Advocate
) -> StripeCall:
    """The reward's Stripe request(s), with every fact read now: the call itself touches no database."""
    metadata = {"partnerloop_program": program.id, "partnerloop_reward": reward.id, "partnerloop_advocate": advocate.id}
    key = idempotency_key(reward.id, reward.type)
    if reward.type == "credit":
        customer_id = advocate.stripe_customer_id or ""
        amount, currency = reward.amount or 0, reward.currency
        return lambda: stripe_api.credit_customer_balance(
            program, settings, customer_id=customer_id, amount=amount, currency=currency,
            description=f"Referral reward ({program.name})", metadata=metadata, idempotency_key=key,
        )  # fmt: skip
    friend = reward.side == Side.FRIEND
    customer: str | None = advocate.stripe_customer_id
    if friend:
        referral = session.get(Referral, reward.referral_id)
        assert referral is not None
        known = repository.stripe_customers_of(session, program.id, referral.friend_external_id)
        customer = next(iter(known)) if len(known) == 1 else None
    code = reward.code or promotion_code(advocate.referral_code, reward.id)
    percent, off, currency, months = reward.percent, reward.amount, reward.currency, reward.duration_months
    name = f"Referral {'friend' if friend else 'reward'} {program.name}"
    return lambda: stripe_api.create_discount_code(
        program, settings, code=code, percent=percent, amount=off, currency=currency, duration_months=months,
        customer_id=customer, first_time_only=friend, name=name, metadata=metadata, idempotency_key=key,
    )[1]  # fmt: skip


def _failed_try(
    session: Session, program: Program, reward: Reward, failure: stripe_api.StripeCallFailed, now: datetime
) -> None:
    reward.attempts += 1
    reward.last_error = failure.message[:1000]
    outcome = after_stripe_failure(reward.attempts, is_transient(failure.http_status), now)
    if outcome.status is RewardStatus.FAILED:
        reward.status = RewardStatus.FAILED.value
        reward.reason = failure.message[:500]
        return
    assert outcome.retry_at is not None
    reward.due_at = outcome.retry_at  # the next run and early duplicates wait for the backoff too
    _schedule(session, program, reward.type, outcome.retry_at)


def _issue_locked(session: Session, settings: Settings, rewards: list[Reward], now: datetime) -> list[Reward]:
    """Issue these locked, due, pending rewards: cash into the ledger, the rest through Stripe (the calls
    from a few threads at once, each with its reward's idempotency key). Returns the rewards handled."""
    calls: list[tuple[Reward, Program, Advocate, StripeCall]] = []
    handled: list[Reward] = []
    for reward in rewards:
        program = session.get(Program, reward.program_id)
        advocate = session.get(Advocate, reward.advocate_id)
        assert program is not None and advocate is not None
        if reward.type == "cash":
            referral = session.get(Referral, reward.referral_id)
            commission = commission_service.create_manual_commission(
                session,
                program,
                ManualCommissionIn(
                    partner_id=advocate.partner_id,
                    amount=reward.amount or 0,
                    currency=reward.currency,
                    reason=f"Referral reward {reward.id} for friend {referral.friend_external_id if referral else ''}"[
                        :500
                    ],
                    status="approved",
                ),
                actor=ACTOR,
            )
            _issued(session, program, reward, advocate, commission.id, now)
            handled.append(reward)
        elif not program.stripe_secret_key:
            continue  # waits for mark-issued, or for a key
        elif reward.type in ("credit", "coupon") and reward.side == Side.REFERRER and not advocate.stripe_customer_id:
            reward.status = RewardStatus.FAILED.value
            reward.reason = (
                "The advocate has no stripe_customer_id, so Stripe cannot credit or restrict a code to them."
            )
            handled.append(reward)
        else:
            calls.append((reward, program, advocate, _stripe_call(session, program, settings, reward, advocate)))
    if calls:
        with ThreadPoolExecutor(max_workers=min(STRIPE_THREADS, len(calls))) as pool:
            outcomes = list(pool.map(_outcome_of, [call for *_facts, call in calls]))
        for (reward, program, advocate, _call), outcome in zip(calls, outcomes, strict=True):
            if isinstance(outcome, stripe_api.StripeCallFailed):
                _failed_try(session, program, reward, outcome, now)
            else:
                _issued(session, program, reward, advocate, outcome, now)
            handled.append(reward)
    session.flush()
    return handled


def _outcome_of(call: StripeCall) -> str | stripe_api.StripeCallFailed:
    try:
        return call()
    except stripe_api.StripeCallFailed as failure:
        return failure


def issue_reward(session: Session, settings: Settings, reward_id: str, now: datetime) -> str | None:
    """Issue one reward if it is due and pending (see issue_due_rewards); returns its status afterwards,
    or None when there was nothing to do."""
    reward = repository.get_reward(session, None, reward_id, lock=True)
    if reward is None or reward.status != RewardStatus.PENDING or reward.due_at > now:
        return None
    return reward.status if _issue_locked(session, settings, [reward], now) else None


def issue_due_rewards(session: Session, settings: Settings, now: datetime, limit: int = ISSUE_BATCH) -> int:
    """The issuing job: the due pending rewards, oldest first, locked (others' workers skip them), issued.
    A full batch queues the next job at once. Failures are recorded on the reward and retried with
    backoff (an outage for as long as it lasts), else `failed`. Returns how many were handled."""
    rewards = repository.lock_due_rewards(session, now, limit)
    handled = _issue_locked(session, settings, rewards, now)
    if len(rewards) == limit:
        enqueue(session, ISSUE_JOB, {}, run_at=now, unique_key=f"{ISSUE_JOB}:more:{rewards[-1].id}")
    return len(handled)


# ---------------------------------------------------------------- rewards by hand


def get_reward(session: Session, program: Program, reward_id: str, *, lock: bool = False) -> Reward:
    reward = repository.get_reward(session, program.id, reward_id, lock=lock)
    if reward is None:
        raise RewardNotFound(f"No reward {reward_id} in this program.")
    return reward


def list_rewards(
    session: Session,
    program: Program,
    *,
    advocate_id: str | None = None,
    status: str | None = None,
    side: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Reward], str | None]:
    if status is not None and status not in {item.value for item in RewardStatus}:
        raise InvalidInput(f"status: '{status}' is not one of pending, issued, failed, rejected.")
    if side is not None and side not in {item.value for item in Side}:
        raise InvalidInput(f"side: '{side}' is not referrer or friend.")
    rows = repository.list_rewards(
        session, program.id, advocate_id=advocate_id, status=status, side=side, cursor=cursor, limit=limit
    )
    return page_of(rows, limit, lambda reward: reward.id)


def mark_issued(session: Session, program: Program, reward_id: str, reference: str) -> Reward:
    """A reward issued outside Partnerloop (no Stripe key, or by hand): `pending` or `failed` -> `issued`."""
    reward = get_reward(session, program, reward_id, lock=True)
    if not RewardStatus(reward.status).can_mark_issued:
        raise RewardNotIssuable(
            f"Reward {reward_id} is {reward.status}: only pending or failed rewards can be marked issued."
        )
    advocate = session.get(Advocate, reward.advocate_id)
    assert advocate is not None
    _issued(session, program, reward, advocate, reference, utc_now())
    return reward


def retry_reward(session: Session, program: Program, reward_id: str) -> Reward:
    """A failed reward is tried again now (its attempts start over)."""
    reward = get_reward(session, program, reward_id, lock=True)
    if not RewardStatus(reward.status).can_retry:
        raise RewardNotRetryable(f"Reward {reward_id} is {reward.status}: only failed rewards are retried.")
    reward.status = RewardStatus.PENDING.value
    reward.attempts = 0
    reward.reason = None
    now = utc_now()
    reward.due_at = min(reward.due_at, now)
    _schedule(session, program, reward.type, now)
    session.flush()
    return reward


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
