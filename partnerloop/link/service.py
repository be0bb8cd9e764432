"""Links: create with a chosen or generated key, change destination, delete."""

from __future__ import annotations

import re
import secrets
import string
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from partnerloop.config import Settings
from partnerloop.db import insert_ignore, on_commit
from partnerloop.kit.errors import AppError, Conflict, InvalidInput, NotFound
from partnerloop.kit.ids import new_id
from partnerloop.kit.pagination import page_of, paginate
from partnerloop.kit.time import as_utc, utc_now
from partnerloop.kit.urls import check_destination
from partnerloop.link import repository
from partnerloop.link.changes import link_changed
from partnerloop.link.rules import UTM_FIELDS
from partnerloop.link.schemas import LinkIn, LinkOut, LinkPatch, Utm
from partnerloop.models import Link, Program
from partnerloop.partner import service as partner_service
from partnerloop.partner.rules import EnrollmentStatus


class LinkError(AppError):
    status_code = 422


class LinkNotFound(NotFound):
    pass


class LinkKeyTaken(Conflict):
    pass


class PartnerNotApproved(Conflict):
    pass


_KEY_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_KEY_ALPHABET = string.ascii_letters + string.digits
GENERATED_KEY_LENGTH = 7


def generate_key() -> str:
    return "".join(secrets.choice(_KEY_ALPHABET) for _ in range(GENERATED_KEY_LENGTH))


def utm_stored(utm: Utm | None) -> dict[str, Any] | None:
    """The API's {"source": …} as stored on the link ({"utm_source": …}); None when nothing is set."""
    if utm is None:
        return None
    stored = {f"utm_{field}": value for field, value in utm.model_dump().items() if value}
    return stored or None


def utm_out(stored: dict[str, Any] | None) -> Utm | None:
    if not stored:
        return None
    return Utm(**{field: stored.get(f"utm_{field}") for field in UTM_FIELDS})


def link_out(link: Link, clicks: int, settings: Settings, unique_clicks: int = 0) -> LinkOut:
    return LinkOut(
        id=link.id,
        key=link.key,
        short_url=f"{settings.base_url.rstrip('/')}/go/{link.key}",
        destination_url=link.destination_url,
        partner_id=link.partner_id,
        clicks=clicks,
        unique_clicks=unique_clicks,
        utm=utm_out(link.utm),
        expires_at=None if link.expires_at is None else as_utc(link.expires_at),
        fallback_url=link.fallback_url,
        created_at=link.created_at,
    )


def _expiry(expires_at: datetime | None) -> datetime | None:
    return None if expires_at is None else as_utc(expires_at)


def _fallback(url: str | None, program: Program) -> str | None:
    """A link's fallback URL: on the program's allowed domains, like its destination."""
    if not url:
        return None
    try:
        return check_destination(url, list(program.allowed_domains))
    except InvalidInput as error:
        raise LinkError(f"fallback_url: {error.message}") from None


def _invalidate_after_commit(session: Session, key: str) -> None:
    on_commit(session, lambda: link_changed(key))


def create_link(session: Session, program: Program, body: LinkIn) -> Link:
    _partner, enrollment = partner_service.get_partner(session, program, body.partner_id)
    if not EnrollmentStatus(enrollment.status).can_earn:
        raise PartnerNotApproved(f"Partner {body.partner_id} is {enrollment.status}: only approved partners get links.")
    destination = check_destination(body.destination_url, list(program.allowed_domains))
    fallback = _fallback(body.fallback_url, program)
    if body.key is not None and not _KEY_SHAPE.match(body.key):
        raise LinkError("key takes 1 to 64 letters, digits, '-' or '_', starting with a letter or digit.")
    attempts = 1 if body.key is not None else 5
    for _ in range(attempts):
        key = body.key or generate_key()
        link_id = new_id()
        inserted = insert_ignore(
            session,
            Link,
            {
                "id": link_id,
                "program_id": program.id,
                "partner_id": body.partner_id,
                "key": key,
                "destination_url": destination,
                "utm": utm_stored(body.utm),
                "expires_at": _expiry(body.expires_at),
                "fallback_url": fallback,
            },
            ["key"],
        )
        if inserted:
            _invalidate_after_commit(session, key)
            return session.execute(select(Link).where(Link.id == link_id)).scalar_one()
    raise LinkKeyTaken(f"The link key '{body.key}' is taken." if body.key else "Could not find a free key; retry.")


def get_link(session: Session, program: Program, link_id: str) -> Link:
    link = repository.get_live(session, program.id, link_id)
    if link is None:
        raise LinkNotFound(f"No link {link_id} in this program.")
    return link


def update_link(session: Session, program: Program, link_id: str, patch: LinkPatch) -> Link:
    link = get_link(session, program, link_id)
    changes = patch.model_dump(exclude_unset=True)
    if "destination_url" in changes:
        if patch.destination_url is None:
            raise LinkError("destination_url cannot be null.")
        link.destination_url = check_destination(patch.destination_url, list(program.allowed_domains))
    if "utm" in changes:
        link.utm = utm_stored(patch.utm)
    if "expires_at" in changes:
        link.expires_at = _expiry(patch.expires_at)
    if "fallback_url" in changes:
        link.fallback_url = _fallback(patch.fallback_url, program)
    link.updated_at = utc_now()
    session.flush()
    _invalidate_after_commit(session, link.key)
    return link


def delete_link(session: Session, program: Program, link_id: str) -> None:
    """The key stops resolving; the row stays so that its clicks keep their link."""
    link = get_link(session, program, link_id)
    link.deleted_at = link.updated_at = utc_now()
    session.flush()
    _invalidate_after_commit(session, link.key)


def list_links(
    session: Session, program: Program, *, partner_id: str | None, cursor: str | None, limit: int
) -> tuple[list[Link], str | None]:
    statement = select(Link).where(Link.program_id == program.id, Link.deleted_at.is_(None))
    if partner_id:
        statement = statement.where(Link.partner_id == partner_id)
    rows = list(session.execute(paginate(statement, Link.id, cursor, limit)).scalars())
    return page_of(rows, limit, lambda link: link.id)
