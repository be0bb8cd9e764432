"""Tiers: a group's rank, promotion and demotion rules and perks; moving partners by those rules.

A move changes the partner's group through partner/service (the owner of enrollments), so sales from
then on are priced under the new group's plan; earlier commissions keep their amounts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from partnerloop.engagement import repository
from partnerloop.engagement.rules import (
    RETENTION,
    RETENTION_MONTHS,
    Tier,
    TierDecision,
    TierFacts,
    TierProgress,
    TierRule,
    decide_moves,
    ladder_problems,
    period_window,
    previous_window,
    retention_percent,
    rule_problems,
    tier_progress,
)
from partnerloop.engagement.schemas import TierMoveOut
from partnerloop.jobs.queue import enqueue
from partnerloop.kit.errors import InvalidInput
from partnerloop.kit.ids import new_id
from partnerloop.models import Group, GroupTier, Plan, Program, TierMove
from partnerloop.notify.email import enqueue_email
from partnerloop.partner import service as partner_service
from partnerloop.partner.schemas import PartnerPatch
from partnerloop.plan.terms import plan_in_words
from partnerloop.webhook.service import emit, listens

EVALUATE_TIERS_JOB = "engagement.evaluate_tiers"
TIER_CHANGED = "partner.tier_changed"
KNOWN_PERKS = ("early_access",)
TIER_FIELDS = ("rank", "promotion", "demotion", "perks")


class InvalidTierRules(InvalidInput):
    pass


def _rule(raw: Mapping[str, Any] | None) -> TierRule | None:
    if raw is None:
        return None
    months = int(raw.get("months") or RETENTION_MONTHS)
    return TierRule(str(raw["metric"]), str(raw["period"]), int(raw["threshold"]), str(raw["to_group_id"]), months)


def load_tiers(session: Session, program_id: str) -> dict[str, Tier]:
    """Every group of the program as a tier (groups without a tier row have no rank and no rules)."""
    return {
        group.id: Tier(
            group.id,
            group.name,
            tier.rank if tier else None,
            _rule(tier.promotion) if tier else None,
            _rule(tier.demotion) if tier else None,
        )
        for group, tier in repository.groups(session, program_id)
    }


def configure(session: Session, program: Program, group_id: str, group_name: str, fields: Mapping[str, Any]) -> None:
    """Set a group's rank / promotion / demotion / perks (only the keys present in `fields`); every rule of
    the program is checked together first, and a problem is a 422 naming the field (nothing is saved)."""
    changes = {key: fields[key] for key in TIER_FIELDS if key in fields}
    if not changes:
        return
    tiers = load_tiers(session, program.id)
    current = repository.tier_of(session, group_id)
    merged: dict[str, Any] = {
        "rank": current.rank if current else None,
        "promotion": current.promotion if current else None,
        "demotion": current.demotion if current else None,
        "perks": list(current.perks) if current else [],
    }
    merged.update(changes)
    problems: list[tuple[str, str]] = []
    for direction in ("promotion", "demotion"):
        problems += rule_problems(direction, merged[direction], tiers.keys() | {group_id})
    unknown = [perk for perk in merged["perks"] or [] if perk not in KNOWN_PERKS]
    if unknown:
        problems.append(("perks", f"Unknown perks {unknown}; known: {', '.join(KNOWN_PERKS)}."))
    if not problems:
        tiers[group_id] = Tier(
            group_id, group_name, merged["rank"], _rule(merged["promotion"]), _rule(merged["demotion"])
        )
        problems += ladder_problems(list(tiers.values()))
    if problems:
        raise InvalidTierRules(" ".join(f"{field}: {sentence}" for field, sentence in problems))
    repository.save_tier(
        session,
        GroupTier(
            group_id=group_id,
            program_id=program.id,
            rank=merged["rank"],
            promotion=merged["promotion"],
            demotion=merged["demotion"],
            perks=list(merged["perks"] or []),
        ),
    )


def tier_fields(session: Session, group_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """group id -> {"rank", "promotion", "demotion", "perks"} as the groups API shows them."""
    answer: dict[str, dict[str, Any]] = {}
    for group_id in group_ids:
        tier = repository.tier_of(session, group_id)
        answer[group_id] = {
            "rank": tier.rank if tier else None,
            "promotion": tier.promotion if tier else None,
            "demotion": tier.demotion if tier else None,
            "perks": list(tier.perks) if tier else [],
        }
    return answer


# ------------------------------------------------------------------------------------ evaluating


def _needed(tiers: Mapping[str, Tier]) -> set[TierRule]:
    """One rule per figure the program's tier rules read (its key and period; the thresholds do not matter)."""
    needed: dict[tuple[str, str], TierRule] = {}
    for tier in tiers.values():
        for rule in (tier.promotion, tier.demotion):
            if rule is not None:
                needed.setdefault((rule.key, rule.period), rule)
    return set(needed.values())


def _values(
    session: Session, program_id: str, tiers: Mapping[str, Tier], now: datetime, partner_ids: Sequence[str] | None
) -> dict[str, dict[tuple[str, str, str], int]]:
    """partner -> {(figure key, current|previous, period): value}, one set-based query per figure and window.
    Retention is read as of the window's end (as of now for the period under way)."""
    values: dict[str, dict[tuple[str, str, str], int]] = {}
    for rule in _needed(tiers):
        for which, (start, end) in (
            ("current", period_window(now, rule.period)),
            ("previous", previous_window(now, rule.period)),
        ):
            if rule.metric == RETENTION:
                as_of = min(end, now)
                spans = repository.customer_payment_spans(session, program_id, as_of, partner_ids)
                found = {pid: retention_percent(rows, rule.months, as_of) for pid, rows in spans.items()}
                figures = {pid: value for pid, value in found.items() if value is not None}
            else:
                figures = repository.metric_by_partner(session, program_id, rule.metric, start, end, partner_ids)
            for partner_id, value in figures.items():
                values.setdefault(partner_id, {})[(rule.key, which, rule.period)] = value
    return values


def evaluate(
    session: Session, program: Program, now: datetime, partner_ids: Sequence[str] | None = None
) -> list[TierDecision]:
    """Move every approved partner in a tier (or only `partner_ids`) whose figures say so; record each move
    with its reason and tell the partner by email. Returns the moves made."""
    tiers = load_tiers(session, program.id)
    ruled = [group_id for group_id, tier in tiers.items() if tier.promotion or tier.demotion]
    if not ruled:
        return []
    repository.lock_tier_check(session, program.id)  # before reading anyone's tier
    enrolled = repository.tiered_enrollments(session, program.id, ruled, partner_ids)
    values = _values(session, program.id, tiers, now, partner_ids)
    decisions: list[TierDecision] = []
    for partner_id, group_id, since in enrolled:
        facts = TierFacts(partner_id, group_id, since, values.get(partner_id, {}))
        decisions += decide_moves(tiers, facts, now, program.currency)
    _apply(session, program, tiers, decisions, now)
    return decisions


def _apply(
    session: Session, program: Program, tiers: Mapping[str, Tier], decisions: list[TierDecision], now: datetime
) -> None:
    final: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    for step, decision in enumerate(decisions):
        final[decision.partner_id] = decision.to_group_id
        rows.append({
            "id": new_id(), "program_id": program.id, "partner_id": decision.partner_id,
            "from_group_id": decision.from_group_id, "to_group_id": decision.to_group_id,
            "direction": decision.direction, "metric": decision.metric, "period": decision.period,
            "period_key": decision.period_key, "value": decision.value, "threshold": decision.threshold,
            "reason": decision.reason, "created_at": now + timedelta(microseconds=step),  # keeps a climb of several tiers in order
        })  # fmt: skip
    repository.add_moves(session, rows)
    _announce_moves(session, program, tiers, rows)
    for partner_id, group_id in final.items():
        partner, _enrollment = partner_service.update_partner(
            session, program, partner_id, PartnerPatch(group_id=group_id)
        )
        reasons = [decision.reason for decision in decisions if decision.partner_id == partner_id]
        name = tiers[group_id].name
        promoted = any(
            d.direction == "promotion" for d in decisions if d.partner_id == partner_id and d.to_group_id == group_id
        )
        subject = f"You reached {name}" if promoted else f"Your tier is now {name}"
        terms = "\n".join(plan_lines(session, program, group_id))
        text = (
            f"Hello {partner.name},\n\n"
            + "\n".join(reasons)
            + "\n\n"
            + (f"From now on as {name}: {terms}\n" if terms else "")
            + "Sales from now on earn under this tier's plan; commissions you already earned keep their amounts.\n"
        )
        enqueue_email(session, to=partner.email, subject=f"{subject} · {program.name}", text=text)


def _announce_moves(session: Session, program: Program, tiers: Mapping[str, Tier], rows: list[dict[str, Any]]) -> None:
    """Each move (a climb of several tiers is several) goes to webhooks as `partner.tier_changed`."""
    if not rows or not listens(session, program.id, TIER_CHANGED):
        return
    for row in rows:
        source = tiers.get(row["from_group_id"]) if row["from_group_id"] else None
        move = TierMoveOut(
            **{key: row[key] for key in TierMoveOut.model_fields if key in row},
            from_tier=source.name if source else None,
            to_tier=tiers[row["to_group_id"]].name,
        )
        emit(session, program.id, TIER_CHANGED, move.model_dump(mode="json"))


def plan_lines(session: Session, program: Program, group_id: str | None) -> list[str]:
    """The tier's plan in words ("You earn 30% of each payment …"); [] when the group has no plan of its own."""
    group = session.get(Group, group_id) if group_id else None
    plan = session.get(Plan, group.plan_id) if group is not None and group.plan_id else None
    if plan is None or plan.program_id != program.id:
        return []
    return plan_in_words(plan.rules, program.currency, bonuses=plan.bonuses or [])


def evaluate_soon(session: Session, program_id: str, partner_ids: Sequence[str]) -> None:
    """After a sale or refund: queue a tier check of these partners (in the caller's transaction), when the
    program has tier rules at all."""
    wanted = sorted({partner_id for partner_id in partner_ids if partner_id})
    if wanted and repository.has_tier_rules(session, program_id):
        enqueue(session, EVALUATE_TIERS_JOB, {"program_id": program_id, "partner_ids": wanted}, program_id=program_id)


# --------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class PartnerTier:
    tier_name: str | None
    rank: int | None
    progress: TierProgress | None
    moves: list[TierMove]
    perks: list[str]
    plan_lines: list[str]


def partner_tier(
    session: Session, program: Program, partner_id: str, group_id: str | None, now: datetime
) -> PartnerTier:
    """The partner's tier, the next one and the progress towards it this period, and their moves."""
    tiers = load_tiers(session, program.id)
    moves = repository.moves_of(session, program.id, partner_id)
    if group_id is None or group_id not in tiers:
        return PartnerTier(None, None, None, moves, [], [])
    values = _values(session, program.id, {group_id: tiers[group_id]}, now, [partner_id]).get(partner_id, {})
    tier_row = repository.tier_of(session, group_id)
    perks = list(tier_row.perks) if tier_row else []
    progress = tier_progress(tiers, group_id, values)
    lines = plan_lines(session, program, group_id)
    return PartnerTier(tiers[group_id].name, tiers[group_id].rank, progress, moves, perks, lines)


def perks_of(session: Session, program_id: str, group_id: str | None) -> dict[str, Any] | None:
    """What GET /api/v1/partners/{id} says under "perks": the tier's rank, perks and the early access flag;
    None for a partner outside any tier (so their answer is the same as before tiers existed)."""
    tier = repository.tier_of(session, group_id) if group_id else None
    if tier is None or tier.program_id != program_id:
        return None
    perks = list(tier.perks)
    return {"tier_rank": tier.rank, "perks": perks, "early_access": "early_access" in perks}
