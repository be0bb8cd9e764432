"""Site tracking: the JS snippet's `POST /api/v1/track/click` resolved to a link target.

A `ref` is a link key of the program or a partner's referral code. A referral code maps to the
partner's oldest live link; a partner without one gets a "site" link created on demand, pointing at
the landing page's origin. The click itself then goes through the click buffer like a redirect's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, func, select

from partnerloop.db import transaction
from partnerloop.kit.errors import AppError, Forbidden, InvalidInput, NotFound, Unauthorized
from partnerloop.kit.urls import check_destination
from partnerloop.link import service as link_service
from partnerloop.link.schemas import LinkIn
from partnerloop.models import Enrollment, Link, Program
from partnerloop.program import service as program_service
from partnerloop.tracking import repository as tracking_repository
from partnerloop.tracking.cache import LinkTarget, target_for
from partnerloop.tracking.rules import clean_ref, origin_allowed, site_link_destination

log = logging.getLogger("partnerloop.tracking")


class SiteTrackingError(AppError):
    status_code = 400


class MalformedClick(SiteTrackingError):
    pass


class InvalidClick(InvalidInput):
    pass


class InvalidPublishableKey(Unauthorized):
    pass


class ForeignOrigin(Forbidden):
    pass


class UnknownReferral(NotFound):
    pass


class LandingUrlNotAllowed(InvalidInput):
    pass


class SiteClickIn(BaseModel):
    model_config = ConfigDict(extra="ignore")  # newer snippets may send more

    key: str = Field(default="", max_length=100)
    ref: str = Field(max_length=200)
    url: str = Field(max_length=2000)
    referrer: str | None = Field(default=None, max_length=2000)


@dataclass(frozen=True)
class SiteClick:
    """What the endpoint needs to accept the click: the link target and the program's cookie facts."""

    target: LinkTarget
    cookie_days: int
    link_params: list[str]


def program_for_origin(engine: Engine, publishable_key: str, origin: str | None) -> Program:
    """The program of a publishable key, when `origin` is on its allowed domains (401 / 403 otherwise)."""
    if not publishable_key:
        raise InvalidPublishableKey("Send the program's publishable key (data-key on the script tag).")
    with transaction(engine, writes=False) as session:
        program = program_service.program_by_publishable_key(session, publishable_key)
    if program is None:
        raise InvalidPublishableKey("The publishable key is not valid.")
    if not origin_allowed(origin, list(program.allowed_domains)):
        raise ForeignOrigin(f"Origin {origin or '(none)'} is not on the program's allowed domains.")
    return program


def _link_key_for(engine: Engine, program: Program, ref: str, landing_url: str) -> str:
    with transaction(engine, writes=False) as session:
        by_key = session.execute(
            select(Link.key).where(Link.program_id == program.id, Link.key == ref, Link.deleted_at.is_(None))
        ).scalar_one_or_none()
        if by_key is not None:
            return by_key
        partner_id = session.execute(
            select(Enrollment.partner_id).where(
                Enrollment.program_id == program.id, func.lower(Enrollment.referral_code) == ref.lower()
            )
        ).scalar_one_or_none()
        if partner_id is None:
            raise UnknownReferral(f"'{ref}' is neither a link nor a referral code of this program.")
        first_link = session.execute(
            select(Link.key)
            .where(Link.program_id == program.id, Link.partner_id == partner_id, Link.deleted_at.is_(None))
            .order_by(Link.created_at, Link.id)
            .limit(1)
        ).scalar_one_or_none()
    if first_link is not None:
        return first_link
    with transaction(engine) as session:
        program_now = session.get(Program, program.id)
        assert program_now is not None
        body = LinkIn(partner_id=partner_id, destination_url=site_link_destination(landing_url))
        link = link_service.create_link(session, program_now, body)
        log.info("site tracking: created site link %s for partner %s", link.key, partner_id)
        return link.key


def resolve_site_click(engine: Engine, body: SiteClickIn, origin: str | None) -> SiteClick:
    """Check the key, origin, landing URL and ref; return the target the click is recorded on."""
    program = program_for_origin(engine, body.key, origin)
    allowed = list(program.allowed_domains)
    try:
        check_destination(body.url, allowed)
    except InvalidInput as error:
        raise LandingUrlNotAllowed(
            f"The landing url is not on the program's allowed domains: {error.message}"
        ) from None
    ref = clean_ref(body.ref)
    if ref is None:
        raise UnknownReferral("ref must be a referral code or link key (letters, digits, '-', '_').")
    key = _link_key_for(engine, program, ref, body.url)
    with transaction(engine, writes=False) as session:
        row = tracking_repository.link_by_key(session.connection(), key)
    target = None if row is None else target_for(row)
    if target is None:
        raise UnknownReferral(f"The link of '{ref}' does not redirect any more.")
    return SiteClick(target=target, cookie_days=program.cookie_days, link_params=list(program.link_params))
