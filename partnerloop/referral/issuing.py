"""Issuing rewards: the job that issues due rewards (cash into the ledger, the rest through Stripe with
idempotency keys), retries with backoff, and the manager's mark-issued and retry."""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy.orm import Session

from partnerloop.commission import service as commission_service
from partnerloop.commission.schemas import ManualCommissionIn
from partnerloop.config import Settings
from partnerloop.integrations import stripe_api
from partnerloop.jobs.queue import enqueue
from partnerloop.kit.errors import Conflict, InvalidInput, NotFound
from partnerloop.kit.money import email_money
from partnerloop.kit.pagination import page_of
from partnerloop.kit.time import utc_now
from partnerloop.models import Advocate, Program, Referral, Reward
from partnerloop.notify.email import OutgoingEmail, enqueue_emails
from partnerloop.program.stripe_secrets import has_stripe_secret_key
from partnerloop.referral import repository
from partnerloop.referral.rules import (
    RewardStatus,
    Side,
    after_stripe_failure,
    idempotency_key,
    is_transient,
    needs_stripe,
    promotion_code,
)
from partnerloop.referral.shapes import reward_out
from partnerloop.webhook.service import emit

ISSUE_JOB = "referral.issue_due_rewards"
ACTOR = "referral"


class RewardNotFound(NotFound):
    pass


class RewardNotIssuable(Conflict):
    pass


class RewardNotRetryable(Conflict):
    pass


ISSUE_BATCH = 200  # rewards per job: one transaction, Stripe called from a few threads
STRIPE_THREADS = 8
BUCKET_SECONDS = 2


def _bucket(at: datetime) -> datetime:
    """The issuing job's run time for a reward due at `at`: the next whole BUCKET_SECONDS after it (or now),
    so that rewards due close together share one job, which runs once all of them are due."""
    at = max(at, utc_now())
    epoch = int(at.timestamp()) // BUCKET_SECONDS * BUCKET_SECONDS + BUCKET_SECONDS
    return datetime.fromtimestamp(epoch, tz=at.tzinfo)


def schedule(session: Session, program: Program, reward_type: str, due_at: datetime) -> None:
    """Queue the issuing job for when the reward is due; a Stripe reward of a program without a Stripe key
    waits `pending` for mark-issued (or for the periodic run, once a key is set)."""
    if needs_stripe(reward_type) and not has_stripe_secret_key(program):
        return
    run_at = _bucket(due_at)
    enqueue(session, ISSUE_JOB, {}, run_at=run_at, unique_key=f"{ISSUE_JOB}:{run_at:%Y%m%dT%H%M%S}")


def _issued(
    session: Session, program: Program, reward: Reward, advocate: Advocate, reference: str, now: datetime
) -> None:
    _record_issued(reward, reference, now)
    _announce_issued(session, [(program, reward, advocate)])


def _record_issued(reward: Reward, reference: str, now: datetime) -> None:
    reward.status = RewardStatus.ISSUED.value
    reward.external_ref = reference
    reward.issued_at = now
    reward.reason = None


def _announce_issued(session: Session, issued: list[tuple[Program, Reward, Advocate]]) -> None:
    """The `reward.issued` events and emails of these issued rewards, after one flush of their new state
    (a batch's UPDATEs in one statement, not one autoflush per event's insert)."""
    if not issued:
        return
    session.flush()
    emails: list[OutgoingEmail] = []
    for program, reward, advocate in issued:
        emit(session, program.id, "reward.issued", reward_out(reward).model_dump(mode="json"))
        email = _friend_email(session, program, reward, advocate) if reward.side == Side.FRIEND else None
        if reward.side == Side.REFERRER:
            email = OutgoingEmail(
                to=advocate.email,
                subject=f"Your referral reward from {program.name}",
                text=(
                    f"Hello {advocate.name or advocate.email},\n\nthank you for referring a friend to "
                    f"{program.name}. Your reward is on its way: {_reward_words(reward)}.\n"
                    + (f"Your code: {reward.code}\n" if reward.code and reward.type == "coupon" else "")
                ),
            )
        if email is not None:
            emails.append(email)
    enqueue_emails(session, emails)


def _friend_email(session: Session, program: Program, reward: Reward, advocate: Advocate) -> OutgoingEmail | None:
    """The friend's reward, emailed to them when their email is known (they gave it with their lead)."""
    referral = session.get(Referral, reward.referral_id)
    if referral is None or not referral.friend_email:
        return None
    who = advocate.name or advocate.email.split("@", 1)[0]
    return OutgoingEmail(
        to=referral.friend_email,
        subject=f"{who} gave you {_reward_words(reward)} at {program.name}",
        text=(
            f"Hello,\n\n{who} referred you to {program.name}, so you get {_reward_words(reward)}.\n"
            + (f"Your code: {reward.code}\n" if reward.code else "")
            + "It applies to your first purchase.\n"
        ),
    )


def _reward_words(reward: Reward) -> str:
    return _words(reward.type, reward.amount, reward.currency, reward.percent, reward.duration_months)


@functools.lru_cache(maxsize=256)
def _words(reward_type: str, amount: int | None, currency: str, percent: int | None, months: int | None) -> str:
    """The reward in an email's words (cached: a batch's rewards mostly share one program's settings, and
    formatting money with babel costs more than the rest of a reward's email)."""
    if reward_type == "credit":
        return f"a {email_money(amount or 0, currency)} credit on your account"
    if reward_type == "cash":
        return f"{email_money(amount or 0, currency)}, paid out with the next payout"
    off = f"{percent}% off" if percent is not None else f"{email_money(amount or 0, currency)} off"
    return off + (f" for {months} months" if months else "")


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
    schedule(session, program, reward.type, outcome.retry_at)


def _issue_locked(session: Session, settings: Settings, rewards: list[Reward], now: datetime) -> list[Reward]:
    """Issue these locked, due, pending rewards: cash into the ledger, the rest through Stripe (the calls
    from a few threads at once, each with its reward's idempotency key). Returns the rewards handled."""
    calls: list[tuple[Reward, Program, Advocate, StripeCall]] = []
    handled: list[Reward] = []
    issued: list[tuple[Program, Reward, Advocate]] = []
    advocates = _advocates_of(session, rewards)
    programs: dict[str, Program] = {}
    for reward in rewards:
        program = programs.get(reward.program_id) or programs.setdefault(
            reward.program_id, session.get_one(Program, reward.program_id)
        )
        advocate = advocates[reward.advocate_id]
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
            _record_issued(reward, commission.id, now)
            issued.append((program, reward, advocate))
            handled.append(reward)
        elif not has_stripe_secret_key(program):
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
                _record_issued(reward, outcome, now)
                issued.append((program, reward, advocate))
            handled.append(reward)
    _announce_issued(session, issued)
    session.flush()
    return handled


def _advocates_of(session: Session, rewards: list[Reward]) -> dict[str, Advocate]:
    """The batch's advocates by id, in one query per program (not one `session.get` each)."""
    by_program: dict[str, set[str]] = {}
    for reward in rewards:
        by_program.setdefault(reward.program_id, set()).add(reward.advocate_id)
    return {
        advocate.id: advocate
        for program_id, advocate_ids in by_program.items()
        for advocate in repository.advocates_by_ids(session, program_id, advocate_ids)
    }


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
    schedule(session, program, reward.type, now)
    session.flush()
    return reward
