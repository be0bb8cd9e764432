"""Engagement jobs: announcement email batches, scheduled announcements, the daily tier check (and the one
after a sale or refund), the monthly reviews."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from partnerloop.engagement import repository
from partnerloop.engagement.rules import Member, review_month_due, should_email
from partnerloop.engagement.service import announcements, campaigns, reviews, tiers
from partnerloop.jobs.queue import enqueue, job_handler
from partnerloop.kit.time import utc_now
from partnerloop.models import Program
from partnerloop.notify.email import email_settings, send_now

log = logging.getLogger("partnerloop.engagement")

SEND_DUE_ANNOUNCEMENTS_JOB = "engagement.send_due_announcements"
DAILY_TIERS_JOB = "engagement.daily_tiers"
MONTHLY_REVIEWS_JOB = "engagement.monthly_reviews"


@job_handler(announcements.SEND_BATCH_JOB)
def send_announcement_batch(session: Session, payload: dict[str, Any]) -> None:
    """Email one batch of an announcement's audience. Partners banned or unsubscribed since it was sent are
    skipped. On a relay failure the emails sent so far stay recorded and the rest go to a later batch, so no
    partner gets the same announcement twice."""
    program = session.get(Program, str(payload["program_id"]))
    announcement = repository.announcement(session, str(payload["program_id"]), str(payload["announcement_id"]))
    if program is None or announcement is None:
        return
    wanted = [str(partner_id) for partner_id in payload["partner_ids"]]
    members = {
        partner_id: (Member(partner_id, status, group_id, None, opted_out), email)
        for partner_id, status, group_id, _name, email, opted_out in repository.members(session, program.id, wanted)
    }
    deliveries = repository.queued_deliveries(session, announcement.id, wanted)
    settings = email_settings()
    now = utc_now()
    for position, delivery in enumerate(deliveries):
        member, address = members.get(delivery.partner_id, (None, ""))
        if member is None or not should_email(member):
            delivery.email_status = "skipped"
            continue
        subject, text, html = announcements.email_for(settings, program, announcement, delivery.partner_id)
        try:
            headers = announcements.list_unsubscribe_headers(settings, program.id, delivery.partner_id)
            send_now(settings, to=address, subject=subject, text=text, html=html, headers=headers, session=session)
        except Exception as error:  # the relay failed: keep what was sent, retry the rest later
            rest = [d.partner_id for d in deliveries[position:]]
            round_ = int(payload.get("round", 0)) + 1
            log.warning(
                "announcement %s: relay failed (%s); %d emails retried later", announcement.id, error, len(rest)
            )
            if round_ > announcements.MAX_BATCH_ROUNDS:
                for failed in deliveries[position:]:
                    failed.email_status = "failed"
                break
            enqueue(session, announcements.SEND_BATCH_JOB, {**payload, "partner_ids": rest, "round": round_},
                    program_id=program.id, run_at=announcements.retry_later(now, round_))  # fmt: skip
            break
        delivery.email_status = "sent"
        delivery.emailed_at = utc_now()
    session.flush()


@job_handler(SEND_DUE_ANNOUNCEMENTS_JOB)
def send_due_announcements(session: Session, _payload: dict[str, Any]) -> None:
    announcements.send_due(session, utc_now())


@job_handler(tiers.EVALUATE_TIERS_JOB)
def evaluate_tiers(session: Session, payload: dict[str, Any]) -> None:
    """The tier check of a few partners right after their sale or refund."""
    program = session.get(Program, str(payload["program_id"]))
    if program is not None:
        tiers.evaluate(session, program, utc_now(), [str(partner_id) for partner_id in payload["partner_ids"]])


@job_handler(DAILY_TIERS_JOB)
def daily_tiers(session: Session, _payload: dict[str, Any]) -> None:
    """Every program with tier rules: move the partners whose figures say so."""
    now = utc_now()
    for program_id in repository.programs_with_tier_rules(session):
        program = session.get(Program, program_id)
        if program is not None:
            moves = tiers.evaluate(session, program, now)
            if moves:
                log.info("program %s: %d tier moves", program_id, len(moves))


@job_handler(MONTHLY_REVIEWS_JOB)
def monthly_reviews(session: Session, _payload: dict[str, Any]) -> None:
    """Draft reviews of last month for every approved partner who has none yet (runs often; does each once)."""
    now = utc_now()
    month = review_month_due(now)
    for program_id in repository.program_ids_with_partners(session):
        program = session.get(Program, program_id)
        if program is not None:
            reviews.make_month(session, program, month, now)


@job_handler(campaigns.PAY_BONUSES_JOB)
def pay_campaign_bonuses(session: Session, payload: dict[str, Any]) -> None:
    """When a campaign ends: its bonus to each partner who reached the threshold (once each)."""
    paid = campaigns.pay_bonuses(session, str(payload["campaign_id"]), utc_now())
    log.info("campaign %s: %d bonuses paid", payload["campaign_id"], paid)
