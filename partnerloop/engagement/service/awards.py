"""Recognition: awards given to partners, shown in their portal and (public ones of partners who opted in)
on the program's public partners page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from partnerloop.engagement import repository
from partnerloop.engagement.schemas import AwardIn, AwardOut
from partnerloop.kit.errors import InvalidInput
from partnerloop.models import Award, Program
from partnerloop.notify.email import enqueue_email


class AwardPartnerUnknown(InvalidInput):
    pass


def award_out(award: Award) -> AwardOut:
    return AwardOut(
        id=award.id, partner_id=award.partner_id, name=award.name, note=award.note, public=award.public,
        created_at=award.created_at,
    )  # fmt: skip


def give_award(session: Session, program: Program, body: AwardIn) -> Award:
    """Record the award and tell the partner by email; an unknown partner is a 422 naming partner_id."""
    found = repository.enrollment(session, program.id, body.partner_id)
    if found is None:
        raise AwardPartnerUnknown(f"partner_id: no partner {body.partner_id} in this program.")
    partner, _enrollment = found
    award = Award(program_id=program.id, partner_id=partner.id, name=body.name, note=body.note, public=body.public)
    repository.add_award(session, award)
    text = f"Hello {partner.name},\n\nYou received an award from {program.name}: {body.name}.\n"
    if body.note:
        text += f"\n{body.note}\n"
    enqueue_email(session, to=partner.email, subject=f"{body.name} · {program.name}", text=text)
    return award


def awards_of(session: Session, program: Program, partner_id: str | None) -> list[Award]:
    return repository.awards(session, program.id, partner_id)


@dataclass(frozen=True)
class PublicPartner:
    name: str
    website: str | None
    awards: list[Award]


def public_page(session: Session, program: Program) -> list[PublicPartner]:
    """Partners who opted in, with their public awards."""
    public_awards = repository.awards(session, program.id, public_only=True)
    by_partner: dict[str, list[Award]] = {}
    for award in public_awards:
        by_partner.setdefault(award.partner_id, []).append(award)
    return [
        PublicPartner(name, website, by_partner.get(partner_id, []))
        for partner_id, name, website in repository.public_partners(session, program.id)
    ]
