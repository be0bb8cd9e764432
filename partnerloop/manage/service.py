"""Use cases of the manager dashboard: bulk decisions, groups and plans of partners, notes, settings.

Decisions go through the domains' own services (partner status, application decisions, commission
status, plans, program settings); this module loops, collects per-item outcomes and validates forms.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from partnerloop.commission import figures as commission_figures
from partnerloop.commission import service as commission_service
from partnerloop.config import Settings
from partnerloop.conversion import figures as conversion_figures
from partnerloop.group import service as group_service
from partnerloop.group.schemas import GroupIn, GroupPatch
from partnerloop.kit import spreadsheet
from partnerloop.kit.errors import AppError, InvalidInput, NotFound
from partnerloop.kit.money import format_money, normalize_currency
from partnerloop.manage.rules import parse_amount, split_list
from partnerloop.models import ApiKey, Group, PartnerNote, Program
from partnerloop.partner import figures as partner_figures
from partnerloop.partner import service as partner_service
from partnerloop.partner.rules import BanCommissions
from partnerloop.partner.schemas import PartnerPatch
from partnerloop.program import service as program_service
from partnerloop.program.schemas import ProgramPatch

MAX_BULK = 500


class DashboardError(AppError):
    status_code = 422


class NothingSelected(DashboardError):
    pass


class CurrencyLocked(DashboardError):
    status_code = 409


@dataclass
class BulkOutcome:
    """What a bulk action did: how many succeeded, and a sentence per item that did not."""

    done: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self, verb: str, noun: str) -> str:
        text = f"{self.done} {noun}{'' if self.done == 1 else 's'} {verb}."
        if self.problems:
            text += f" {len(self.problems)} not: " + " ".join(self.problems[:5])
            if len(self.problems) > 5:
                text += f" (and {len(self.problems) - 5} more)"
        return text


def describe_validation(error: ValidationError) -> str:
    """Pydantic's errors as one sentence a manager can act on."""
    parts = []
    for item in error.errors()[:5]:
        location = ".".join(str(part) for part in item.get("loc", ()))
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts) + "."


def _checked_ids(ids: Iterable[str]) -> list[str]:
    unique = list(dict.fromkeys(item for item in ids if item))
    if not unique:
        raise NothingSelected("Select at least one row first.")
    if len(unique) > MAX_BULK:
        raise DashboardError(f"Select at most {MAX_BULK} rows at a time.")
    return unique


def _each(session: Session, ids: list[str], act: Any) -> BulkOutcome:
    """Run `act(id)` for each id in its own savepoint: one refusal leaves the others done."""
    outcome = BulkOutcome()
    for item in ids:
        try:
            with session.begin_nested():
                act(item)
            outcome.done += 1
        except AppError as error:
            outcome.problems.append(error.message)
    return outcome


# ------------------------------------------------------------------------------------- partners


def decide_applications(
    session: Session,
    settings: Settings,
    program: Program,
    partner_ids: Iterable[str],
    action: str,
    *,
    by: str,
    reason: str,
) -> BulkOutcome:
    """Approve or reject applicants (each one is told by email); a rejection may give a reason."""
    from partnerloop.partner_portal.service.application import decide

    if action not in ("approve", "reject"):
        raise DashboardError("Applications are approved or rejected.")
    ids = _checked_ids(partner_ids)
    return _each(
        session,
        ids,
        lambda partner_id: decide(session, settings, program, partner_id, action, decided_by=by, reason=reason or None),
    )


def change_partner_status(
    session: Session,
    program: Program,
    partner_ids: Iterable[str],
    action: str,
    *,
    reason: str = "",
    commissions: BanCommissions = BanCommissions.REJECT,
    actor: str,
) -> BulkOutcome:
    """ban | unban | deactivate | approve partners (each transition checked by the partner domain); a ban
    rejects or holds their unpaid commissions as `commissions` says, an unban leaves them as they are."""
    if action not in ("ban", "unban", "deactivate", "approve"):
        raise DashboardError(f"'{action}' is not something a partner can be made to do here.")
    ids = _checked_ids(partner_ids)

    def act(partner_id: str) -> None:
        if action == "ban":
            settle = commission_service.settle_for_ban
            _partner, enrollment = partner_service.ban_partner(
                session, program, partner_id, commissions, settle=settle, actor=actor
            )
        else:
            _partner, enrollment = partner_service.change_status(session, program, partner_id, action)
        if reason.strip():
            enrollment.status_reason = reason.strip()[:1000]

    return _each(session, ids, act)


def move_to_group(session: Session, program: Program, partner_ids: Iterable[str], group_id: str) -> BulkOutcome:
    """Put partners in a group of this program (or in none, with an empty group id)."""
    ids = _checked_ids(partner_ids)
    if group_id:
        group_service.get_group(session, program, group_id)  # NotFound for another program's group
    patch = PartnerPatch(group_id=group_id or None)
    return _each(session, ids, lambda partner_id: partner_service.update_partner(session, program, partner_id, patch))


def set_partner_plan(session: Session, program: Program, partner_id: str, plan_id: str) -> None:
    """The partner's own plan (beats the group's and the program's); empty: none of their own."""
    partner_service.update_partner(session, program, partner_id, PartnerPatch(plan_id=plan_id or None))


def add_note(session: Session, program: Program, partner_id: str, author_user_id: str, body: str) -> PartnerNote:
    if partner_figures.enrolled_partner(session, program.id, partner_id) is None:
        raise NotFound(f"No partner {partner_id} in this program.")
    text = body.strip()
    if not text:
        raise DashboardError("Write something in the note first.")
    if len(text) > 4000:
        raise DashboardError("A note holds at most 4000 characters.")
    note = PartnerNote(program_id=program.id, partner_id=partner_id, author_user_id=author_user_id, body=text)
    session.add(note)
    session.flush()
    return note


# ---------------------------------------------------------------------------------- commissions


def change_commissions(session: Session, program: Program, commission_ids: Iterable[str], action: str) -> BulkOutcome:
    """approve | hold | reject commissions; each transition is checked by the commission domain."""
    if action not in ("approve", "hold", "reject"):
        raise DashboardError("Commissions are approved, held or rejected.")
    ids = _checked_ids(commission_ids)
    return _each(
        session, ids, lambda commission_id: commission_service.change_status(session, program, commission_id, action)
    )


CSV_COLUMNS = [
    "id",
    "created_at",
    "occurred_at",
    "partner_id",
    "partner_name",
    "partner_email",
    "kind",
    "status",
    "amount",
    "currency",
    "earnings_amount",
    "earnings_currency",
    "earnings",
    "hold_until",
    "explanation",
]


def commissions_csv(rows: Iterable[Any]) -> Iterator[str]:
    """The CSV export, header first, one commission per line (amounts in minor units and formatted)."""
    buffer = io.StringIO()
    writer = spreadsheet.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    for commission, partner_name, partner_email in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(
            [
                commission.id,
                commission.created_at.isoformat(),
                commission.occurred_at.isoformat() if commission.occurred_at else "",
                commission.partner_id,
                partner_name,
                partner_email,
                commission.kind,
                commission.status,
                commission.amount,
                commission.currency,
                commission.earnings_amount,
                commission.earnings_currency,
                format_money(commission.earnings_amount, commission.earnings_currency),
                commission.hold_until.isoformat(),
                commission.explanation,
            ]
        )
        yield buffer.getvalue()


# ------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class ProgramForm:
    name: str
    currency: str
    allowed_domains: str
    link_params: str
    cookie_days: str
    hold_days: str
    min_payout: str
    attribution_model: str
    default_plan_id: str
    fallback_url: str


def program_form(program: Program) -> ProgramForm:
    from partnerloop.manage.rules import amount_text

    return ProgramForm(
        name=program.name,
        currency=program.currency,
        allowed_domains=", ".join(program.allowed_domains),
        link_params=", ".join(program.link_params),
        cookie_days=str(program.cookie_days),
        hold_days=str(program.hold_days),
        min_payout=amount_text(program.min_payout_amount, program.currency),
        attribution_model=program.attribution_model,
        default_plan_id=program.default_plan_id or "",
        fallback_url=program.fallback_url or "",
    )


def _whole_number(text: str, what: str) -> int:
    if not text.strip().isdigit():
        raise InvalidInput(f"{what} is a whole number of days.")
    return int(text.strip())


def save_program_settings(session: Session, program: Program, form: ProgramForm) -> Program:
    """Check every value, then apply them together through the program's service."""
    currency = normalize_currency(form.currency) if form.currency.strip() else program.currency
    if currency != program.currency and _has_money(session, program.id):
        raise CurrencyLocked(
            "The currency cannot change once the program has sales or commissions: amounts already recorded are in "
            f"{program.currency.upper()}."
        )
    try:
        min_payout = parse_amount(form.min_payout or "0", currency)
    except ValueError as error:
        raise InvalidInput(f"Minimum payout: {error}") from None
    try:
        patch = ProgramPatch(
            name=form.name.strip(),
            allowed_domains=split_list(form.allowed_domains),
            link_params=split_list(form.link_params),
            cookie_days=_whole_number(form.cookie_days, "The cookie window"),
            hold_days=_whole_number(form.hold_days, "The hold period"),
            min_payout_amount=min_payout,
            attribution_model=form.attribution_model,
            default_plan_id=form.default_plan_id or None,
            fallback_url=form.fallback_url.strip() or None,
        )
    except ValidationError as error:
        raise InvalidInput(describe_validation(error)) from None
    program.currency = currency
    return program_service.update_program(session, program, patch)


def _has_money(session: Session, program_id: str) -> bool:
    return conversion_figures.has_events(session, program_id) or commission_figures.has_commissions(session, program_id)


def create_api_key(session: Session, program: Program, name: str) -> str:
    """A new secret key; returned once, only its hash is kept."""
    label = name.strip()
    if not label:
        raise DashboardError("Give the key a name (e.g. 'Backend' or 'Zapier').")
    if len(label) > 200:
        raise DashboardError("A key's name holds at most 200 characters.")
    secret = program_service.issue_api_key(session, program, label)
    session.flush()
    return secret


def revoke_api_key(session: Session, program: Program, key_id: str) -> ApiKey:
    return program_service.revoke_api_key(session, program, key_id)


# --------------------------------------------------------------------------------------- groups


def save_group(session: Session, program: Program, *, group_id: str, name: str, plan_id: str) -> Group:
    """Create (empty `group_id`) or rename a group and choose its plan, through the group domain."""
    if not name.strip():
        raise DashboardError("Give the group a name.")
    try:
        if group_id:
            return group_service.update_group(
                session, program, group_id, GroupPatch(name=name, plan_id=plan_id or None)
            )
        return group_service.create_group(session, program, GroupIn(name=name, plan_id=plan_id or None))
    except ValidationError as error:
        raise InvalidInput(describe_validation(error)) from None
